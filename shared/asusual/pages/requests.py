"""What a browser asks for, read defensively: whether it wants HTML (``Accept``), which of our
languages it reads (``Accept-Language``, by asusual.content.language), and the fields of a posted
form. Nothing here raises on odd input except :func:`form_fields`, whose BadForm names the field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from asusual.content.language import negotiate, pack_locale
from asusual.errors import BadRequest
from asusual.pages.strings import LOCALES, RUSSIAN_COUNTRIES

MAX_HEADER = 2048  # a longer Accept header is read up to here
MAX_ITEMS = 40
MAX_FORM_BYTES = 8192  # a preference form is a few hundred bytes
MAX_FORM_FIELDS = 40
_Q = re.compile(r"^\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?)\s*$", re.IGNORECASE)
HTML_TYPES = ("text/html", "application/xhtml+xml")


class BadForm(BadRequest):
    """A posted form that cannot be used; ``field`` and ``problem`` (a key of the pages' strings:
    problem_required, problem_value, problem_unknown, problem_fixed, problem_form) say why."""

    code = "invalid_form"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem.removeprefix('problem_')}", code=self.code)
        self.field = field
        self.problem = problem


def _weighted(header: str | None) -> list[tuple[str, float]]:
    """``header``'s items with their quality (1 when absent or unreadable as a weight: an item
    with a malformed ``q`` is dropped), lowercased, in order."""
    if not isinstance(header, str):
        return []
    items = []
    for raw in header[:MAX_HEADER].split(",")[:MAX_ITEMS]:
        value, *params = raw.split(";")
        value = value.strip().lower()
        if not value:
            continue
        quality = 1.0
        for param in params:
            if param.strip().lower().startswith("q"):
                match = _Q.match(param)
                if match is None:
                    quality = -1.0
                    break
                quality = min(float(match.group(1)), 1.0)
        if quality >= 0:
            items.append((value, quality))
    return items


def _quality(items: list[tuple[str, float]], media_type: str) -> float:
    """The quality ``items`` give ``media_type``: its most specific match (RFC 9110 12.5.1)."""
    major = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for value, quality in items:
        specificity = (
            2 if value == media_type else 1 if value == f"{major}/*" else 0 if value == "*/*" else -1
        )
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def wants_html(accept: str | None) -> bool:
    """True when ``Accept`` prefers HTML to JSON, as a browser's does (``text/html,...,*/*;q=0.8``);
    no header, ``*/*`` (curl), ``application/json`` or anything unreadable: JSON."""
    items = _weighted(accept)
    html = max(_quality(items, t) for t in HTML_TYPES)
    return html > 0 and html > _quality(items, "application/json")


def default_locale(configured: str | None, country: str | None) -> str:
    """The pages' language when nothing else tells: the configured one, else Russian for the
    countries that read it, else English."""
    if configured in LOCALES:
        return configured
    return "ru" if (country or "").upper() in RUSSIAN_COUNTRIES else "en"


def browser_locale(accept_language: str | None, fallback: str) -> str:
    """The locale of ours the browser ranks highest (``Accept-Language``, read as the decide API
    reads it: asusual.content.language), else ``fallback``."""
    return negotiate(accept_language, LOCALES) or fallback


def first_locale(candidates: Iterable[object], fallback: str) -> str:
    """The first of ``candidates`` (locale tags: "ru-RU", "en_GB") that is one of ours, else
    ``fallback``."""
    for candidate in candidates:
        if isinstance(candidate, str) and (found := pack_locale(candidate, LOCALES)) is not None:
            return found
    return fallback


def form_fields(body: str | bytes | None) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body → field → its values (in order). BadForm
    (field ``form``) when it is too long, not UTF-8, or not form data."""
    raw = body or ""
    if isinstance(raw, bytes):
        if len(raw) > MAX_FORM_BYTES:
            raise BadForm("form", "problem_form")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadForm("form", "problem_form") from exc
    if len(raw) > MAX_FORM_BYTES:
        raise BadForm("form", "problem_form")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadForm("form", "problem_form") from exc
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields
