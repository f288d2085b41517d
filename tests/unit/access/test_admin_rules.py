"""The admin API's rules for sources and keys, as pure functions (asusual.access.service), and the
views it reads and answers (asusual.access.views)."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from asusual.access import service
from asusual.access.keys import hash_key
from asusual.access.models import ApiKey, Channel, KeyScope, Source, SourceFields
from asusual.access.views import MAX_OVERLAP_HOURS, KeyRotated, SourceCreated, SourceRequest
from asusual.errors import BadRequest

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SOURCE = {"source_id": "pos-msk", "name": "POS Moscow", "channel": "store"}


class FakeRepo:
    """The part of an AccessRepository these rules use."""

    def __init__(self, sources=(), keys=()):
        self.sources, self.keys = list(sources), list(keys)

    def list_sources(self):
        return self.sources

    def list_keys(self):
        return self.keys

    def create_source(self, source, key):
        self.sources.append(source)
        self.keys.append(key)


def key(raw, created_at=NOW):
    return ApiKey(key_hash=hash_key(raw), scope=KeyScope.READ, created_at=created_at, label=raw)


# -- rotation overlap ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        (2.0, None, 2.0),
        (None, 3.5, 3.5),
        (1.0, 1.0, 1.0),
        (None, None, 24),
        (0.0, None, 0.0),
        (None, 0.0, 0.0),
    ],
)
def test_rotation_overlap_given_once_or_not_at_all_is_that_or_the_default(query, body, expected):
    assert service.rotation_overlap(query, body, default_hours=24) == expected


def test_rotation_overlap_different_in_query_and_body_is_400_naming_overlap_hours():
    with pytest.raises(BadRequest, match=r"^overlap_hours: given differently") as raised:
        service.rotation_overlap(1.0, 2.0, default_hours=24)
    assert raised.value.code == "invalid_request"


@pytest.mark.parametrize(("query", "body"), [(-1.0, None), (None, -0.5), (MAX_OVERLAP_HOURS + 1, None)])
def test_rotation_overlap_out_of_bounds_is_400_naming_overlap_hours(query, body):
    with pytest.raises(BadRequest, match=r"^overlap_hours: from 0 to 720 hours"):
        service.rotation_overlap(query, body, default_hours=24)


def test_rotation_overlap_at_the_maximum_is_allowed():
    assert service.rotation_overlap(None, MAX_OVERLAP_HOURS, default_hours=24) == MAX_OVERLAP_HOURS


def test_rotation_overlap_default_beyond_the_maximum_is_the_operators_choice_and_kept():
    assert service.rotation_overlap(None, None, default_hours=1000) == 1000


# -- key ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0123456789ab", "0123456789ab"), ("0123456789AB", "0123456789ab"), ("F" * 64, "f" * 64)],
)
def test_parse_key_id_listed_id_or_whole_hash_in_any_case_is_lowercased(given, expected):
    assert service.parse_key_id(given) == expected


@pytest.mark.parametrize(
    "given", ["", "not-a-key-id", "0123456789a", "0123456789abc", "g" * 12, "0" * 63, "0" * 65]
)
def test_parse_key_id_malformed_is_400_naming_key_id(given):
    with pytest.raises(BadRequest, match=r"^key_id: the 12 hex characters") as raised:
        service.parse_key_id(given)
    assert raised.value.code == "invalid_request"


def test_parse_key_id_of_a_stored_key_in_upper_case_is_its_key_id():
    stored = key("asu_r_x")
    assert service.parse_key_id(stored.key_id.upper()) == stored.key_id


# -- listings -----------------------------------------------------------------------------------


def test_list_sources_any_order_is_by_source_id():
    sources = [Source(**{**SOURCE, "source_id": sid}, created_at=NOW) for sid in ("web", "app", "pos")]
    assert [s.source_id for s in service.list_sources(FakeRepo(sources=sources))] == ["app", "pos", "web"]


def test_list_keys_any_order_is_oldest_first_then_by_key_id():
    later = key("later", NOW + timedelta(hours=1))
    same_time = sorted([key("a"), key("b"), key("c")], key=lambda k: k.key_id, reverse=True)
    listed = service.list_keys(FakeRepo(keys=[later, *same_time]))
    assert listed == [*reversed(same_time), later]


# -- views --------------------------------------------------------------------------------------


def test_source_request_fields_are_those_of_a_source_but_status_and_created_at():
    assert issubclass(SourceRequest, SourceFields) and issubclass(Source, SourceFields)
    assert list(SourceRequest.model_fields) == [
        f for f in Source.model_fields if f not in ("status", "created_at")
    ]
    for name, field in SourceRequest.model_fields.items():
        assert field.description == Source.model_fields[name].description, name


def test_source_request_bad_source_id_is_refused_by_the_documented_pattern():
    assert (
        SourceRequest.model_json_schema()["properties"]["source_id"]["pattern"]
        == "^[a-z0-9][a-z0-9_-]{0,63}$"
    )
    with pytest.raises(ValidationError, match="String should match pattern"):
        SourceRequest(**{**SOURCE, "source_id": "POS Moscow"})


@pytest.mark.parametrize("extra", [{"status": "revoked"}, {"created_at": NOW.isoformat()}, {"owner": "x"}])
def test_source_request_fields_a_source_sets_itself_are_refused(extra):
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SourceRequest(**SOURCE, **extra)


def test_source_schema_has_no_pattern_and_keeps_its_checks():
    schema = Source.model_json_schema()
    assert "pattern" not in schema["properties"]["source_id"]
    assert schema["required"] == ["source_id", "name", "channel", "created_at"]
    assert Source(**SOURCE, country=" de ", created_at=NOW).country == "DE"
    for field, value in [("source_id", "POS Moscow"), ("timezone", "Mars/Olympus"), ("country", "Russia")]:
        with pytest.raises(ValidationError, match=field):
            Source(**{**SOURCE, field: value}, created_at=NOW)


def test_source_request_as_create_source_arguments_makes_the_same_source():
    request = SourceRequest(**SOURCE, timezone="Europe/Moscow", country="ru")
    issued = service.create_source(FakeRepo(), now=NOW, **request.model_dump())
    assert issued.record.source == Source(**SOURCE, timezone="Europe/Moscow", country="RU", created_at=NOW)


def test_source_created_of_an_issued_write_key_carries_key_and_source():
    issued = service.create_source(FakeRepo(), now=NOW, source_id="web", name="Web", channel=Channel.WEB)
    created = SourceCreated.of(issued, source=issued.record.source)
    assert created.key == issued.key and created.key_id == issued.record.key_id
    assert created.source_id == "web" and created.source == issued.record.source
    assert list(created.model_dump()) == [
        "key", "key_id", "scope", "source_id", "label", "created_at", "source",
    ]  # fmt: skip


def test_key_rotated_of_an_issued_key_carries_when_old_keys_expire():
    issued = service.create_source(FakeRepo(), now=NOW, source_id="web", name="Web", channel=Channel.WEB)
    rotated = KeyRotated.of(issued, old_keys_expire_at=NOW + timedelta(hours=2))
    assert rotated.old_keys_expire_at == NOW + timedelta(hours=2) and rotated.key == issued.key
