"""The identifiers an event carries, normalized (email lowercased, phone to E.164 with the
source's country as region) and guarded (blocked values, shared devices)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Any

from asusual.identity.models import EXTERNAL_KIND, Identifier, IdentityPolicy, Kind
from asusual.intake.models import IntakeEvent

_ATOM = r"[^\s\x00-\x1f\x7f\"(),:;<>@\[\]\\.]+"
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
# an addr-spec as mail systems deliver it: dot-atom local part, a domain of at least two labels
# (letters of any script: internationalized addresses are addresses too)
EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


def normalize_email(value: object) -> str | None:
    """One normal form for an email address everywhere (identifier, trait, lookup, sending): the
    bare address, lowercased. ``"Anna" <Anna@Example.com>`` is ``anna@example.com``, where mail to
    it goes; several addresses, or anything that is not one, is None."""
    if not isinstance(value, str) or len(value) > 512:
        return None
    text = value.strip()
    if "<" in text or "(" in text:  # a display name or a comment around the address
        try:
            found = getaddresses([text])
        except (ValueError, IndexError, TypeError):
            return None
        if len(found) != 1:
            return None
        text = found[0][1]
    email = text.lower()
    if len(email) > 254 or len(email.partition("@")[0]) > 64 or not EMAIL.fullmatch(email):
        return None
    return email


def normalize_phone(value: object, region: str | None) -> str | None:
    """E.164 (+79161234567) for a valid number in any national or international format."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    import phonenumbers  # here, not at import: its metadata costs every cold start ~30 ms

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass
class Extracted:
    """Identifiers that may resolve and merge, and those kept only as a record."""

    linking: list[Identifier] = field(default_factory=list)
    shared: list[Identifier] = field(default_factory=list)  # shared devices: never link people
    blocked: list[Identifier] = field(default_factory=list)


def trait(event: IntakeEvent, *names: str) -> Any:
    """A trait from identify traits, else context.traits (both camelCase and snake_case)."""
    raw = event.context.get("traits")
    context_traits: dict[str, Any] = raw if isinstance(raw, dict) else {}
    for source in (event.traits, context_traits):
        for name in names:
            if name in source and source[name] not in (None, ""):
                return source[name]
    return None


def extract(event: IntakeEvent, policy: IdentityPolicy) -> Extracted:
    found: list[tuple[Identifier, bool]] = []  # (identifier, shared)
    shared_source = event.source.channel.value in policy.shared_device_channels

    def add(kind: str, value: object, shared: bool = False) -> None:
        if value is None or not str(value).strip():
            return
        text = str(value).strip()[:256]
        found.append((Identifier(kind=kind, value=text), shared))

    add(Kind.USER_ID, event.user_id)
    add(Kind.ANONYMOUS_ID, event.anonymous_id, shared=shared_source)
    if event.previous_id:  # alias: the id the person had before (Segment: usually the anonymousId)
        add(Kind.ANONYMOUS_ID, event.previous_id, shared=shared_source)
    email = normalize_email(trait(event, "email"))
    add(Kind.EMAIL, email)
    phone = normalize_phone(trait(event, "phone"), event.source.country)
    add(Kind.PHONE, phone)
    device = event.context.get("device")
    if isinstance(device, dict):
        device_id = device.get("id") or device.get("advertisingId")
        add(Kind.DEVICE_ID, device_id, shared=shared_source or str(device_id) in policy.shared_device_ids)
    external = event.context.get("externalIds")
    if isinstance(external, list):
        for item in external:
            if isinstance(item, dict) and isinstance(item.get("type"), str):
                kind = re.sub(r"[^a-z0-9_]", "_", item["type"].strip().lower())
                if EXTERNAL_KIND.match(kind) and kind not in {k.value for k in Kind}:
                    add(kind, item.get("id"))
                elif kind in (Kind.EMAIL, Kind.PHONE, Kind.USER_ID):
                    value = item.get("id")
                    add(
                        kind,
                        normalize_email(value)
                        if kind == Kind.EMAIL
                        else normalize_phone(value, event.source.country)
                        if kind == Kind.PHONE
                        else value,
                    )
    result = Extracted()
    seen: set[Identifier] = set()
    for identifier, shared in found:
        if identifier in seen:
            continue
        seen.add(identifier)
        if policy.blocked(identifier.value) or identifier.value in policy.shared_device_ids:
            (result.shared if identifier.value in policy.shared_device_ids else result.blocked).append(
                identifier
            )
        elif shared:
            result.shared.append(identifier)
        else:
            result.linking.append(identifier)
    return result


def lookup_identifier(kind: str, value: str, default_region: str | None) -> Identifier:
    """An identifier as a channel asks for it (GET /v1/profiles/{type}/{value}), normalized the
    way events are, so ``8 (916) 123-45-67`` finds ``+79161234567``."""
    from asusual.errors import BadRequest

    if kind == Kind.EMAIL:
        email = normalize_email(value)
        if email is None:
            raise BadRequest("value: not an email address")
        return Identifier(kind=kind, value=email)
    if kind == Kind.PHONE:
        phone = normalize_phone(value, default_region)
        if phone is None:
            raise BadRequest("value: not a valid phone number (use +<country code> ...)")
        return Identifier(kind=kind, value=phone)
    try:
        return Identifier(kind=kind, value=value.strip())
    except ValueError as exc:
        raise BadRequest(f"identifier_type: {kind!r} is not an identifier type") from exc
