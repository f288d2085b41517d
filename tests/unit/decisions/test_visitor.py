"""The rules of a page's decision for its visitor: what it may ask, and whom it is told it sees."""

from datetime import UTC, datetime

import pytest

from asusual.decisions.visitor import Recognition, VisitorPlacement, recognize, visitor_request
from asusual.errors import BadRequest
from asusual.identity.models import Identifier
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState

NOW = datetime(2026, 11, 23, tzinfo=UTC)
ANON = Identifier(kind="anonymous_id", value="anon-1")
USER = Identifier(kind="user_id", value="u-1")


def test_visitor_request_reads_anonymous_id_placement_and_locale():
    request = visitor_request({"anonymous_id": " anon-1 ", "placement": "site_banner", "locale": "en-US"})
    assert (request.anonymous_id, request.placement, request.locale) == (
        "anon-1",
        VisitorPlacement.SITE_BANNER,
        "en-US",
    )


@pytest.mark.parametrize("field", ["email", "phone", "user_id", "identifier", "anonymousId"])
def test_visitor_request_any_other_field_is_refused_by_name(field):
    with pytest.raises(BadRequest) as err:
        visitor_request({"anonymous_id": "anon-1", "placement": "site_greeting", field: "x"})
    assert err.value.message.startswith(
        f"{field}: not accepted; a page names its visitor only by anonymous_id"
    )
    assert err.value.code == "invalid_request"


def profile(*identifiers, ties=None):
    state = ProfileState(identifiers=frozenset(identifiers), anonymous_ties=ties or {})
    return Profile(profile_id="p_1", created_at=NOW, parts={"p_1": state})


def test_recognize_known_only_with_a_tie():
    assert recognize(None, "anon-1") is Recognition.UNKNOWN
    assert recognize(profile(ANON), "anon-1") is Recognition.ANONYMOUS
    assert recognize(profile(ANON, USER), "anon-1") is Recognition.UNTIED
    assert recognize(profile(ANON, USER, ties={"anon-1": frozenset({"user_id#u-1"})}), "anon-1") is (
        Recognition.KNOWN
    )
    assert recognize(profile(ANON, USER, ties={"anon-1": frozenset({"user_id#u-2"})}), "anon-1") is (
        Recognition.UNTIED
    )
