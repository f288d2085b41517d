"""Identity resolution and profiles end to end on moto: intake → events queue → event_processor
→ DynamoDB → profiles API."""

import threading
from datetime import timedelta

import pytest

from asusual.errors import Conflict
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.intake.models import EventType, IntakeEvent, SourceContext
from asusual.profiles.processor import process_event
from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository

WINDOW = timedelta(days=30)


def msg(kind, n, **fields):
    return {"type": kind, "messageId": f"{kind}-{n}", "timestamp": f"2026-11-23T08:{n:02d}:00Z", **fields}


def test_anonymous_visitor_who_logs_in_is_one_profile_found_by_every_identifier(send, profile):
    send("web_local_key", msg("page", 1, anonymousId="anon-1", name="Cat food"))
    assert profile("anonymous_id", "anon-1")["tenure"]["stage"] == "new"
    send(
        "web_local_key",
        msg(
            "identify",
            2,
            userId="u-1",
            anonymousId="anon-1",
            traits={"email": "Anna@Example.com", "firstName": "Анна"},
        ),
    )
    by_anon, by_user, by_email = (
        profile("anonymous_id", "anon-1"),
        profile("user_id", "u-1"),
        profile("email", "anna@example.com"),
    )
    assert by_anon["profile_id"] == by_user["profile_id"] == by_email["profile_id"]
    assert by_user["display_name"] == "Анна" and by_user["email"] == "anna@example.com"


def test_anonymous_profile_merges_into_the_existing_user_profile_on_login(send, profile):
    send("web_local_key", msg("identify", 1, userId="u-1", traits={"email": "anna@example.com"}))
    send("app_local_key", msg("screen", 2, anonymousId="device-anon", name="Home"))
    before = {profile("user_id", "u-1")["profile_id"], profile("anonymous_id", "device-anon")["profile_id"]}
    assert len(before) == 2
    send("app_local_key", msg("identify", 3, userId="u-1", anonymousId="device-anon"))
    merged = profile("anonymous_id", "device-anon")
    assert merged["profile_id"] == profile("user_id", "u-1")["profile_id"]
    assert merged["channels"] == ["app", "web"] and merged["email"] == "anna@example.com"


def test_email_click_opening_the_site_is_recognized_without_retyping(send, profile):
    send(
        "email_local_key",
        msg("identify", 1, userId="u-7", traits={"email": "boris@example.com", "firstName": "Борис"}),
    )
    send(
        "web_local_key",
        msg(
            "page",
            2,
            anonymousId="anon-from-link",
            context={"traits": {"email": "Boris@Example.com"}},
            properties={"utm_source": "email"},
        ),
    )
    seen = profile("anonymous_id", "anon-from-link")
    assert seen["profile_id"] == profile("user_id", "u-7")["profile_id"]
    assert seen["display_name"] == "Борис"  # the site can greet and prefill


def test_store_purchase_by_phone_joins_the_online_account_and_the_terminal_links_nobody(send, profile):
    send(
        "web_local_key",
        msg("identify", 1, userId="u-1", traits={"phone": "+7 916 123-45-67", "firstName": "Анна"}),
    )
    send(
        "store_local_key",
        msg(
            "track",
            2,
            anonymousId="pos-terminal-3",
            event="Order Completed",
            context={"traits": {"phone": "8 (916) 123-45-67"}},
            properties={
                "order_id": "R-1",
                "total": 1290,
                "currency": "RUB",
                "products": [{"product_id": "purina-one", "quantity": 2, "price": 645}],
            },
        ),
        msg(
            "track",
            3,
            anonymousId="pos-terminal-3",
            event="Order Completed",
            context={"traits": {"phone": "8 (903) 000-11-22"}},
            properties={"order_id": "R-2", "total": 99, "currency": "RUB"},
        ),
    )
    anna = profile("user_id", "u-1")
    assert anna["tenure"]["order_count"] == 1 and anna["tenure"]["revenue"] == {"RUB": 1290.0}
    assert anna["channels"] == ["store", "web"] and anna["purchases"][0]["product_id"] == "purina-one"
    assert anna["phone"] == "+79161234567" and anna["timezone"]["evidence"] == "source"
    other = profile("phone", "+79030001122")
    assert other["profile_id"] != anna["profile_id"] and other["display_name"] is None
    assert profile("anonymous_id", "pos-terminal-3") is None  # a shared terminal is nobody


def test_two_user_ids_sharing_an_email_stay_two_people_and_nothing_leaks(send, profile):
    send(
        "web_local_key",
        msg(
            "identify",
            1,
            userId="wife",
            traits={"email": "family@example.com", "firstName": "Мария", "gender": "female"},
        ),
    )
    send(
        "web_local_key",
        msg("identify", 2, userId="husband", traits={"email": "family@example.com", "firstName": "Иван"}),
    )
    wife, husband = profile("user_id", "wife"), profile("user_id", "husband")
    assert wife["profile_id"] != husband["profile_id"]
    assert (wife["first_name"], wife["gender"]) == ("Мария", "female")
    assert husband["first_name"] == "Иван" and husband["gender"] is None
    assert profile("email", "family@example.com")["profile_id"] == wife["profile_id"]  # first claim keeps it


@pytest.mark.parametrize("junk", ["undefined", "null", "00000000", "anonymous"])
def test_blocked_anonymous_ids_never_merge_people(send, profile, junk):
    send(
        "web_local_key",
        msg("identify", 1, userId="a", anonymousId=junk),
        msg("identify", 2, userId="b", anonymousId=junk),
    )
    assert profile("user_id", "a")["profile_id"] != profile("user_id", "b")["profile_id"]
    assert profile("anonymous_id", junk) is None


def test_redelivered_and_duplicated_messages_change_nothing(send, profile, runtime):
    order = msg(
        "track",
        1,
        userId="u",
        event="Order Completed",
        properties={"order_id": "o-1", "total": 100, "currency": "RUB"},
    )
    send("web_local_key", order)
    before = profile("user_id", "u")
    send("web_local_key", order, order)  # the client retried, twice
    send("store_local_key", {**order, "messageId": "pos-copy", "userId": "u"})  # same order, another report
    after = profile("user_id", "u")
    assert after["tenure"]["order_count"] == 1 and after["tenure"]["revenue"] == {"RUB": 100.0}
    assert after["tenure"] == before["tenure"] and after["purchases"] == before["purchases"]
    assert after["traits"] == before["traits"]


def test_marker_is_written_once_with_a_30_day_ttl(send, runtime, clock):
    send("web_local_key", msg("identify", 1, userId="u-1", traits={"firstName": "Анна"}))
    item = clients.dynamodb().get_item(
        TableName="asusual-local", Key={"pk": {"S": "MSG#identify-1"}, "sk": {"S": "MSG"}}
    )
    assert int(item["Item"]["expires_at"]["N"]) == int((clock.now() + WINDOW).timestamp())


def test_page_and_product_view_keep_no_marker_and_their_redelivery_changes_nothing(send, runtime, profile):
    page = msg("page", 1, userId="u-1")
    view = msg("track", 2, userId="u-1", event="Product Viewed", properties={"product_id": "sku-1"})
    send("web_local_key", page, view)
    before = profile("user_id", "u-1")
    send("web_local_key", page, view)  # delivered again: applied again, nothing changes
    keys = [{"pk": {"S": f"MSG#{m}"}, "sk": {"S": "MSG"}} for m in ("page-1", "track-2")]
    found = [clients.dynamodb().get_item(TableName="asusual-local", Key=k).get("Item") for k in keys]
    assert found == [None, None]
    assert profile("user_id", "u-1") == before


def test_poison_message_reaches_the_dlq_and_others_are_applied(runtime, send, profile):
    clients.sqs().send_message(QueueUrl=runtime.queue_urls["events"], MessageBody='{"not": "an event"}')
    send("web_local_key", msg("identify", 1, userId="fine"), run=False)
    report = runtime.run()
    assert report["queues"]["events"]["dead_lettered"] == 1
    assert report["queues"]["events"]["delivered"] == 1 and profile("user_id", "fine") is not None


def test_unmerge_restores_both_profiles_and_keeps_them_apart(send, profile, profiles_api):
    send("web_local_key", msg("identify", 1, userId="u-1", traits={"firstName": "Анна"}))
    send(
        "web_local_key",
        msg("page", 2, anonymousId="shared-laptop", context={"traits": {"firstName": "Гость"}}),
    )
    send("web_local_key", msg("identify", 3, userId="u-1", anonymousId="shared-laptop"))
    anon_profile_before = "p_"  # the anonymous profile's id came from its first event
    merged = profile("user_id", "u-1")
    assert profile("anonymous_id", "shared-laptop")["profile_id"] == merged["profile_id"]
    # later events of the anonymous visitor land in the merged profile, in its part
    send("web_local_key", msg("page", 4, anonymousId="shared-laptop", context={"locale": "en-GB"}))
    from asusual.profiles.model import new_profile_id

    absorbed = new_profile_id("page-2")
    assert absorbed.startswith(anon_profile_before)
    wrong = profiles_api(
        "POST", f"/v1/profiles/{merged['profile_id']}/unmerge", {"merged_profile_id": absorbed}
    )
    assert wrong.status == 403  # a read key cannot unmerge
    answer = profiles_api(
        "POST",
        f"/v1/profiles/{merged['profile_id']}/unmerge",
        {"merged_profile_id": absorbed},
        key="admin_local_key",
    )
    assert answer.status == 200, answer.body
    assert answer.json() == {"profile_id": merged["profile_id"], "restored_profile_id": absorbed}
    user, anon = profile("user_id", "u-1"), profile("anonymous_id", "shared-laptop")
    assert user["profile_id"] != anon["profile_id"] == absorbed
    assert user["first_name"] == "Анна" and anon["first_name"] == "Гость"
    assert anon["locale"] == "en-GB" and user["locale"] is None  # post-merge event went back with its part
    # the same link again does not merge them back
    send("web_local_key", msg("identify", 5, userId="u-1", anonymousId="shared-laptop"))
    assert profile("anonymous_id", "shared-laptop")["profile_id"] == absorbed


def test_unmerge_of_profiles_never_merged_is_404(send, profile, profiles_api):
    send("web_local_key", msg("identify", 1, userId="u-1"))
    pid = profile("user_id", "u-1")["profile_id"]
    answer = profiles_api(
        "POST", f"/v1/profiles/{pid}/unmerge", {"merged_profile_id": "p_nope"}, key="admin_local_key"
    )
    assert answer.status == 404 and answer.json()["message"].startswith("merged_profile_id")


def test_read_api_contract_404_401_403_400(send, profiles_api, profile):
    send("web_local_key", msg("identify", 1, userId="u-1", traits={"phone": "8 916 123 45 67"}))
    assert profile("user_id", "nobody") is None
    assert profiles_api("GET", "/v1/profiles/user_id/u-1", key=None).status == 401
    assert profiles_api("GET", "/v1/profiles/user_id/u-1", key="web_local_key").status == 403
    assert profiles_api("GET", "/v1/profiles/user_id/u-1", key="admin_local_key").status == 200
    bad = profiles_api("GET", "/v1/profiles/email/not-an-email")
    assert bad.status == 400 and bad.json()["message"].startswith("value")
    assert profiles_api("GET", "/v1/profiles/Bad Type/x").status == 400
    assert profile("phone", "+7 (916) 123-45-67")["profile_id"] == profile("user_id", "u-1")["profile_id"]


def test_external_ids_find_the_profile(send, profile):
    send(
        "store_local_key",
        msg(
            "identify", 1, userId="u-9", context={"externalIds": [{"id": "CARD-001", "type": "loyalty_card"}]}
        ),
    )
    assert profile("loyalty_card", "CARD-001")["profile_id"] == profile("user_id", "u-9")["profile_id"]


class SlowRepo(DynamoProfileRepository):
    """Forces the collision the version check exists for, the same way every run: the events'
    first loads wait for each other (all read the same version before any commits), and the
    store is called one request at a time. moto checks a condition and writes without a lock, so
    two threads inside moto at once can both pass ``version = :expected`` and the later write
    erases the earlier (a lost update that is moto's, not the code's); the threaded proof on an
    engine whose conditions are atomic is tests/engine/test_concurrency.py."""

    def __init__(self, client, table_name, parties):
        super().__init__(client, table_name)
        self.store = threading.Lock()  # one request in moto at a time
        self.all_read = threading.Barrier(parties, timeout=30)
        self.first_reads = []  # the version each event read first
        self.commits = 0
        self.conflicts = 0

    def seen(self, message_id):
        with self.store:
            return super().seen(message_id)

    def mark_seen(self, message_id, expires_at):
        with self.store:
            return super().mark_seen(message_id, expires_at)

    def owners(self, identifiers):
        with self.store:
            return super().owners(identifiers)

    def suppressed(self, identifiers):
        with self.store:
            return super().suppressed(identifiers)

    def load(self, profile_ids):
        with self.store:
            loaded = super().load(profile_ids)
            first = len(self.first_reads) < self.all_read.parties
            if first:  # no event loads twice before all have loaded once: they wait below
                self.first_reads.append({p.profile_id: p.version for p in loaded.values()})
        if first:
            self.all_read.wait()  # outside the lock: the others still have to read
        return loaded

    def commit(self, change):
        with self.store:
            try:
                super().commit(change)
            except Conflict:
                self.conflicts += 1
                raise
            self.commits += 1


def test_concurrent_events_on_one_profile_never_lose_an_update(runtime, send, profile):
    send("web_local_key", msg("identify", 1, userId="u-1"))
    plain = DynamoProfileRepository(clients.dynamodb(), "asusual-local")
    [(_, pid)] = plain.owners([Identifier(kind="user_id", value="u-1")]).items()
    before = plain.load({pid})[pid].version
    repo = SlowRepo(clients.dynamodb(), "asusual-local", parties=8)
    source = SourceContext(source_id="web_local", channel="web", country="RU")
    now = runtime.clock.now()
    events = [
        IntakeEvent(
            message_id=f"t-{i}",
            type=EventType.IDENTIFY,
            source=source,
            user_id="u-1",
            traits={f"trait_{i}": i},
            timestamp=now,
            received_at=now,
        )
        for i in range(8)
    ]
    errors = []

    def apply(event):
        try:
            process_event(event, repo, IdentityPolicy(), now=now, dedupe_window=WINDOW)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(e,)) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert repo.first_reads == [{pid: before}] * 8  # all eight read the same version first
    traits = profile("user_id", "u-1")["traits"]
    assert {f"trait_{i}" for i in range(8)} <= set(traits)
    # the optimistic version check did its job: one commit per event, each on the version the one
    # before it wrote, and the seven that lost the first round found out and retried
    assert repo.commits == 8 and plain.load({pid})[pid].version == before + 8
    assert repo.conflicts >= 7


def test_profile_items_are_compressed_and_profiles_written_before_compression_still_load(send, profile):
    from asusual.store import clients
    from asusual.store.profiles import DynamoProfileRepository, data_json

    send("web_local_key", {"type": "identify", "userId": "u-z", "traits": {"email": "z@example.com"}})
    pid = profile("user_id", "u-z")["profile_id"]
    db = clients.dynamodb()
    key = {"pk": {"S": f"PROFILE#{pid}"}, "sk": {"S": "PROFILE"}}
    item = db.get_item(TableName="asusual-local", Key=key)["Item"]
    plain = data_json(item["data"]["B"]).decode()
    assert len(item["data"]["B"]) < len(plain) and '"z@example.com"' in plain
    db.put_item(TableName="asusual-local", Item={**item, "data": {"S": plain}})  # an item of before
    assert DynamoProfileRepository(db, "asusual-local").load({pid})[pid].profile_id == pid
    send("web_local_key", {"type": "track", "userId": "u-z", "event": "Product Viewed"})
    assert profile("user_id", "u-z")["email"] == "z@example.com"


def test_a_batch_whose_writes_exceed_one_transaction_applies_every_event_one_by_one(
    send, profile, monkeypatch
):
    # 60 identifies of one customer in one batch, each changing two consents: the group's writes
    # (the profile and 120 consent records) do not fit one transaction of 100 items
    from asusual.store.profiles import DynamoProfileRepository

    commits: list[int] = []
    commit = DynamoProfileRepository.commit

    def counted(self, change):
        commits.append(len(change.consents))
        return commit(self, change)

    monkeypatch.setattr(DynamoProfileRepository, "commit", counted)
    toggles = [
        msg(
            "identify",
            n,
            userId="u-many",
            traits={
                "email": "many@example.com",
                "subscriptions": {"email": {"marketing": n % 2 == 0}, "sms": {"marketing": n % 2 == 1}},
            },
        )
        for n in range(60)
    ]
    send("web_local_key", *toggles)
    from asusual.store import clients

    assert commits == [2] * 60  # the group's one write refused as too large: each event its own
    found = profile("user_id", "u-many")
    history = DynamoProfileRepository(clients.dynamodb(), "asusual-local").consent_history(
        found["profile_id"]
    )
    assert len(history) == 120
    assert found["subscriptions"] == {"email": {"marketing": False}, "sms": {"marketing": True}}  # n = 59
