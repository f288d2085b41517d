from datetime import UTC, datetime, timedelta

import pytest

from asusual.access.models import Channel, Source, Status
from asusual.access.origins import PublicOrigins, check_origin, origin_allowed, origin_pattern
from asusual.errors import Forbidden, TransientError

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def source(source_id="shop_pages", *, public=True, origins=("https://shop.example",), status=Status.ACTIVE):
    return Source(
        source_id=source_id,
        name="Shop pages",
        channel=Channel.WEB,
        public=public,
        allowed_origins=list(origins) if public else [],
        status=status,
        created_at=NOW,
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://localhost:80", "http://localhost"),
        ("http://localhost:*", "http://localhost:*"),
        ("https://*.shop.example", "https://*.shop.example"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_origin_pattern_valid_forms_are_stored_lowercase_without_default_port(given, stored):
    assert origin_pattern(given) == stored


@pytest.mark.parametrize(
    "given",
    ["*", "https://shop.example/", "https://shop.example/path", "shop.example", "ftp://shop.example",
     "https://shop.example:0", "https://shop.example:70000", "https://*", "null", "https://a.*.example",
     "https://sh op.example", "https://shop.example\u0000", "x" * 400],
)  # fmt: skip
def test_origin_pattern_other_text_is_refused_naming_the_pattern(given):
    with pytest.raises(ValueError, match=r"not an origin pattern|port out of range"):
        origin_pattern(given)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example", True),
        ("https://shop.example:443", True),
        ("https://SHOP.example", True),
        ("http://shop.example", False),  # another scheme
        ("https://shop.example:8443", False),
        ("https://www.shop.example", True),  # *.shop.example
        ("https://a.b.shop.example", True),
        ("https://evilshop.example", False),
        ("https://shop.example.evil.example", False),
        ("http://localhost:5173", True),
        ("http://localhost", True),
        ("http://localhost.evil.example:5173", False),
        ("null", False),  # sandboxed frames, file: pages
        ("https://*.shop.example", False),  # a pattern is not an origin
        ("http://localhost:*", False),
        ("", False),
        ("https://shop.example/path", False),
        ("https://" + "a" * 400 + ".example", False),
    ],
)
def test_origin_allowed_matches_scheme_host_and_port_exactly_or_by_wildcard(origin, allowed):
    patterns = ["https://shop.example", "https://*.shop.example", "http://localhost:*"]
    assert origin_allowed(origin, patterns) is allowed


def test_source_allowed_origins_only_for_a_public_source():
    with pytest.raises(ValueError, match=r"allowed_origins: only a public source"):
        Source(source_id="web", name="Web", channel=Channel.WEB, allowed_origins=["https://shop.example"],
               created_at=NOW)  # fmt: skip


def test_source_allowed_origins_are_normalised_sorted_and_deduplicated():
    made = source(origins=["https://shop.example:443", "HTTPS://shop.example", "http://localhost:*"])
    assert made.allowed_origins == ["http://localhost:*", "https://shop.example"]


def test_check_origin_without_origin_passes_for_any_source():
    check_origin(None, source(public=False))
    check_origin(None, source())


def test_check_origin_server_side_source_from_a_browser_is_forbidden_naming_origin():
    with pytest.raises(Forbidden, match=r"^Origin: source 'web' is server-side") as refused:
        check_origin("https://shop.example", source("web", public=False))
    assert refused.value.code == "origin_not_allowed"


def test_check_origin_public_source_other_origin_is_forbidden():
    with pytest.raises(Forbidden, match=r"^Origin: 'https://evil\.example' is not an allowed origin"):
        check_origin("https://evil.example", source())


def test_check_origin_public_source_own_origin_passes():
    check_origin("https://shop.example", source())


class Sources:
    def __init__(self, *sources):
        self.sources = list(sources)
        self.reads = 0
        self.fail = False

    def __call__(self):
        self.reads += 1
        if self.fail:
            raise TransientError("dynamodb: unavailable")
        return self.sources


def test_public_origins_union_of_active_public_sources_only():
    sources = Sources(
        source("a", origins=["https://a.example"]),
        source("b", origins=["https://b.example"], status=Status.REVOKED),
        source("c", public=False),
    )
    origins = PublicOrigins(sources, ttl=timedelta(seconds=60), clock_now=lambda: NOW)
    assert origins.patterns() == ("https://a.example",)
    assert origins.allows("https://a.example") is True
    assert origins.allows("https://b.example") is False
    assert origins.allows(None) is False


def test_public_origins_read_once_per_ttl_then_again():
    sources = Sources(source())
    ticks = iter([0.0, 30.0, 61.0])
    origins = PublicOrigins(
        sources, ttl=timedelta(seconds=60), clock_now=lambda: NOW, monotonic=lambda: next(ticks)
    )
    origins.patterns()
    origins.patterns()
    assert sources.reads == 1
    origins.patterns()
    assert sources.reads == 2


def test_public_origins_store_unreachable_keeps_the_last_patterns_read():
    sources = Sources(source())
    ticks = iter([0.0, 61.0])
    origins = PublicOrigins(
        sources, ttl=timedelta(seconds=60), clock_now=lambda: NOW, monotonic=lambda: next(ticks)
    )
    assert origins.patterns() == ("https://shop.example",)
    sources.fail = True
    assert origins.patterns() == ("https://shop.example",)


def test_public_origins_store_unreachable_at_first_read_allows_nothing():
    sources = Sources(source())
    sources.fail = True
    assert PublicOrigins(sources, ttl=timedelta(seconds=60), clock_now=lambda: NOW).patterns() == ()
