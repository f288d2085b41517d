"""The tie between a browser's anonymous id and a customer: only a vouched event makes one, and only
a tie whose identifiers the profile still holds lets a page greet the customer."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.identity.models import Identifier, IdentityPolicy
from asusual.profiles.facts import anonymous_ties
from asusual.profiles.model import Profile
from asusual.profiles.processor import live_profiles, process_event, unmerge
from asusual.profiles.state import MAX_TIED_ANONYMOUS_IDS, MAX_TIES_PER_ANONYMOUS_ID, ProfileState

from ..events import event
from .test_processor import MemoryRepo

NOW = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = timedelta(days=30)
ANON = Identifier(kind="anonymous_id", value="anon-1")
USER = Identifier(kind="user_id", value="u-1")
EMAIL = Identifier(kind="email", value="anna@example.com")
DEVICE = Identifier(kind="device_id", value="d-1")


def test_anonymous_ties_of_a_server_side_event_name_its_first_identifying_identifier():
    server = event(user_id="u-1", anonymous_id="anon-1")
    assert anonymous_ties(server, [ANON, EMAIL, USER, DEVICE]) == {"anon-1": frozenset({"user_id#u-1"})}
    assert anonymous_ties(server, [ANON, EMAIL]) == {"anon-1": frozenset({"email#anna@example.com"})}


def test_anonymous_ties_of_a_public_event_only_when_its_user_id_is_signed():
    unsigned = event(source="browser", user_id="u-1", anonymous_id="anon-1")
    assert anonymous_ties(unsigned, [ANON, USER]) == {}
    signed = unsigned.model_copy(update={"identity_signed": True})
    assert anonymous_ties(signed, [ANON, USER]) == {"anon-1": frozenset({"user_id#u-1"})}


def test_anonymous_ties_need_a_person_and_a_kept_anonymous_id():
    server = event(user_id="u-1", anonymous_id="anon-1")
    assert anonymous_ties(server, [ANON, DEVICE]) == {}  # nobody named
    assert anonymous_ties(server, [USER]) == {}  # the anonymous id was dropped


def profile_of(*parts: ProfileState) -> Profile:
    return Profile(
        profile_id="p_1", created_at=NOW, parts={f"p_{n}": part for n, part in enumerate(parts, start=1)}
    )


def test_profile_ties_only_when_it_holds_both_the_anonymous_id_and_the_tied_identifier():
    tie = {"anon-1": frozenset({"user_id#u-1"})}
    assert profile_of(ProfileState(identifiers=frozenset({ANON, USER}), anonymous_ties=tie)).ties("anon-1")
    assert not profile_of(ProfileState(identifiers=frozenset({ANON, USER}))).ties("anon-1")  # no tie
    assert not profile_of(ProfileState(identifiers=frozenset({USER}), anonymous_ties=tie)).ties("anon-1")
    assert not profile_of(ProfileState(identifiers=frozenset({ANON, EMAIL}), anonymous_ties=tie)).ties(
        "anon-1"
    )
    across_parts = profile_of(
        ProfileState(identifiers=frozenset({USER}), anonymous_ties=tie),
        ProfileState(identifiers=frozenset({ANON})),
    )
    assert across_parts.ties("anon-1")  # a merge keeps what each part knew


def test_profile_names_a_person_by_an_identifying_identifier_only():
    assert not profile_of(ProfileState(identifiers=frozenset({ANON, DEVICE}))).names_a_person()
    assert profile_of(ProfileState(identifiers=frozenset({ANON, EMAIL}))).names_a_person()
    loyalty = Identifier(kind="loyalty_card", value="L-1")
    assert profile_of(ProfileState(identifiers=frozenset({loyalty}))).names_a_person()


TIES = st.dictionaries(
    st.text("abc", min_size=1, max_size=3),
    st.frozensets(st.text("xyz", min_size=1, max_size=2), max_size=12),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(TIES, TIES, TIES)
def test_ties_join_is_commutative_associative_idempotent_and_bounded(a, b, c):
    x, y, z = (ProfileState(anonymous_ties=t) for t in (a, b, c))
    assert x.join(y).anonymous_ties == y.join(x).anonymous_ties
    assert x.join(y).join(z).anonymous_ties == x.join(y.join(z)).anonymous_ties
    assert x.join(x).join(y).anonymous_ties == x.join(y).anonymous_ties
    joined = x.join(y).join(z).anonymous_ties
    assert len(joined) <= MAX_TIED_ANONYMOUS_IDS
    assert all(len(v) <= MAX_TIES_PER_ANONYMOUS_ID for v in joined.values())


def test_profile_without_ties_is_stored_as_before():
    assert "anonymous_ties" not in ProfileState().model_dump_json()


def owner(repo, kind, value):
    [profile] = live_profiles(repo, {repo.claims[Identifier(kind=kind, value=value)]}).values()
    return profile


def tied(repo, anonymous_id):
    return owner(repo, "anonymous_id", anonymous_id).ties(anonymous_id)


def process(repo, *events):
    for e in events:
        process_event(e, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)


def test_unsigned_claim_merges_the_attackers_browser_but_does_not_tie_it():
    repo = MemoryRepo()
    process(
        repo,
        event(message_id="e1", user_id="u-vera", anonymous_id="anon-vera", traits={"firstName": "Людмила"}),
        event("page", source="browser", message_id="e2", anonymous_id="anon-mallory", name="Home"),
        event(source="browser", message_id="e3", user_id="u-vera", anonymous_id="anon-mallory"),
    )
    vera = owner(repo, "user_id", "u-vera").profile_id
    assert owner(repo, "anonymous_id", "anon-mallory").profile_id == vera  # merged into hers
    assert tied(repo, "anon-vera") is True
    assert tied(repo, "anon-mallory") is False


def test_signed_identify_ties_a_browser_that_was_anonymous_before():
    repo = MemoryRepo()
    signed = event(source="browser", message_id="e3", user_id="u-anna", anonymous_id="anon-anna")
    process(
        repo,
        event(message_id="e1", user_id="u-anna", traits={"firstName": "Анна"}),
        event("page", source="browser", message_id="e2", anonymous_id="anon-anna", name="Home"),
        signed.model_copy(update={"identity_signed": True}),
    )
    assert tied(repo, "anon-anna") is True


def test_unmerge_takes_a_tie_away_with_the_anonymous_id_it_names():
    repo = MemoryRepo()
    process(
        repo,
        event(message_id="e1", user_id="u-anna", traits={"firstName": "Анна"}),
        event("page", source="browser", message_id="e2", anonymous_id="anon-2", name="Home"),
        event(message_id="e3", user_id="u-anna", anonymous_id="anon-2"),  # server-side: merges and ties
    )
    survivor = owner(repo, "user_id", "u-anna").profile_id
    absorbed = next(p for p in repo.profiles.values() if p.merged_into == survivor).profile_id
    assert tied(repo, "anon-2") is True
    unmerge(repo, survivor, absorbed, now=NOW)
    assert owner(repo, "anonymous_id", "anon-2").profile_id == absorbed
    assert tied(repo, "anon-2") is False  # the tie stayed with u-anna's part, the browser went back
