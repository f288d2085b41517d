"""The reader's language among the content pack's locales (pure).

A page asking what to show its visitor names the language in its request (``locale``: the shop's
own language switch) or lets the browser's ``Accept-Language`` header speak (RFC 9110 §12.5.4:
language ranges in preference order, each with an optional quality ``q`` from 0 to 1, ``q=0``
meaning "not this one"). Only locales the pack has are chosen; a language it lacks is passed over
for the next one the reader accepts, and when none fits the caller keeps its own default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TAG = 35  # the longest BCP 47 tag in common use is far shorter; longer is noise
MAX_HEADER = 4096  # characters of Accept-Language read; browsers send well under 200
MAX_RANGES = 50
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")
_QUALITY = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def language_tag(value: str) -> str:
    """``value`` as a language tag (``en``, ``en-US``, ``ru_RU``), stripped; ValueError otherwise."""
    tag = value.strip()
    if len(tag) > MAX_TAG or not _TAG.match(tag):
        raise ValueError("a language tag such as en, en-US or ru")
    return tag


def pack_locale(tag: str, locales: Iterable[str]) -> str | None:
    """The pack locale for a language tag: the tag itself (``en_us``), else its language (``en``);
    None when the pack has neither."""
    known = {locale.lower() for locale in locales}
    text = tag.strip().replace("-", "_").lower()
    for candidate in (text, text.split("_")[0]):
        if candidate and candidate in known:
            return candidate
    return None


def accepted_languages(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first: by quality, then in
    the order given; ``q=0``, ``*`` and malformed ranges are left out."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QUALITY.match(value) else -1.0
        if quality <= 0 or tag == "*" or len(tag) > MAX_TAG or not _TAG.match(tag):
            continue
        ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str | None, locales: Iterable[str]) -> str | None:
    """The pack locale the reader prefers most among those the pack has (None: none fits)."""
    available = tuple(locales)
    for tag in accepted_languages(header):
        if (found := pack_locale(tag, available)) is not None:
            return found
    return None


def reader_locale(requested: str | None, accept_language: str | None, locales: Iterable[str]) -> str | None:
    """The requested locale when the pack has it, else the best of Accept-Language, else None (the
    caller's own default: the customer's declared locale, or the pack's)."""
    available = tuple(locales)
    if requested and (found := pack_locale(requested, available)) is not None:
        return found
    return negotiate(accept_language, available)
