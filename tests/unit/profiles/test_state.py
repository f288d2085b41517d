from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.identity.models import Identifier
from asusual.profiles.facts import contribution
from asusual.profiles.state import ProfileState
from asusual.profiles.view import TenureStage, TimezoneEvidence, view

from ..events import event

U = frozenset({Identifier(kind="user_id", value="u1")})


def fold(events):
    return reduce(lambda s, e: s.join(contribution(e, U)), events, ProfileState())


STREAM = [
    event(
        user_id="u1",
        minutes=0,
        traits={"firstName": "Анна", "email": "A@x.ru", "timezone": "Asia/Vladivostok"},
    ),
    event(
        user_id="u1", minutes=5, traits={"first_name": "Аня", "subscriptions": {"email": {"marketing": True}}}
    ),
    event(user_id="u1", minutes=3, traits={"firstName": "Anna", "lastName": "Petrova"}),
    event(
        "track",
        user_id="u1",
        minutes=10,
        source="store",
        event="Order Completed",
        properties={
            "order_id": "o1",
            "total": 1290,
            "currency": "rub",
            "products": [{"product_id": "purina", "quantity": 2, "price": 645}],
        },
    ),
    event(
        "track",
        user_id="u1",
        minutes=20,
        event="Order Completed",
        properties={
            "order_id": "o2",
            "products": [{"product_id": "purina", "quantity": 1, "price": 700}],
            "currency": "RUB",
        },
    ),
    event("page", user_id="u1", minutes=30, source="email", context={"locale": "ru-RU"}),
    event(
        user_id="u1",
        minutes=40,
        traits={"subscriptions": {"email": {"marketing": False}, "consent_version": "v2"}},
    ),
]


@settings(max_examples=200, deadline=None)
@given(st.permutations(STREAM), st.lists(st.sampled_from(STREAM), max_size=10))
def test_any_order_with_duplicates_yields_the_same_profile(order, duplicates):
    assert fold([*order, *duplicates]) == fold(STREAM)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(STREAM), min_size=1), st.lists(st.sampled_from(STREAM), min_size=1))
def test_merging_two_profiles_equals_one_profile_of_all_their_events(left, right):
    assert fold(left).join(fold(right)) == fold([*left, *right]) == fold(right).join(fold(left))


def test_traits_are_last_writer_wins_by_event_time_not_arrival():
    v = view("p", fold(reversed(STREAM)))
    assert v.first_name == "Аня" and v.last_name == "Petrova" and v.email == "a@x.ru"
    assert v.display_name == "Аня"


def test_orders_count_revenue_and_per_product_history():
    v = view("p", fold(STREAM))
    assert v.tenure.order_count == 2 and v.tenure.revenue == {"RUB": 1990.0}
    assert v.tenure.last_order.order_id == "o2" and v.tenure.stage is TenureStage.RETURNING
    [purina] = v.purchases
    assert (purina.product_id, purina.orders, purina.quantity, len(purina.dates)) == ("purina", 2, 3.0, 2)


def test_same_order_reported_twice_counts_once():
    again = event(
        "track",
        user_id="u1",
        minutes=11,
        message_id="retry-o1",
        event="Order Completed",
        properties={"order_id": "o1", "total": 1290, "currency": "RUB"},
    )
    assert view("p", fold([*STREAM, again])).tenure.order_count == 2


def test_first_and_last_seen_channels_and_subscriptions():
    v = view("p", fold(STREAM))
    assert v.tenure.first_seen == STREAM[0].timestamp and v.tenure.last_seen == STREAM[-1].timestamp
    assert v.channels == ["email", "store", "web"]
    assert v.subscriptions == {"email": {"marketing": False}}
    assert v.locale == "ru-RU"


def test_timezone_evidence_prefers_declared_then_context_then_source_then_phone():
    assert view("p", fold(STREAM)).timezone.evidence is TimezoneEvidence.TRAIT
    from_store = fold([event("track", source="store", user_id="u1", event="Visit")])
    assert view("p", from_store).timezone.model_dump() == {"zone": "Europe/Moscow", "evidence": "source"}
    with_context = fold([event("page", user_id="u1", context={"timezone": "Europe/Berlin"})])
    assert view("p", with_context).timezone.zone == "Europe/Berlin"
    by_phone = fold([event(user_id="u1", traits={"phone": "+61 412 345 678"})])  # AU: many zones
    assert view("p", by_phone).timezone is None
    by_de_phone = fold([event(user_id="u1", traits={"phone": "+49 30 901820"})])
    assert view("p", by_de_phone).timezone.model_dump() == {"zone": "Europe/Berlin", "evidence": "phone"}


def test_gender_only_as_declared_and_birthday_normalized():
    v = view("p", fold([event(user_id="u1", traits={"birthday": "1990-02-28T00:00:00Z"})]))
    assert v.gender is None and v.birthday == "1990-02-28"


def test_tenure_new_then_loyal():
    assert view("p", ProfileState()).tenure.stage is TenureStage.NEW
    orders = [
        event("track", user_id="u1", minutes=i, event="Order Completed", properties={"order_id": f"o{i}"})
        for i in range(5)
    ]
    assert view("p", fold(orders)).tenure.stage is TenureStage.LOYAL


def test_device_offset_narrows_the_countrys_zones_and_is_never_a_zone():
    from asusual.profiles.birthday import plausible_zones

    state = fold([event("page", anonymous_id="a1", context={"timezone": "GMT+0300"})])
    assert state.context_utc_offset.value == 180 and state.context_timezone is None
    assert view("p", state).timezone is None  # an offset is not a zone
    assert plausible_zones(state, "RU") == ("Europe/Kirov", "Europe/Moscow", "Europe/Volgograd")


def test_device_offset_no_zone_of_the_country_had_narrows_nothing():
    from asusual.localtime import country_zones
    from asusual.profiles.birthday import plausible_zones

    state = fold([event("page", anonymous_id="a1", context={"timezone": "GMT+0000"})])  # a headless browser
    assert plausible_zones(state, "RU") == country_zones("RU")


def test_device_offset_declared_zone_wins_over_it():
    from asusual.profiles.birthday import plausible_zones

    state = fold(
        [
            event("page", anonymous_id="a1", context={"timezone": "GMT+0300"}),
            event("identify", user_id="u1", minutes=1, traits={"timezone": "Asia/Vladivostok"}),
        ]
    )
    assert plausible_zones(state, "RU") == ("Asia/Vladivostok",)


def test_device_offset_latest_report_wins_across_a_join():
    early = fold([event("page", anonymous_id="a1", context={"timezone": "GMT+0300"})])
    late = fold([event("page", anonymous_id="a1", minutes=5, context={"timezone": "GMT+0700"})])
    assert early.join(late).context_utc_offset.value == late.join(early).context_utc_offset.value == 420
