"""The exact DynamoDB requests the repositories make, written out as attribute-value literals.

Items written by one version are read by the next, with no migration: every attribute name, type
(S, N, B, L) and format stays byte-identical. Each test stubs the client (botocore's Stubber, which
also checks the request against the service model), so an equal request proves nothing changed;
the reads decode items in the form older versions wrote them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from asusual.access.models import ApiKey, Channel, KeyScope, Source
from asusual.campaigns.models import (
    Campaign,
    CampaignStatus,
    Counters,
    Exposure,
    Plan,
    SendAt,
)
from asusual.campaigns.report import Conversions, GroupConversions, ProgramCounts
from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.delivery.holdouts import Group, TriggerExposure
from asusual.delivery.records import (
    CapsLedger,
    DayWrites,
    Deferred,
    DispatchReadRequest,
    MessageRecord,
    MessageStatus,
    ReserveOutcome,
)
from asusual.identity.models import Identifier
from asusual.offers.models import DayOffer, DayPrice
from asusual.privacy.models import ErasureRecord, ErasureStatus, HeldItem, SuppressionKeys
from asusual.profiles.birthday import BirthdayEntry
from asusual.profiles.derived import MemberKey, MemberRecord, SegmentWrites, shard_of
from asusual.profiles.model import MergeRecord, Profile
from asusual.profiles.processor import ProfileChange
from asusual.profiles.state import ProfileState, Stamped
from asusual.segments.models import Backfill, Segment, SegmentStatus
from asusual.store.access import DynamoAccessRepository
from asusual.store.campaigns import (
    DynamoCampaignRepository,
    campaign_from_item,
    program_counter_key,
)
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.conversions import DynamoConversionRepository
from asusual.store.messages import DynamoMessageRepository
from asusual.store.privacy import DynamoPrivacyRepository, _held
from asusual.store.profile_dictionary import DICTIONARIES, PROFILE_V1
from asusual.store.profiles import (
    DynamoProfileRepository,
    UndecodableProfile,
    profile_data,
    profile_from_item,
)
from asusual.store.segments import DynamoSegmentRepository
from asusual.store.triggers import DynamoTriggerRepository
from asusual.triggers.models import CampaignContent, OrderStatus, Topic, WelcomeFacts
from asusual.triggers.orders import OrderRecord
from asusual.triggers.ports import OrderConversion
from asusual.triggers.reminders import Reminder, ReminderStatus
from asusual.triggers.replenishment import IntervalStats

TABLE = "asusual-test"
AT = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)
AT_STAMP = "2026-11-23T09:00:00.123456+00:00"  # utc_stamp(AT)


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client(
        "dynamodb", region_name="eu-central-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def S(value: str) -> dict[str, Any]:
    return {"S": value}


def N(value: str) -> dict[str, Any]:
    return {"N": value}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": S(pk), "sk": S(sk)}


def profile(profile_id: str = "p1", version: int = 3) -> Profile:
    return Profile(
        profile_id=profile_id,
        version=version,
        created_at=AT,
        parts={profile_id: ProfileState(identifiers=frozenset({Identifier(kind="email", value="a@b.c")}))},
    )


def compressed(p: Profile) -> bytes:
    """A profile's data as written before the profile dictionary: zlib without one."""
    return zlib.compress(p.model_dump_json().encode(), 6)


def profile_item(p: Profile) -> dict[str, Any]:
    return {
        **key(f"PROFILE#{p.profile_id}", "PROFILE"),
        "entity": S("profile"),
        "version": N(str(p.version)),
        "data": {"B": with_dictionary(p)},
    }


def with_dictionary(p: Profile) -> bytes:
    """A profile's data as written now: zlib against the first profile dictionary."""
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY, PROFILE_V1)
    return packer.compress(p.model_dump_json().encode()) + packer.flush()


def priced(product_id: str = "sku1") -> PricedProduct:
    return PricedProduct(product_id=product_id, name="Tea", price=Decimal("4.50"), currency="EUR")


def message_record(status: MessageStatus = MessageStatus.SENDING) -> MessageRecord:
    return MessageRecord.model_validate(
        {
            "message_id": "m1",
            "profile_id": "p1",
            "intent_id": "i1",
            "send_once_key": "welcome#p1",
            "trigger": "welcome",
            "topic": "marketing",
            "channel": "email",
            "to": "a@b.c",
            "subject": "Hi",
            "body": "Hello",
            "status": status,
            "created_at": AT,
            "explanation": {
                "message_id": "m1",
                "profile_id": "p1",
                "why": "you subscribed",
                "trigger": "welcome",
                "topic": "marketing",
                "facts": {},
                "channel": "email",
                "channel_reason": "preferred_channel",
                "channels_considered": {},
                "consent": None,
                "caps": {},
                "quiet_hours": {},
                "template": "welcome",
                "variant": "a",
                "locale": "en",
                "context": {},
                "sent_at": AT,
                "local_sent_at": AT,
            },
        }
    )


def deferred() -> Deferred:
    return Deferred.model_validate(
        {
            "intent": {
                "intent_id": "i1",
                "profile_id": "p1",
                "topic": Topic.MARKETING,
                "send_once_key": "welcome#p1",
                "facts": WelcomeFacts(channels=("email",), subscribed_at=AT, source_id="web"),
                "created_at": AT,
            },
            "release_at": datetime(2026, 11, 23, 20, 30, tzinfo=UTC),
            "reason": "quiet_hours",
            "deferred_at": AT,
        }
    )


def product(product_id: str = "sku1", *, promoted: bool = False) -> CatalogProduct:
    return CatalogProduct(
        product_id=product_id,
        name="Tea",
        price=Decimal("4.50"),
        currency="EUR",
        promoted=promoted,
        updated_at=AT,
    )


# -- profiles, claims, markers, merges, consents, birthday entries ------------------------------
def test_mark_seen_puts_the_marker_with_its_ttl_in_epoch_seconds(stub: Stubber) -> None:
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("MSG#e1", "MSG"),
                "entity": S("message_marker"),
                "expires_at": N("1766480400"),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )

    assert DynamoProfileRepository(stub.client, TABLE).mark_seen("e1", datetime(2025, 12, 23, 9, tzinfo=UTC))


def test_seen_reads_the_marker_key_consistently(stub: Stubber) -> None:
    stub.add_response(
        "get_item",
        {"Item": key("MSG#e1", "MSG")},
        {
            "TableName": TABLE,
            "Key": key("MSG#e1", "MSG"),
            "ConsistentRead": True,
            "ProjectionExpression": "pk",
        },
    )

    assert DynamoProfileRepository(stub.client, TABLE).seen("e1") is True


def test_commit_of_a_new_profile_alone_is_one_put_with_compressed_binary_data(stub: Stubber) -> None:
    p = profile(version=1)
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": profile_item(p),
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )

    DynamoProfileRepository(stub.client, TABLE).commit(ProfileChange(profile=p, expected_version=None))


def test_commit_of_a_merge_writes_every_item_of_the_transaction_as_before(stub: Stubber) -> None:
    survivor, absorbed = profile("p1", version=4), profile("p2", version=8)
    merge = MergeRecord(
        absorbed_id="p2",
        at=AT,
        message_id="e1",
        event_time=AT,
        identifiers=(Identifier(kind="email", value="a@b.c"),),
    )
    consent = Stamped(
        value={"subscribed": True, "source_id": "web", "consent_version": "v2"}, at=AT, msg="e1"
    )
    entry = BirthdayEntry(birthday=date(1990, 2, 28), zones=("Europe/Berlin",))
    record = {
        "at": AT.isoformat(),
        "channel": "email",
        "consent_version": "v2",
        "message_id": "e1",
        "source_id": "web",
        "subscribed": True,
        "topic": "marketing",
    }
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": profile_item(survivor),
                        "ConditionExpression": "version = :expected",
                        "ExpressionAttributeValues": {":expected": N("3")},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": profile_item(absorbed),
                        "ConditionExpression": "version = :expected",
                        "ExpressionAttributeValues": {":expected": N("7")},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("ID#phone#+491701234567", "ID"),
                            "entity": S("identifier"),
                            "profile_id": S("p1"),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("PROFILE#p1", f"MERGE#{AT.isoformat()}#p2"),
                            "entity": S("merge"),
                            "data": S(merge.model_dump_json()),
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("PROFILE#p1", "BIRTHDAY"),
                        "UpdateExpression": "SET entity = :e, gsi1pk = :p, gsi1sk = :s, #d = :d",
                        "ExpressionAttributeNames": {"#d": "data"},
                        "ExpressionAttributeValues": {
                            ":e": S("birthday"),
                            ":p": S("BIRTHDAY#02-28"),
                            ":s": S("PROFILE#p1"),
                            ":d": S(entry.model_dump_json()),
                        },
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": key("PROFILE#p2", "BIRTHDAY")}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("PROFILE#p1", f"CONSENT#{AT.isoformat()}#email.marketing#e1"),
                            "entity": S("consent"),
                            "data": S(json.dumps(record, sort_keys=True)),
                        },
                    }
                },
            ]
        },
    )

    DynamoProfileRepository(stub.client, TABLE).commit(
        ProfileChange(
            profile=survivor,
            expected_version=3,
            replaced=[(absorbed, 7)],
            claims=[Identifier(kind="phone", value="+491701234567")],
            merges=[merge],
            birthdays={"p1": entry, "p2": None},
            consents={"email.marketing": consent},
        )
    )


def test_commit_of_a_double_opt_in_writes_the_pending_and_the_confirmed_consent_records(
    stub: Stubber,
) -> None:
    p = profile(version=2)
    confirms = {"at": "2026-11-23T09:00:00.123456Z", "message_id": "e1", "source_id": "browser"}
    asserted = Stamped(
        value={"subscribed": True, "source_id": "browser", "consent_version": None, "pending": True,
               "address": "+491701234567"},
        at=AT, msg="e1",
    )  # fmt: skip
    confirmed = Stamped(
        value={"subscribed": True, "source_id": "consent_confirmation", "consent_version": None,
               "confirmed_at": "2026-11-23T09:10:00+00:00", "confirms": confirms},
        at=AT + timedelta(microseconds=1), msg="c1", customer=True,
    )  # fmt: skip
    common = {"consent_version": None, "subscribed": True, "topic": "marketing"}
    pending = {**common, "at": AT.isoformat(), "channel": "sms", "message_id": "e1", "source_id": "browser",
               "pending": True}  # fmt: skip
    granted = {**common, "at": "2026-11-23T09:00:00.123457+00:00", "channel": "email", "message_id": "c1",
               "source_id": "consent_confirmation", "confirmed_at": "2026-11-23T09:10:00+00:00",
               "confirms": confirms}  # fmt: skip
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": profile_item(p),
                        "ConditionExpression": "version = :expected",
                        "ExpressionAttributeValues": {":expected": N("1")},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("PROFILE#p1", f"CONSENT#{AT.isoformat()}#sms.marketing#e1"),
                            "entity": S("consent"),
                            "data": S(json.dumps(pending, sort_keys=True)),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key(
                                "PROFILE#p1", "CONSENT#2026-11-23T09:00:00.123457+00:00#email.marketing#c1"
                            ),
                            "entity": S("consent"),
                            "data": S(json.dumps(granted, sort_keys=True)),
                        },
                    }
                },
            ]
        },
    )

    DynamoProfileRepository(stub.client, TABLE).commit(
        ProfileChange(
            profile=p, expected_version=1, consents={"sms.marketing": asserted, "email.marketing": confirmed}
        )
    )


def test_owners_reads_the_claims_and_names_their_profiles(stub: Stubber) -> None:
    email = Identifier(kind="email", value="a@b.c")
    stub.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [{"pk": S("ID#email#a@b.c"), "profile_id": S("p1")}]}},
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [key("ID#email#a@b.c", "ID")],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, profile_id",
                }
            }
        },
    )

    assert DynamoProfileRepository(stub.client, TABLE).owners([email]) == {email: "p1"}


def test_load_reads_profiles_compressed_with_or_without_the_dictionary_and_older_plain_strings(
    stub: Stubber,
) -> None:
    now, before, old = profile("p1"), profile("p2"), profile("p3")
    stub.add_response(
        "batch_get_item",
        {
            "Responses": {
                TABLE: [
                    {"pk": S("PROFILE#p1"), "data": {"B": profile_data(now)}},
                    {"pk": S("PROFILE#p2"), "data": {"B": compressed(before)}},
                    {"pk": S("PROFILE#p3"), "data": S(old.model_dump_json())},
                ]
            }
        },
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [key(f"PROFILE#{p}", "PROFILE") for p in ("p1", "p2", "p3")],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, #d",
                    "ExpressionAttributeNames": {"#d": "data"},
                }
            }
        },
    )

    loaded = DynamoProfileRepository(stub.client, TABLE).load({"p1", "p2", "p3"})
    assert loaded == {"p1": now, "p2": before, "p3": old}


def test_profile_data_names_the_first_profile_dictionary_which_never_changes() -> None:
    data = profile_data(profile())
    assert data[1] & 0x20 and int.from_bytes(data[2:6], "big") == 3659049368  # FDICT, its Adler-32
    assert zlib.adler32(PROFILE_V1) == 3659049368 and len(PROFILE_V1) == 5023
    assert set(DICTIONARIES) == {3659049368}


def test_profile_data_compressed_with_a_dictionary_this_version_lacks_is_undecodable() -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY, b'{"other":1}')
    foreign = packer.compress(profile().model_dump_json().encode()) + packer.flush()
    with pytest.raises(UndecodableProfile):
        profile_from_item({"data": {"B": foreign}})
    assert profile_from_item({"data": {"B": profile_data(profile())}}) == profile()


def test_suppressed_asks_for_the_hash_of_every_key(stub: Stubber) -> None:
    keys = SuppressionKeys((b"k" * 32,))
    [hash_] = keys.matching(Identifier(kind="email", value="a@b.c"))
    stub.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [{"pk": S(f"SUPPRESS#{hash_}")}]}},
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [key(f"SUPPRESS#{hash_}", "SUPPRESS")],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk",
                }
            }
        },
    )

    repo = DynamoProfileRepository(stub.client, TABLE, suppression=keys)
    assert repo.suppressed([Identifier(kind="email", value="a@b.c")]) is True


def test_repoint_updates_the_claim_conditional_on_its_old_owner(stub: Stubber) -> None:
    stub.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": key("ID#email#a@b.c", "ID"),
            "UpdateExpression": "SET profile_id = :to",
            "ConditionExpression": "profile_id = :from",
            "ExpressionAttributeValues": {":to": S("p2"), ":from": S("p1")},
        },
    )

    DynamoProfileRepository(stub.client, TABLE).repoint([Identifier(kind="email", value="a@b.c")], "p1", "p2")


def test_consent_history_queries_the_profile_partition_and_reads_each_record(stub: Stubber) -> None:
    stub.add_response(
        "query",
        {"Items": [{**key("PROFILE#p1", "CONSENT#x"), "data": S('{"channel": "email"}')}]},
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :c)",
            "ExpressionAttributeValues": {":p": S("PROFILE#p1"), ":c": S("CONSENT#")},
        },
    )

    assert DynamoProfileRepository(stub.client, TABLE).consent_history("p1") == [{"channel": "email"}]


# -- orders, birthdays, reminders, interval statistics ------------------------------------------
def test_save_order_of_a_customer_puts_it_in_their_order_index(stub: Stubber) -> None:
    order = OrderRecord(order_id="o1", version=2, profile_id="p1", status=OrderStatus.SHIPPED)
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("ORDER#o1", "ORDER"),
                "entity": S("order"),
                "version": N("2"),
                "data": S(order.model_dump_json()),
                "gsi1pk": S("ORDERS#p1"),
                "gsi1sk": S("ORDER#o1"),
            },
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": N("1")},
        },
    )

    DynamoTriggerRepository(stub.client, TABLE).save_order(order, 1)


def test_save_order_without_a_customer_has_no_index_attributes(stub: Stubber) -> None:
    order = OrderRecord(order_id="o1", version=1, status=OrderStatus.PLACED)
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("ORDER#o1", "ORDER"),
                "entity": S("order"),
                "version": N("1"),
                "data": S(order.model_dump_json()),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )

    DynamoTriggerRepository(stub.client, TABLE).save_order(order, None)


def test_load_order_reads_the_order_item(stub: Stubber) -> None:
    order = OrderRecord(order_id="o1", version=1, status=OrderStatus.PLACED)
    stub.add_response(
        "get_item",
        {"Item": {**key("ORDER#o1", "ORDER"), "version": N("1"), "data": S(order.model_dump_json())}},
        {"TableName": TABLE, "Key": key("ORDER#o1", "ORDER"), "ConsistentRead": True},
    )

    assert DynamoTriggerRepository(stub.client, TABLE).load_order("o1") == order


def reminder(status: ReminderStatus = ReminderStatus.PENDING) -> Reminder:
    return Reminder(
        profile_id="p1",
        product_id="sku1",
        version=2,
        status=status,
        last_purchase_at=AT,
        quantity=1,
        remind_at=datetime(2026, 12, 20, 8, 30, 15, 999, tzinfo=UTC),
        updated_at=AT,
    )


def test_save_reminder_pending_puts_it_in_the_due_index_by_whole_seconds(stub: Stubber) -> None:
    r = reminder()
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("PROFILE#p1", "REMIND#sku1"),
                "entity": S("reminder"),
                "version": N("2"),
                "data": S(r.model_dump_json()),
                "gsi1pk": S("DUE#2026-12-20"),
                "gsi1sk": S("2026-12-20T08:30:15Z#p1#sku1"),
            },
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": N("1")},
        },
    )

    DynamoTriggerRepository(stub.client, TABLE).save_reminder(r, 1)


def test_save_reminder_sent_leaves_the_due_index(stub: Stubber) -> None:
    r = reminder(ReminderStatus.SENT)
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("PROFILE#p1", "REMIND#sku1"),
                "entity": S("reminder"),
                "version": N("2"),
                "data": S(r.model_dump_json()),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )

    DynamoTriggerRepository(stub.client, TABLE).save_reminder(r, None)


def test_due_reminders_queries_the_bucket_up_to_the_second(stub: Stubber) -> None:
    r = reminder()
    stub.add_response(
        "query",
        {"Items": [{**key("PROFILE#p1", "REMIND#sku1"), "data": S(r.model_dump_json())}]},
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :u",
            "ExpressionAttributeValues": {":p": S("DUE#2026-12-20"), ":u": S("2026-12-20T09:00:00Z#~")},
        },
    )

    until = datetime(2026, 12, 20, 9, 0, 0, 500, tzinfo=UTC)
    assert DynamoTriggerRepository(stub.client, TABLE).due_reminders("DUE#2026-12-20", until) == [r]


def test_birthdays_on_reads_entries_with_and_without_a_congratulated_year(stub: Stubber) -> None:
    entry = BirthdayEntry(birthday=date(1990, 2, 28), zones=("Europe/Berlin",))
    stub.add_response(
        "query",
        {
            "Items": [
                {
                    **key("PROFILE#p1", "BIRTHDAY"),
                    "data": S(entry.model_dump_json()),
                    "congratulated_year": N("2025"),
                },
                {**key("PROFILE#p2", "BIRTHDAY"), "data": S(entry.model_dump_json())},
            ]
        },
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": S("BIRTHDAY#02-28")},
        },
    )

    found = DynamoTriggerRepository(stub.client, TABLE).birthdays_on("02-28")
    assert [(c.profile_id, c.entry, c.congratulated_year) for c in found] == [
        ("p1", entry, 2025),
        ("p2", entry, None),
    ]


def test_mark_congratulated_sets_the_year_only_upwards(stub: Stubber) -> None:
    stub.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": key("PROFILE#p1", "BIRTHDAY"),
            "UpdateExpression": "SET congratulated_year = :y",
            "ConditionExpression": "attribute_exists(pk) AND "
            "(attribute_not_exists(congratulated_year) OR congratulated_year < :y)",
            "ExpressionAttributeValues": {":y": N("2026")},
        },
    )

    assert DynamoTriggerRepository(stub.client, TABLE).mark_congratulated("p1", 2026) is True


def test_record_interval_writes_the_marker_and_counts_each_level(stub: Stubber) -> None:
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("OBS#abc", "OBS"),
                            "entity": S("interval_observation"),
                            "days": N("30.2500"),
                            "expires_at": N("1766480400"),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                *(
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": key(f"STATS#{level}", "STATS"),
                            "UpdateExpression": "SET entity = :e ADD n :one, #b :one",
                            "ExpressionAttributeNames": {"#b": f"b{IntervalStats.bucket(30.25)}"},
                            "ExpressionAttributeValues": {":e": S("interval_stats"), ":one": N("1")},
                        }
                    }
                    for level in ("product#sku1", "category#tea")
                ),
            ]
        },
    )

    repo = DynamoTriggerRepository(stub.client, TABLE)
    expires = datetime(2025, 12, 23, 9, tzinfo=UTC)
    assert repo.record_interval("abc", ["product#sku1", "category#tea"], 30.25, expires) is True


def test_population_reads_the_bucket_counters(stub: Stubber) -> None:
    stub.add_response(
        "batch_get_item",
        {
            "Responses": {
                TABLE: [
                    {
                        **key("STATS#product#sku1", "STATS"),
                        "entity": S("interval_stats"),
                        "n": N("3"),
                        "b30": N("2"),
                        "b31": N("1"),
                    }
                ]
            }
        },
        {"RequestItems": {TABLE: {"Keys": [key("STATS#product#sku1", "STATS")], "ConsistentRead": True}}},
    )

    stats = DynamoTriggerRepository(stub.client, TABLE).population(["product#sku1"])
    assert stats == {"product#sku1": IntervalStats.from_counts({30: 2, 31: 1})}


# -- send-once records, messages, caps, deferred intents, the day's decisions -------------------
def message_item(record: MessageRecord) -> dict[str, Any]:
    return {
        **key("MESSAGE#m1", "MESSAGE"),
        "entity": S("message"),
        "status": S(record.status.value),
        "gsi1pk": S("MSGLOG#p1"),
        "gsi1sk": S(f"{AT_STAMP}#m1"),
        "data": S(record.model_dump_json()),
        "expires_at": N(str(int((AT + timedelta(days=400)).timestamp()))),
    }


def reservation(record: MessageRecord) -> list[dict[str, Any]]:
    """The send-once key (taken only if free) and the message, first in every reservation."""
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {
                    **key("SEND#welcome#p1", "SEND"),
                    "entity": S("send_once"),
                    "message_id": S("m1"),
                    "status": S("sending"),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {"Put": {"TableName": TABLE, "Item": message_item(record)}},
    ]


def caps_item(ledger: CapsLedger) -> dict[str, Any]:
    return {
        **key("PROFILE#p1", "CAPS"),
        "entity": S("caps"),
        "version": N(str(ledger.version)),
        "data": S(ledger.model_dump_json()),
    }


def test_reserve_writes_key_message_caps_and_the_days_decisions_in_one_transaction(stub: Stubber) -> None:
    record = message_record()
    ledger = CapsLedger(profile_id="p1", version=1, sends={"m1": AT})
    offer = DayOffer(
        profile_id="p1", day=date(2026, 11, 23), offer=priced(), decided_at=AT, decided_on="email"
    )
    price = DayPrice(profile_id="p1", day=date(2026, 11, 23), product=priced())
    day_expiry = N("1795651200")  # 2026-11-26T00:00Z: three days after the local date
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                *reservation(record),
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": caps_item(ledger),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("PROFILE#p1", "DAY#2026-11-23#OFFER"),
                            "entity": S("day_offer"),
                            "data": S(offer.model_dump_json()),
                            "expires_at": day_expiry,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("PROFILE#p1", "DAY#2026-11-23#PRICE#sku1"),
                            "entity": S("day_price"),
                            "data": S(priced().model_dump_json()),
                            "expires_at": day_expiry,
                        },
                        "ConditionExpression": "attribute_not_exists(pk) OR #d = :d",
                        "ExpressionAttributeNames": {"#d": "data"},
                        "ExpressionAttributeValues": {":d": S(priced().model_dump_json())},
                    }
                },
            ]
        },
    )

    repo = DynamoMessageRepository(stub.client, TABLE, message_days=400)
    outcome = repo.reserve(record, ledger, DayWrites(offers=(offer,), prices=(price,)))
    assert outcome is ReserveOutcome.RESERVED


def test_a_later_caps_ledger_is_written_over_the_version_before(stub: Stubber) -> None:
    record = message_record()
    ledger = CapsLedger(profile_id="p1", version=5)
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                *reservation(record),
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": caps_item(ledger),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": N("4")},
                    }
                },
            ]
        },
    )

    repo = DynamoMessageRepository(stub.client, TABLE, message_days=400)
    assert repo.reserve(record, ledger) is ReserveOutcome.RESERVED


def test_mark_sent_sets_the_status_conditional_on_the_message_and_rewrites_it(stub: Stubber) -> None:
    sent = message_record().model_copy(update={"status": MessageStatus.SENT, "provider_id": "ses-1"})
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("SEND#welcome#p1", "SEND"),
                        "UpdateExpression": "SET #s = :s",
                        "ConditionExpression": "message_id = :m",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": S("sent"), ":m": S("m1")},
                    }
                },
                {"Put": {"TableName": TABLE, "Item": message_item(sent)}},
            ]
        },
    )

    DynamoMessageRepository(stub.client, TABLE, message_days=400).mark_sent(message_record(), "ses-1")


def test_release_deletes_key_and_message_and_gives_the_cap_slot_back(stub: Stubber) -> None:
    ledger = CapsLedger(profile_id="p1", version=2, sends={"m1": AT})
    stub.add_response(
        "get_item",
        {"Item": {**key("PROFILE#p1", "CAPS"), "version": N("2"), "data": S(ledger.model_dump_json())}},
        {"TableName": TABLE, "Key": key("PROFILE#p1", "CAPS"), "ConsistentRead": True},
    )
    released = ledger.without("m1")
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Delete": {
                        "TableName": TABLE,
                        "Key": key("SEND#welcome#p1", "SEND"),
                        "ConditionExpression": "message_id = :m AND #s = :s",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":m": S("m1"), ":s": S("sending")},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": key("MESSAGE#m1", "MESSAGE")}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": caps_item(released),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": N("2")},
                    }
                },
            ]
        },
    )

    DynamoMessageRepository(stub.client, TABLE, message_days=400).release(message_record())


def test_defer_puts_the_intent_in_its_release_hour(stub: Stubber) -> None:
    d = deferred()
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("DEFER#i1", "DEFER"),
                "entity": S("deferred"),
                "release_at": S("2026-11-23T20:30:00.000000+00:00"),
                "gsi1pk": S("DEFER#2026-11-23T20"),
                "gsi1sk": S("2026-11-23T20:30:00.000000+00:00#i1"),
                "data": S(d.model_dump_json()),
            },
        },
    )

    DynamoMessageRepository(stub.client, TABLE, message_days=400).defer(d)


def test_due_deferred_and_drop_deferred_use_the_release_stamp(stub: Stubber) -> None:
    d = deferred()
    stub.add_response(
        "query",
        {"Items": [{**key("DEFER#i1", "DEFER"), "data": S(d.model_dump_json())}]},
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :u",
            "ExpressionAttributeValues": {
                ":p": S("DEFER#2026-11-23T20"),
                ":u": S("2026-11-23T21:00:00.000000+00:00~"),
            },
        },
    )
    stub.add_response(
        "delete_item",
        {},
        {
            "TableName": TABLE,
            "Key": key("DEFER#i1", "DEFER"),
            "ConditionExpression": "release_at = :r",
            "ExpressionAttributeValues": {":r": S("2026-11-23T20:30:00.000000+00:00")},
        },
    )

    repo = DynamoMessageRepository(stub.client, TABLE, message_days=400)
    assert repo.due_deferred("DEFER#2026-11-23T20", datetime(2026, 11, 23, 21, tzinfo=UTC)) == [d]
    assert repo.drop_deferred(d) is True


def test_read_for_dispatch_asks_for_every_item_once_and_decodes_each_kind(stub: Stubber) -> None:
    p = profile()
    ledger = CapsLedger(profile_id="p1", version=1)
    offer = DayOffer(profile_id="p1", day=date(2026, 11, 23), offer=None, decided_at=AT, decided_on="web")
    stub.add_response(
        "batch_get_item",
        {
            "Responses": {
                TABLE: [
                    {**key("SEND#welcome#p1", "SEND"), "message_id": S("m0"), "status": S("sent")},
                    {**key("PROFILE#p1", "PROFILE"), "version": N("3"), "data": {"B": compressed(p)}},
                    {**key("PROFILE#p1", "CAPS"), "version": N("1"), "data": S(ledger.model_dump_json())},
                    {**key("PRODUCT#sku1", "PRODUCT"), "data": S(product().model_dump_json())},
                    {**key("PROFILE#p1", "DAY#2026-11-23#OFFER"), "data": S(offer.model_dump_json())},
                    {
                        **key("PROFILE#p1", "DAY#2026-11-23#PRICE#sku1"),
                        "data": S(priced().model_dump_json()),
                        "expires_at": N("1795651200"),
                    },
                ]
            }
        },
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [
                        key("SEND#welcome#p1", "SEND"),
                        key("PROFILE#p1", "PROFILE"),
                        key("PROFILE#p1", "CAPS"),
                        key("PRODUCT#sku1", "PRODUCT"),
                        key("PROFILE#p1", "DAY#2026-11-23#OFFER"),
                        key("PROFILE#p1", "DAY#2026-11-23#PRICE#sku1"),
                    ],
                    "ConsistentRead": True,
                }
            }
        },
    )

    request = DispatchReadRequest(
        send_once_key="welcome#p1",
        profile_id="p1",
        caps=True,
        product_ids=("sku1",),
        days=(date(2026, 11, 23),),
    )
    snapshot = DynamoMessageRepository(stub.client, TABLE, message_days=400).read_for_dispatch(request)
    assert snapshot.sent_message_id == "m0"
    assert snapshot.profile == p
    assert snapshot.caps == ledger
    assert snapshot.products == {"sku1": product()}
    assert snapshot.day_offers == {date(2026, 11, 23): offer}
    assert snapshot.day_prices == {"2026-11-23#sku1": priced()}


def test_keep_prices_reads_the_stored_and_puts_the_missing(stub: Stubber) -> None:
    stored, fresh = priced("sku1"), priced("sku2")
    stub.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [{"sk": S("DAY#2026-11-23#PRICE#sku1"), "data": S(stored.model_dump_json())}]}},
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [
                        key("PROFILE#p1", "DAY#2026-11-23#PRICE#sku1"),
                        key("PROFILE#p1", "DAY#2026-11-23#PRICE#sku2"),
                    ],
                    "ConsistentRead": True,
                    "ProjectionExpression": "sk, #d",
                    "ExpressionAttributeNames": {"#d": "data"},
                }
            }
        },
    )
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("PROFILE#p1", "DAY#2026-11-23#PRICE#sku2"),
                "entity": S("day_price"),
                "data": S(fresh.model_dump_json()),
                "expires_at": N("1795651200"),
            },
            "ConditionExpression": "attribute_not_exists(pk) OR #d = :d",
            "ExpressionAttributeNames": {"#d": "data"},
            "ExpressionAttributeValues": {":d": S(fresh.model_dump_json())},
        },
    )

    repo = DynamoMessageRepository(stub.client, TABLE, message_days=400)
    assert repo.keep_prices("p1", date(2026, 11, 23), [stored, fresh]) == [stored, fresh]


def test_messages_of_reads_the_log_newest_first(stub: Stubber) -> None:
    record = message_record()
    stub.add_response(
        "query",
        {"Items": [message_item(record)]},
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": S("MSGLOG#p1")},
            "ScanIndexForward": False,
            "Limit": 5,
        },
    )

    assert DynamoMessageRepository(stub.client, TABLE, message_days=400).messages_of("p1", 5) == [record]


# -- catalog -------------------------------------------------------------------------------------
def test_put_products_writes_the_promoted_one_into_the_offer_pool(stub: Stubber) -> None:
    for p in (product("sku1", promoted=True), product("sku2")):
        stub.add_response(
            "put_item",
            {},
            {
                "TableName": TABLE,
                "Item": {
                    **key(f"PRODUCT#{p.product_id}", "PRODUCT"),
                    "entity": S("product"),
                    "data": S(p.model_dump_json()),
                    "updated_at": S(AT_STAMP),
                    **({"gsi1pk": S("OFFERS"), "gsi1sk": S("sku1")} if p.promoted else {}),
                },
                "ConditionExpression": "attribute_not_exists(pk) OR updated_at <= :mine",
                "ExpressionAttributeValues": {":mine": S(AT_STAMP)},
                "ReturnValues": "ALL_OLD",
            },
        )

    repo = DynamoCatalogRepository(stub.client, TABLE, workers=1)
    assert repo.put_products([product("sku1", promoted=True), product("sku2")]) == []


def test_offer_pool_reads_the_promoted_partition(stub: Stubber) -> None:
    stub.add_response(
        "query",
        {"Items": [{**key("PRODUCT#sku1", "PRODUCT"), "data": S(product(promoted=True).model_dump_json())}]},
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": S("OFFERS")},
        },
    )

    assert DynamoCatalogRepository(stub.client, TABLE).offer_pool() == [product(promoted=True)]


# -- sources and keys ----------------------------------------------------------------------------
def source() -> Source:
    return Source(source_id="web", name="Web shop", channel=Channel.WEB, created_at=AT)


def api_key(hash_char: str = "a") -> ApiKey:
    return ApiKey(key_hash=hash_char * 64, scope=KeyScope.WRITE, source=source(), created_at=AT)


def key_item(k: ApiKey) -> dict[str, Any]:
    return {
        **key(f"APIKEY#{k.key_hash}", "APIKEY"),
        "entity": S("api_key"),
        "data": S(k.model_dump_json()),
        "gsi1pk": S("APIKEYS"),
        "gsi1sk": S(f"write#{AT.isoformat()}#{k.key_id}"),
    }


def test_create_source_puts_source_with_its_key_list_and_the_key(stub: Stubber) -> None:
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("SOURCES", "SOURCE#web"),
                            "entity": S("source"),
                            "data": S(source().model_dump_json()),
                            "key_hashes": {"L": [S("a" * 64)]},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": key_item(api_key()),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        },
    )

    DynamoAccessRepository(stub.client, TABLE).create_source(source(), api_key())


def test_rotate_appends_the_new_hash_and_ends_the_old_key_conditional_on_what_was_read(stub: Stubber) -> None:
    old, new = api_key("a"), api_key("b")
    source_item = {
        **key("SOURCES", "SOURCE#web"),
        "data": S(source().model_dump_json()),
        "key_hashes": {"L": [S(old.key_hash)]},
    }
    stub.add_response(
        "get_item",
        {"Item": source_item},
        {"TableName": TABLE, "Key": key("SOURCES", "SOURCE#web"), "ConsistentRead": True},
    )
    stub.add_response(
        "get_item",
        {"Item": key_item(old)},
        {"TableName": TABLE, "Key": key(f"APIKEY#{old.key_hash}", "APIKEY"), "ConsistentRead": True},
    )
    expire = AT + timedelta(days=1)
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("SOURCES", "SOURCE#web"),
                        "UpdateExpression": "SET key_hashes = list_append(key_hashes, :new)",
                        "ConditionExpression": "#d = :data",
                        "ExpressionAttributeNames": {"#d": "data"},
                        "ExpressionAttributeValues": {
                            ":new": {"L": [S(new.key_hash)]},
                            ":data": S(source().model_dump_json()),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": key_item(new),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key(f"APIKEY#{old.key_hash}", "APIKEY"),
                        "UpdateExpression": "SET #d = :new",
                        "ConditionExpression": "#d = :old",
                        "ExpressionAttributeNames": {"#d": "data"},
                        "ExpressionAttributeValues": {
                            ":new": S(old.model_copy(update={"not_after": expire}).model_dump_json()),
                            ":old": S(old.model_dump_json()),
                        },
                    }
                },
            ]
        },
    )

    DynamoAccessRepository(stub.client, TABLE).rotate_source_key("web", new, expire)


def test_list_sources_queries_the_sources_partition(stub: Stubber) -> None:
    stub.add_response(
        "query",
        {"Items": [{**key("SOURCES", "SOURCE#web"), "data": S(source().model_dump_json())}]},
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": S("SOURCES"), ":prefix": S("SOURCE#")},
        },
    )

    assert DynamoAccessRepository(stub.client, TABLE).list_sources() == [source()]


# -- privacy: suppressions, the erasure audit, deleting, what is held ---------------------------
def privacy_repo(stub: Stubber, keys: SuppressionKeys | None = None) -> DynamoPrivacyRepository:
    repo = DynamoPrivacyRepository(stub.client, TABLE, deferred_lookback=timedelta(hours=6))
    repo._profiles._suppression = keys or SuppressionKeys((b"k" * 32,))
    return repo


def test_suppress_puts_one_item_per_identifier_under_the_current_key(stub: Stubber) -> None:
    keys = SuppressionKeys((b"k" * 32,))
    email = Identifier(kind="email", value="a@b.c")
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key(f"SUPPRESS#{keys.current(email)}", "SUPPRESS"),
                "entity": S("suppression"),
                "erasure_id": S("x1"),
                "at": S(AT_STAMP),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )

    assert privacy_repo(stub, keys).suppress({email}, "x1", AT) == 1


def test_save_erasure_puts_the_audit_record_in_the_erasures_index(stub: Stubber) -> None:
    record = ErasureRecord(
        erasure_id="x1",
        status=ErasureStatus.COMPLETED,
        requested_at=AT,
        requested_by="k1",
        identifier_type="email",
    )
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("ERASURE#x1", "ERASURE"),
                "entity": S("erasure"),
                "gsi1pk": S("ERASURES"),
                "gsi1sk": S(f"{AT_STAMP}#x1"),
                "data": S(record.model_dump_json()),
            },
        },
    )

    privacy_repo(stub).save_erasure(record)


def test_delete_is_conditional_on_version_or_owner_and_batches_the_rest(stub: Stubber) -> None:
    items = [
        HeldItem(kind="profile", pk="PROFILE#p1", sk="PROFILE", attributes={}, version=3),
        HeldItem(kind="identifier", pk="ID#email#a@b.c", sk="ID", attributes={}, owner="p1"),
        HeldItem(kind="order", pk="ORDER#o1", sk="ORDER", attributes={}),
    ]
    stub.add_response(
        "delete_item",
        {},
        {
            "TableName": TABLE,
            "Key": key("PROFILE#p1", "PROFILE"),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": N("3")},
        },
    )
    stub.add_response(
        "delete_item",
        {},
        {
            "TableName": TABLE,
            "Key": key("ID#email#a@b.c", "ID"),
            "ConditionExpression": "profile_id = :o",
            "ExpressionAttributeValues": {":o": S("p1")},
        },
    )
    stub.add_response(
        "batch_write_item",
        {},
        {"RequestItems": {TABLE: [{"DeleteRequest": {"Key": key("ORDER#o1", "ORDER")}}]}},
    )

    assert privacy_repo(stub).delete(items) == items


def test_held_item_decodes_data_ttl_and_numbers_of_old_items() -> None:
    p = profile()
    held = _held(
        {
            **key("PROFILE#p1", "PROFILE"),
            "entity": S("profile"),
            "version": N("3"),
            "data": {"B": compressed(p)},
        }
    )
    marker = _held(
        {
            **key("MSG#e1", "MSG"),
            "entity": S("message_marker"),
            "profile_id": S("p1"),
            "expires_at": N("1766480400"),
        }
    )
    source_item = _held(
        {
            **key("SOURCES", "SOURCE#web"),
            "entity": S("source"),
            "data": S('{"a": 1.5}'),
            "key_hashes": {"L": [S("h1")]},
            "n": N("2"),
            "days": N("30.2500"),
        }
    )

    assert held == HeldItem(
        kind="profile",
        pk="PROFILE#p1",
        sk="PROFILE",
        version=3,
        attributes={"data": json.loads(p.model_dump_json()), "entity": "profile", "version": 3},
    )
    assert marker == HeldItem(
        kind="message_marker",
        pk="MSG#e1",
        sk="MSG",
        attributes={
            "entity": "message_marker",
            "expires_at": "2025-12-23T09:00:00+00:00",
            "profile_id": "p1",
        },
    )
    assert source_item.attributes == {
        "data": {"a": 1.5},
        "days": 30.25,
        "entity": "source",
        "key_hashes": ["h1"],
        "n": 2,
    }


# -- segments: definitions, memberships, counters, due entries, the directory -------------------


def segment(revision: int = 2) -> Segment:
    return Segment(
        segment_id="pet-food",
        name="Pet food, 90 days",
        rule={"purchased": {"category": "pet food", "within_days": 90}},
        version=3,
        incarnation="a1b2c3",
        created_at=AT,
        updated_at=AT,
        backfill=Backfill(version=3, position="0:"),
        revision=revision,
    )


SEGMENT_DATA = (
    '{"segment_id":"pet-food","name":"Pet food, 90 days","rule":{"purchased":{"category":"pet food",'
    '"within_days":90}},"version":3,"incarnation":"a1b2c3","created_at":"2026-11-23T09:00:00.123456Z",'
    '"updated_at":"2026-11-23T09:00:00.123456Z","status":"active","backfill":{"version":3,'
    '"state":"pending","profiles":0,"started_at":null,"finished_at":null,"position":"0:","previous":""}}'
)


def segment_item(revision: int = 2) -> dict[str, Any]:
    return {
        **key("SEGMENTS", "SEGMENT#pet-food"),
        "entity": S("segment"),
        "revision": N(str(revision)),
        "status": S("active"),
        "incarnation": S("a1b2c3"),
        "data": S(SEGMENT_DATA),
    }


def test_commit_with_segment_changes_writes_memberships_counter_due_and_directory_with_the_profile(
    stub: Stubber,
) -> None:
    p = profile("p1", version=4)
    writes = SegmentWrites(
        put=[
            MemberRecord(
                segment_id="pet-food",
                incarnation="a1b2c3",
                profile_id="p1",
                since=AT,
                rule_version=3,
                zones=("Europe/Moscow",),
                country="RU",
                locale="ru",
            )
        ],
        delete=[MemberKey("loyal", "ffee00", "p1")],
        due={"p1": datetime(2027, 2, 21, 9, 0, 1, tzinfo=UTC)},
    )
    writes.count("p1", "pet-food#a1b2c3", 1)
    writes.count("p1", "loyal#ffee00", -1)
    shard = shard_of("p1")
    member = {
        "country": "RU",
        "locale": "ru",
        "profile_id": "p1",
        "rule_version": 3,
        "since": AT.isoformat(),
        "zones": ["Europe/Moscow"],
    }
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": profile_item(p),
                        "ConditionExpression": "version = :expected",
                        "ExpressionAttributeValues": {":expected": N("3")},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("SEGMENT#pet-food#a1b2c3", "M#p1"),
                            "entity": S("segment_member"),
                            "data": S(json.dumps(member, sort_keys=True)),
                        },
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": key("SEGMENT#loyal#ffee00", "M#p1")}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key(f"SEGCOUNT#{shard}", "SEGCOUNT"),
                        "UpdateExpression": "SET entity = :e ADD #c0 :d0, #c1 :d1",
                        "ExpressionAttributeNames": {"#c0": "loyal#ffee00", "#c1": "pet-food#a1b2c3"},
                        "ExpressionAttributeValues": {
                            ":e": S("segment_counter"),
                            ":d0": N("-1"),
                            ":d1": N("1"),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("PROFILE#p1", "SEGDUE"),
                            "entity": S("segment_due"),
                            "due": S("2027-02-21T09:00:01Z"),
                            "gsi1pk": S("SEGDUE#2027-02-21T09"),
                            "gsi1sk": S("2027-02-21T09:00:01Z#p1"),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            **key("PROFILE#p1", "DIR"),
                            "entity": S("profile_directory"),
                            "gsi1pk": S(f"PROFILES#{shard}"),
                            "gsi1sk": S("p1"),
                        },
                    }
                },
            ]
        },
    )
    change = ProfileChange(profile=p, expected_version=3, segments=writes, listed=["p1"])
    DynamoProfileRepository(stub.client, TABLE).commit(change)


def test_commit_removing_a_due_entry_deletes_it(stub: Stubber) -> None:
    p = profile("p1", version=4)
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": profile_item(p),
                        "ConditionExpression": "version = :expected",
                        "ExpressionAttributeValues": {":expected": N("3")},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": key("PROFILE#p1", "SEGDUE")}},
            ]
        },
    )
    change = ProfileChange(profile=p, expected_version=3, segments=SegmentWrites(due={"p1": None}))
    DynamoProfileRepository(stub.client, TABLE).commit(change)


def test_create_segment_puts_the_definition_only_when_absent(stub: Stubber) -> None:
    stub.add_response(
        "put_item",
        {},
        {"TableName": TABLE, "Item": segment_item(0), "ConditionExpression": "attribute_not_exists(pk)"},
    )
    DynamoSegmentRepository(stub.client, TABLE).create(segment(0))


def test_save_segment_is_conditional_on_the_revision_read(stub: Stubber) -> None:
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": segment_item(3),
            "ConditionExpression": "revision = :r",
            "ExpressionAttributeValues": {":r": N("2")},
        },
    )
    DynamoSegmentRepository(stub.client, TABLE).save(segment(3), 2)


def test_segments_reads_the_definitions_partition_consistently(stub: Stubber) -> None:
    stub.add_response(
        "query",
        {"Items": [segment_item(2)]},
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": S("SEGMENTS"), ":s": S("SEGMENT#")},
            "ConsistentRead": True,
        },
    )
    assert DynamoSegmentRepository(stub.client, TABLE).segments() == [segment(2)]


def test_sizes_sum_every_counter_shard(stub: Stubber) -> None:
    keys = [key(f"SEGCOUNT#{n}", "SEGCOUNT") for n in range(16)]
    stub.add_response(
        "batch_get_item",
        {
            "Responses": {
                TABLE: [
                    {
                        **keys[0],
                        "entity": S("segment_counter"),
                        "pet-food#a1b2c3": N("2"),
                        "loyal#ffee00": N("1"),
                    },
                    {**keys[9], "entity": S("segment_counter"), "pet-food#a1b2c3": N("-1")},
                ]
            }
        },
        {"RequestItems": {TABLE: {"Keys": keys, "ConsistentRead": True}}},
    )
    assert DynamoSegmentRepository(stub.client, TABLE).sizes() == {"pet-food#a1b2c3": 1, "loyal#ffee00": 1}


def test_members_page_queries_the_incarnation_after_the_cursor_and_reads_each_member(stub: Stubber) -> None:
    data = (
        '{"country": "RU", "locale": null, "profile_id": "p2", "rule_version": 3, "since": "%s", "zones": []}'
    )
    stub.add_response(
        "query",
        {
            "Items": [{**key("SEGMENT#pet-food#a1b2c3", "M#p2"), "data": S(data % AT.isoformat())}],
            "LastEvaluatedKey": key("SEGMENT#pet-food#a1b2c3", "M#p2"),
        },
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :m)",
            "ExpressionAttributeValues": {":p": S("SEGMENT#pet-food#a1b2c3"), ":m": S("M#")},
            "Limit": 1,
            "ExclusiveStartKey": key("SEGMENT#pet-food#a1b2c3", "M#p1"),
        },
    )
    records, cursor = DynamoSegmentRepository(stub.client, TABLE).members_page(
        "pet-food", 1, "p1", incarnation="a1b2c3"
    )
    assert records == [MemberRecord("pet-food", "a1b2c3", "p2", AT, 3, (), "RU", None)]
    assert cursor == "p2"


def test_directory_page_queries_its_shard_after_the_cursor(stub: Stubber) -> None:
    stub.add_response(
        "query",
        {
            "Items": [{"gsi1sk": S("p7")}],
            "LastEvaluatedKey": {**key("PROFILE#p7", "DIR"), "gsi1pk": S("PROFILES#3"), "gsi1sk": S("p7")},
        },
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk > :c",
            "ExpressionAttributeValues": {":p": S("PROFILES#3"), ":c": S("p5")},
            "ProjectionExpression": "gsi1sk",
            "Limit": 100,
        },
    )
    assert DynamoSegmentRepository(stub.client, TABLE).directory_page(3, 100, "p5") == (["p7"], "p7")


def test_due_profiles_queries_the_hour_up_to_the_second(stub: Stubber) -> None:
    stub.add_response(
        "query",
        {"Items": [{"pk": S("PROFILE#p1")}]},
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :u",
            "ExpressionAttributeValues": {":p": S("SEGDUE#2026-11-23T09"), ":u": S("2026-11-23T09:00:00Z#~")},
            "ProjectionExpression": "pk",
        },
    )
    assert DynamoSegmentRepository(stub.client, TABLE).due_profiles("SEGDUE#2026-11-23T09", AT) == ["p1"]


def test_drop_removes_the_incarnations_counters_then_the_deleting_definition(stub: Stubber) -> None:
    deleting = segment().model_copy(update={"status": SegmentStatus.DELETING})
    for shard in range(16):
        stub.add_response(
            "update_item",
            {},
            {
                "TableName": TABLE,
                "Key": key(f"SEGCOUNT#{shard}", "SEGCOUNT"),
                "UpdateExpression": "REMOVE #c",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": {"#c": "pet-food#a1b2c3"},
            },
        )
    stub.add_response(
        "delete_item",
        {},
        {
            "TableName": TABLE,
            "Key": key("SEGMENTS", "SEGMENT#pet-food"),
            "ConditionExpression": "#s = :deleting AND incarnation = :i",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":deleting": S("deleting"), ":i": S("a1b2c3")},
        },
    )
    DynamoSegmentRepository(stub.client, TABLE).drop(deleting)


# -- campaigns and exposures ------------------------------------------------------------------


def a_campaign() -> Campaign:
    return Campaign(
        campaign_id="pets-dec",
        segment_id="pets",
        segment_name="Pets",
        incarnation="inc1",
        send_at=SendAt(local_date=date(2026, 12, 10), local_time=time(10, 0)),
        holdout_percent=10,
        conversion_window_days=7,
        content={"ru": CampaignContent(text="Скидка")},
        messages_per_second=50,
        created_at=AT,
    )


def test_create_campaign_puts_definition_status_and_plan_in_the_campaigns_index(stub: Stubber) -> None:
    c = a_campaign()
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key("CAMPAIGN#pets-dec", "CAMPAIGN"),
                "entity": S("campaign"),
                "gsi1pk": S("CAMPAIGNS"),
                "gsi1sk": S(f"{AT_STAMP}#pets-dec"),
                "data": S(c.model_dump_json(exclude={"status", "plan", "cancelled_at"})),
                "status": S("scheduled"),
                "plan": S(c.plan.model_dump_json()),
                "plan_pages": N("0"),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )
    DynamoCampaignRepository(stub.client, TABLE).create(c)


def test_campaign_reads_counters_skipped_reasons_and_conversions() -> None:
    c = a_campaign()
    item = {
        **key("CAMPAIGN#pets-dec", "CAMPAIGN"),
        "data": S(c.model_dump_json(exclude={"status", "plan", "cancelled_at"})),
        "status": S("sending"),
        "plan": S(c.plan.model_dump_json()),
        "audience": N("10"),
        "holdout": N("1"),
        "sent": N("7"),
        "skipped_no_channel": N("2"),
        "conv_recipient_orders": N("3"),
        "conv_recipient_revenue": N("3870.50"),
    }
    campaign, counters = campaign_from_item(item)
    assert campaign.status is CampaignStatus.SENDING
    assert counters == Counters(
        audience=10,
        holdout=1,
        sent=7,
        skipped={"no_channel": 2},
        conversions={"conv_recipient_orders": 3, "conv_recipient_revenue": "3870.50"},
    )


def test_put_exposures_indexes_a_waiting_recipient_by_its_release_hour_and_not_a_holdout(
    stub: Stubber,
) -> None:
    release = datetime(2026, 12, 10, 0, 0, 1, tzinfo=UTC)
    recipient = Exposure(
        profile_id="p1",
        program="campaign#pets-dec",
        group="recipient",
        assigned_at=AT,
        window_end=release + timedelta(days=7),
        release_at=release,
        campaign_id="pets-dec",
    )
    holdout = recipient.model_copy(update={"profile_id": "p2", "group": "holdout", "release_at": None})
    common = {"entity": S("exposure"), "program": S("campaign#pets-dec"), "campaign_id": S("pets-dec")}
    stub.add_response(
        "batch_write_item",
        {},
        {
            "RequestItems": {
                TABLE: [
                    {
                        "PutRequest": {
                            "Item": {
                                **key("PROFILE#p1", "EXPOSE#campaign#pets-dec"),
                                **common,
                                "profile_id": S("p1"),
                                "group": S("recipient"),
                                "assigned_at": S(AT_STAMP),
                                "window_end": S("2026-12-17T00:00:01.000000+00:00"),
                                "release_at": S("2026-12-10T00:00:01.000000+00:00"),
                                "gsi1pk": S("CSEND#2026-12-10T00"),
                                "gsi1sk": S("2026-12-10T00:00:01.000000+00:00#pets-dec#p1"),
                            }
                        }
                    },
                    {
                        "PutRequest": {
                            "Item": {
                                **key("PROFILE#p2", "EXPOSE#campaign#pets-dec"),
                                **common,
                                "profile_id": S("p2"),
                                "group": S("holdout"),
                                "assigned_at": S(AT_STAMP),
                                "window_end": S("2026-12-17T00:00:01.000000+00:00"),
                            }
                        }
                    },
                ]
            }
        },
    )
    DynamoCampaignRepository(stub.client, TABLE).put_exposures([recipient, holdout])


def test_commit_page_counts_the_page_conditional_on_the_pages_before(stub: Stubber) -> None:
    plan = Plan(started=True, cursor="p9", pages=3)
    stub.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": key("CAMPAIGN#pets-dec", "CAMPAIGN"),
            "UpdateExpression": "SET #p = :p, plan_pages = :after ADD audience :a, holdout :h",
            "ConditionExpression": "plan_pages = :before",
            "ExpressionAttributeNames": {"#p": "plan"},
            "ExpressionAttributeValues": {
                ":p": S(plan.model_dump_json()),
                ":after": N("3"),
                ":before": N("2"),
                ":a": N("100"),
                ":h": N("9"),
            },
        },
    )
    assert DynamoCampaignRepository(stub.client, TABLE).commit_page("pets-dec", 2, plan, 100, 9) is True


def test_record_outcome_moves_the_exposure_once_with_its_counter_and_from_deferred_takes_one_off(
    stub: Stubber,
) -> None:
    def transition(
        condition: str, adds: str, values: dict[str, Any], counter: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("PROFILE#p1", "EXPOSE#campaign#pets-dec"),
                        "UpdateExpression": "SET outcome = :o",
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("CAMPAIGN#pets-dec", "CAMPAIGN"),
                        "UpdateExpression": adds,
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#c": "skipped_no_channel"},
                        "ExpressionAttributeValues": counter,
                    }
                },
            ]
        }

    stub.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        response_meta={},
        modeled_fields={"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]},
        expected_params=transition(
            "attribute_exists(pk) AND attribute_not_exists(outcome)",
            "ADD #c :one",
            {":o": S("skipped:no_channel")},
            {":one": N("1")},
        ),
    )
    stub.add_response(
        "transact_write_items",
        {},
        transition(
            "attribute_exists(pk) AND outcome = :from",
            "ADD #c :one, deferred :less",
            {":o": S("skipped:no_channel"), ":from": S("deferred")},
            {":one": N("1"), ":less": N("-1")},
        ),
    )
    repo = DynamoCampaignRepository(stub.client, TABLE)
    assert repo.record_outcome("p1", "campaign#pets-dec", "skipped:no_channel") is True


def test_program_counter_key_of_a_campaign_and_of_a_trigger_kind() -> None:
    assert program_counter_key("campaign#pets-dec") == key("CAMPAIGN#pets-dec", "CAMPAIGN")
    assert program_counter_key("trigger#welcome#0123abcd") == key("PROGRAM#trigger#welcome", "PROGRAM")


# -- exposures, trigger programs, conversions -------------------------------------------------------
EXPOSED = TriggerExposure(
    profile_id="p1",
    kind="welcome",
    program="trigger#welcome#67563ec3f36106573519e7ff",
    group=Group.HOLDOUT,
    assigned_at=AT,
    window_end=AT + timedelta(days=7),
)
EXPOSURE_KEY = key("PROFILE#p1", "EXPOSE#trigger#welcome#67563ec3f36106573519e7ff")
WINDOW_END_STAMP = "2026-11-30T09:00:00.123456+00:00"


def exposure_item(**extra: Any) -> dict[str, Any]:
    return {
        **EXPOSURE_KEY,
        "entity": S("exposure"),
        "profile_id": S("p1"),
        "program": S(EXPOSED.program),
        "group": S("holdout"),
        "assigned_at": S(AT_STAMP),
        "window_end": S(WINDOW_END_STAMP),
        **extra,
    }


def test_assign_puts_the_exposure_once_and_counts_it_on_the_kinds_program(stub: Stubber) -> None:
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": exposure_item(),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("PROGRAM#trigger#welcome", "PROGRAM"),
                        "UpdateExpression": "SET entity = :e ADD #c0 :c0, #c1 :c1",
                        "ExpressionAttributeNames": {"#c0": "audience", "#c1": "holdout"},
                        "ExpressionAttributeValues": {":c0": N("1"), ":c1": N("1"), ":e": S("program")},
                    }
                },
            ]
        },
    )
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        modeled_fields={"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]},
    )

    repo = DynamoConversionRepository(stub.client, TABLE)
    assert repo.assign(EXPOSED) is True
    assert repo.assign(EXPOSED) is False  # assigned and counted before


def test_record_outcome_sets_it_once_with_its_counter(stub: Stubber) -> None:
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": EXPOSURE_KEY,
                        "UpdateExpression": "SET outcome = :o",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(outcome)",
                        "ExpressionAttributeValues": {":o": S("skipped:no_content")},
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("PROGRAM#trigger#welcome", "PROGRAM"),
                        "UpdateExpression": "ADD #c :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#c": "skipped_no_content"},
                        "ExpressionAttributeValues": {":one": N("1")},
                    }
                },
            ]
        },
    )

    assert (
        DynamoConversionRepository(stub.client, TABLE).record_outcome(EXPOSED, "skipped:no_content") is True
    )


def exposures_query(
    items: list[dict[str, Any]], profile_id: str = "p1"
) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {"Items": items},
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": S(f"PROFILE#{profile_id}"), ":prefix": S("EXPOSE#")},
            "ConsistentRead": True,
        },
    )


def test_record_order_counts_the_first_order_of_an_exposure_and_its_customer(stub: Stubber) -> None:
    campaign = {
        **key("PROFILE#p1", "EXPOSE#campaign#dec-pets"),
        "entity": S("exposure"),
        "program": S("campaign#dec-pets"),
        "group": S("recipient"),
        "assigned_at": S("2026-11-01T09:00:00.000000+00:00"),
        "window_end": S("2026-11-08T09:00:00.000000+00:00"),  # over before the order
    }
    counted = exposure_item(orders={"SS": ["o-0"]})  # already counted for o-0, now o-1
    stub.add_response("query", *exposures_query([campaign, exposure_item(), counted]))
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": EXPOSURE_KEY,
                        "UpdateExpression": "SET converted = :t ADD orders :o",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(orders)",
                        "ExpressionAttributeValues": {":o": {"SS": ["o-1"]}, ":t": {"BOOL": True}},
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("PROGRAM#trigger#welcome", "PROGRAM"),
                        "UpdateExpression": "ADD #c0 :c0, #c1 :c1, #c2 :c2",
                        "ExpressionAttributeNames": {
                            "#c0": "conv_holdout_orders",
                            "#c1": "conv_holdout_revenue",
                            "#c2": "conv_holdout_customers",
                        },
                        "ExpressionAttributeValues": {":c0": N("1"), ":c1": N("1290.00"), ":c2": N("1")},
                    }
                },
            ]
        },
    )
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": EXPOSURE_KEY,
                        "UpdateExpression": "ADD orders :o",
                        "ConditionExpression": "attribute_exists(pk) AND NOT contains(orders, :id)",
                        "ExpressionAttributeValues": {":o": {"SS": ["o-1"]}, ":id": S("o-1")},
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("PROGRAM#trigger#welcome", "PROGRAM"),
                        "UpdateExpression": "ADD #c0 :c0, #c1 :c1",
                        "ExpressionAttributeNames": {
                            "#c0": "conv_holdout_orders",
                            "#c1": "conv_holdout_revenue",
                        },
                        "ExpressionAttributeValues": {":c0": N("1"), ":c1": N("1290.00")},
                    }
                },
            ]
        },
    )

    order = OrderConversion(
        profile_ids=("p1",), order_id="o-1", revenue=Decimal("1290.00"), at=AT + timedelta(days=1)
    )
    assert DynamoConversionRepository(stub.client, TABLE).record_order(order) == 2


def test_record_order_already_counted_or_lost_to_a_redelivery_writes_nothing_more(stub: Stubber) -> None:
    stub.add_response("query", *exposures_query([exposure_item()]))
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        modeled_fields={"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]},
    )
    stub.add_response(
        "get_item",
        {"Item": exposure_item(orders={"SS": ["o-1"]}, converted={"BOOL": True})},
        {"TableName": TABLE, "Key": EXPOSURE_KEY, "ConsistentRead": True},
    )

    order = OrderConversion(profile_ids=("p1",), order_id="o-1", revenue=Decimal(0), at=AT)
    assert DynamoConversionRepository(stub.client, TABLE).record_order(order) == 0


def test_counts_are_read_from_program_and_campaign_items(stub: Stubber) -> None:
    stub.add_response(
        "batch_get_item",
        {
            "Responses": {
                TABLE: [
                    {
                        **key("PROGRAM#trigger#welcome", "PROGRAM"),
                        "entity": S("program"),
                        "audience": N("10"),
                        "holdout": N("4"),
                        "sent": N("5"),
                        "skipped_no_content": N("1"),
                        "conv_recipient_customers": N("2"),
                        "conv_recipient_orders": N("3"),
                        "conv_recipient_revenue": N("3870.00"),
                        "conv_holdout_customers": N("1"),
                        "conv_holdout_orders": N("1"),
                        "conv_holdout_revenue": N("349"),
                    }
                ]
            }
        },
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [
                        key("PROGRAM#trigger#birthday", "PROGRAM"),
                        key("PROGRAM#trigger#welcome", "PROGRAM"),
                    ],
                    "ConsistentRead": True,
                }
            }
        },
    )
    stub.add_response(
        "query",
        {
            "Items": [
                {
                    **key("CAMPAIGN#dec-pets", "CAMPAIGN"),
                    "audience": N("3"),
                    "holdout": N("1"),
                    "sent": N("2"),
                }
            ]
        },
        {
            "TableName": TABLE,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": S("CAMPAIGNS")},
        },
    )

    repo = DynamoConversionRepository(stub.client, TABLE)
    assert repo.trigger_counts(["birthday", "welcome"]) == {
        "welcome": ProgramCounts(
            audience=10,
            holdout=4,
            sent=5,
            skipped={"no_content": 1},
            conversions=Conversions(
                recipients=GroupConversions(customers=2, orders=3, revenue=Decimal("3870.00")),
                holdout=GroupConversions(customers=1, orders=1, revenue=Decimal(349)),
            ),
        )
    }
    assert repo.campaign_counts() == [("dec-pets", ProgramCounts(audience=3, holdout=1, sent=2))]
