from asusual.identity.models import Identifier, IdentityPolicy
from asusual.identity.resolve import resolve

POLICY = IdentityPolicy()
U1, U2 = Identifier(kind="user_id", value="u1"), Identifier(kind="user_id", value="u2")
A1 = Identifier(kind="anonymous_id", value="a1")
E1 = Identifier(kind="email", value="anna@example.com")
P1 = Identifier(kind="phone", value="+79161234567")


def test_unknown_identifiers_make_a_new_profile_with_all_of_them():
    r = resolve([A1, U1], {}, {}, POLICY)
    assert r.profile_id is None and set(r.attach) == {U1, A1} and r.merge == []


def test_anonymous_visitor_who_logs_in_merges_into_the_user_profile():
    owners = {A1: "anon-profile", U1: "user-profile"}
    ids = {"anon-profile": frozenset({A1}), "user-profile": frozenset({U1, E1})}
    r = resolve([U1, A1], owners, ids, POLICY)
    assert r.profile_id == "user-profile" and r.merge == ["anon-profile"] and r.dropped == []


def test_store_purchase_by_phone_joins_the_online_account_owning_the_phone():
    r = resolve([P1], {P1: "online"}, {"online": frozenset({U1, P1})}, POLICY)
    assert r.profile_id == "online" and r.merge == [] and r.attach == []


def test_two_user_ids_never_merge_and_the_lower_priority_identifier_is_dropped():
    # a couple sharing one email: the email belongs to u2's profile, the event is u1's
    owners = {U1: "p1", E1: "p2"}
    ids = {"p1": frozenset({U1}), "p2": frozenset({U2, E1})}
    r = resolve([U1, E1], owners, ids, POLICY)
    assert r.profile_id == "p1" and r.merge == []
    assert [d.identifier for d in r.dropped] == [E1] and "user_id" in r.dropped[0].reason


def test_new_user_id_with_someone_elses_email_is_a_new_person_not_a_second_user_id():
    r = resolve([E1, U2], {E1: "p1"}, {"p1": frozenset({U1, E1})}, POLICY)
    assert r.profile_id is None and r.attach == [U2] and r.merge == []
    assert r.dropped[0].identifier == E1 and "user_id" in r.dropped[0].reason


def test_unknown_user_id_logging_in_on_a_known_anonymous_profile_takes_it_over():
    r = resolve([U1, A1], {A1: "anon"}, {"anon": frozenset({A1})}, POLICY)
    assert r.profile_id == "anon" and r.attach == [U1] and r.merge == []


def test_profiles_kept_apart_by_an_unmerge_are_not_merged_again():
    owners = {U1: "p1", A1: "p2"}
    ids = {"p1": frozenset({U1}), "p2": frozenset({A1})}
    r = resolve([U1, A1], owners, ids, POLICY, may_merge=lambda a, b: {a, b} != {"p1", "p2"})
    assert r.profile_id == "p1" and r.merge == [] and "unmerge" in r.dropped[0].reason


def test_highest_priority_identifier_picks_the_surviving_profile():
    owners = {A1: "anon", E1: "by-email"}
    ids = {"anon": frozenset({A1}), "by-email": frozenset({E1})}
    assert resolve([A1, E1], owners, ids, POLICY).profile_id == "by-email"


def test_limit_on_emails_is_configurable():
    policy = IdentityPolicy(limits={"user_id": 1, "email": 1})
    e2 = Identifier(kind="email", value="b@example.com")
    r = resolve([U1, e2], {U1: "p"}, {"p": frozenset({U1, E1})}, policy)
    assert r.attach == [] and r.dropped[0].identifier == e2
