import pytest

from asusual.identity.extract import extract, normalize_email, normalize_phone
from asusual.identity.models import Identifier, IdentityPolicy

from ..events import event

POLICY = IdentityPolicy()


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("+7 916 123 45 67", None, "+79161234567"),
        ("9161234567", "RU", "+79161234567"),
        ("0412 345 678", "AU", "+61412345678"),
        (79161234567, "RU", "+79161234567"),
        ("12", "RU", None),
        ("not a phone", "RU", None),
        ("", "RU", None),
    ],
)
def test_normalize_phone_any_national_format_to_e164(raw, region, e164):
    assert normalize_phone(raw, region) == e164


def test_normalize_email_lowercases_and_rejects_non_addresses():
    assert normalize_email("  Anna.Petrova@Example.COM ") == "anna.petrova@example.com"
    assert normalize_email("anna@") is None and normalize_email(5) is None


def kinds(identifiers):
    return {str(i) for i in identifiers}


def test_extract_reads_every_identifier_kind():
    result = extract(
        event(
            user_id="u1",
            anonymous_id="a1",
            traits={"email": "Anna@Example.com"},
            context={
                "traits": {"phone": "8 916 123-45-67"},
                "device": {"id": "dev-9"},
                "externalIds": [{"id": "CARD-77", "type": "Loyalty Card", "collection": "users"}],
            },
        ),
        POLICY,
    )
    assert kinds(result.linking) == {
        "user_id:u1",
        "anonymous_id:a1",
        "email:anna@example.com",
        "phone:+79161234567",
        "device_id:dev-9",
        "loyalty_card:CARD-77",
    }


@pytest.mark.parametrize("value", ["", "null", "undefined", "anonymous", "0", "00000000", "NULL", "aaaaaaaa"])
def test_blocked_values_never_link(value):
    result = extract(event(user_id="u1", anonymous_id=value if value else None), POLICY)
    assert kinds(result.linking) == {"user_id:u1"}
    if value:
        assert kinds(result.blocked) == {f"anonymous_id:{value}"}


def test_store_terminal_anonymous_and_device_ids_are_shared_and_never_link():
    result = extract(
        event(
            "track",
            source="store",
            anonymous_id="pos-terminal-3",
            event="Order Completed",
            context={"device": {"id": "kiosk-1"}, "traits": {"phone": "8 (916) 123-45-67"}},
        ),
        POLICY,
    )
    assert kinds(result.linking) == {"phone:+79161234567"}
    assert kinds(result.shared) == {"anonymous_id:pos-terminal-3", "device_id:kiosk-1"}


def test_configured_shared_device_id_never_links_even_on_the_web():
    policy = IdentityPolicy(shared_device_ids=frozenset({"family-tablet"}))
    result = extract(event(user_id="u", context={"device": {"id": "family-tablet"}}), policy)
    assert kinds(result.linking) == {"user_id:u"} and kinds(result.shared) == {"device_id:family-tablet"}


def test_alias_previous_id_links_as_anonymous_id():
    result = extract(event("alias", user_id="u1", previous_id="anon-5"), POLICY)
    assert kinds(result.linking) == {"user_id:u1", "anonymous_id:anon-5"}


def test_identifier_kind_must_be_a_slug():
    with pytest.raises(ValueError, match="identifier type"):
        Identifier(kind="Loyalty Card", value="x")
