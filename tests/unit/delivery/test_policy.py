"""Dispatcher rules (pure): channel choice, consent, quiet hours and caps in local time."""

from datetime import UTC, date, datetime, time, timedelta

from asusual.delivery.models import DeliveryChannel
from asusual.delivery.policy import (
    DeliveryPolicy,
    addresses,
    cap_state,
    choose_channel,
    consent_for,
    in_window,
    next_allowed,
    next_window,
)
from asusual.profiles.state import ProfileState, Stamped
from asusual.triggers.models import (
    BirthdayFacts,
    OrderStatus,
    OrderStatusFacts,
    Topic,
    make_intent,
)

T = datetime(2027, 3, 5, 12, tzinfo=UTC)
POLICY = DeliveryPolicy()
RU = ("Europe/Kaliningrad", "Asia/Kamchatka", "Europe/Moscow", "Asia/Vladivostok")


def stamped(value, minutes=0):
    return Stamped(value=value, at=T + timedelta(minutes=minutes), msg=f"m{minutes}")


def state(*, email=True, phone=True, push=False, subs=None, days=None, channels=("web",)):
    traits = {}
    if email:
        traits["email"] = stamped("anna@example.com")
    if phone:
        traits["phone"] = stamped("+79161234567")
    if push:
        traits["push_address"] = stamped("fcm:token-1")
    subscriptions = {
        key: stamped({"subscribed": value, "source_id": "web_local", "consent_version": "v2"})
        for key, value in (subs or {}).items()
    }
    return ProfileState(
        traits=traits,
        subscriptions=subscriptions,
        channels=frozenset(channels),
        active_days={k: frozenset(v) for k, v in (days or {}).items()},
    )


def birthday_intent():
    facts = BirthdayFacts(birthday=date(1990, 3, 5), celebrated_on=date(2027, 3, 5), year=2027, timezones=RU)
    return make_intent("p_1", Topic.MARKETING, "birthday:p_1:2027", facts, T)


def order_intent(order_channel="app"):
    facts = OrderStatusFacts(
        order_id="o-1",
        status=OrderStatus.SHIPPED,
        previous_status=OrderStatus.PAID,
        order_channel=order_channel,
        status_at=T,
        message_id="e-1",
    )
    return make_intent("p_1", Topic.TRANSACTIONAL, "order:o-1:shipped", facts, T)


def test_marketing_without_opt_in_on_any_channel_chooses_no_channel():
    profile = state()
    choice = choose_channel(birthday_intent(), profile, None, addresses(profile, ()))
    assert choice.channel is None
    assert choice.reason == "no_channel"
    assert choice.considered == {
        "email": "no_marketing_consent",
        "sms": "no_marketing_consent",
        "push": "no_address",
        "store": "no_address",
        "call_center": "no_address",
    }


def test_marketing_goes_to_the_declared_preferred_channel_when_it_has_consent():
    profile = state(subs={"email.marketing": True, "sms.marketing": True})
    choice = choose_channel(birthday_intent(), profile, "sms", addresses(profile, ()))
    assert (choice.channel, choice.reason) == (DeliveryChannel.SMS, "preferred_channel")
    assert choice.consent is not None and choice.consent.basis == "opt_in"
    assert choice.consent.consent_version == "v2" and choice.consent.source_id == "web_local"


def test_marketing_preferred_channel_without_consent_falls_back_to_a_consented_one():
    profile = state(subs={"email.marketing": True, "sms.marketing": False})
    choice = choose_channel(birthday_intent(), profile, "sms", addresses(profile, ()))
    assert choice.channel is DeliveryChannel.EMAIL
    assert choice.considered["sms"] == "unsubscribed"


def test_marketing_among_consented_channels_prefers_the_one_engaged_most():
    profile = state(
        push=True,
        subs={"email.marketing": True, "push.marketing": True},
        days={"app": {"2027-03-01", "2027-03-02", "2027-03-03"}, "email": {"2027-03-01"}},
    )
    choice = choose_channel(birthday_intent(), profile, None, addresses(profile, ()))
    assert (choice.channel, choice.reason) == (DeliveryChannel.PUSH, "most_engaged")


def test_transactional_goes_to_the_order_channel_without_any_opt_in():
    profile = state(push=True)
    choice = choose_channel(order_intent("app"), profile, None, addresses(profile, ()))
    assert (choice.channel, choice.reason) == (DeliveryChannel.PUSH, "order_channel")
    assert choice.consent is not None and choice.consent.basis == "no_opt_out"


def test_transactional_respects_a_transactional_opt_out_on_that_channel():
    profile = state(subs={"email.transactional": False})
    choice = choose_channel(order_intent("web"), profile, None, addresses(profile, ()))
    assert choice.channel is DeliveryChannel.SMS
    assert choice.considered["email"] == "unsubscribed"


def test_transactional_without_any_address_chooses_no_channel():
    profile = state(email=False, phone=False)
    assert choose_channel(order_intent(), profile, None, addresses(profile, ())).channel is None


def test_addresses_need_e164_phones_and_configured_webhooks_where_the_customer_has_been():
    profile = state(channels=("store", "web"))
    profile = profile.model_copy(update={"traits": {**profile.traits, "phone": stamped("8 916 123")}})
    reachable = addresses(profile, ("store", "call_center"))
    assert DeliveryChannel.SMS not in reachable
    assert reachable[DeliveryChannel.STORE] == "store"
    assert DeliveryChannel.CALL_CENTER not in reachable  # configured, but the customer never called


def test_consent_for_marketing_reports_unsubscribed_separately_from_never_asked():
    profile = state(subs={"email.marketing": False})
    assert consent_for(profile, DeliveryChannel.EMAIL, Topic.MARKETING) == (None, "unsubscribed")
    assert consent_for(profile, DeliveryChannel.SMS, Topic.MARKETING) == (None, "no_marketing_consent")


def test_send_window_must_hold_in_every_plausible_zone():
    # 07:00 UTC: 09:00 Kaliningrad, 19:00 Kamchatka: the only two hours all of Russia is awake
    assert in_window(datetime(2027, 3, 5, 7, tzinfo=UTC), RU, POLICY)
    assert in_window(datetime(2027, 3, 5, 8, 59, tzinfo=UTC), RU, POLICY)
    assert not in_window(datetime(2027, 3, 5, 9, tzinfo=UTC), RU, POLICY)  # 21:00 Kamchatka
    assert not in_window(datetime(2027, 3, 5, 6, 59, tzinfo=UTC), RU, POLICY)  # 08:59 Kaliningrad
    assert not in_window(T, (), POLICY)


def test_next_window_is_the_first_instant_every_zone_is_inside():
    assert next_window(datetime(2027, 3, 5, 10, tzinfo=UTC), RU, POLICY) == datetime(
        2027, 3, 6, 7, tzinfo=UTC
    )
    moscow = ("Europe/Moscow",)
    late = datetime(2027, 3, 5, 19, tzinfo=UTC)  # 22:00 in Moscow
    assert next_window(late, moscow, POLICY) == datetime(2027, 3, 6, 6, tzinfo=UTC)  # 09:00 Moscow


def test_next_window_is_dst_correct():
    berlin = ("Europe/Berlin",)
    # Sunday 2027-03-28 clocks go forward: 09:00 local is 07:00 UTC, the day before 08:00 UTC
    assert next_window(datetime(2027, 3, 27, 22, tzinfo=UTC), berlin, POLICY) == datetime(
        2027, 3, 28, 7, tzinfo=UTC
    )
    assert next_window(datetime(2027, 3, 26, 22, tzinfo=UTC), berlin, POLICY) == datetime(
        2027, 3, 27, 8, tzinfo=UTC
    )


def test_next_window_is_none_when_the_zones_never_share_the_window():
    apart = ("Europe/London", "Asia/Tokyo")  # 9 hours apart; a 3-hour window never overlaps
    narrow = DeliveryPolicy(quiet_start=time(12, 0), quiet_end=time(9, 0))
    assert next_window(T, apart, narrow) is None


def test_caps_count_marketing_sends_in_the_customers_local_day_and_week():
    moscow = ("Europe/Moscow",)
    # 2027-03-05 is a Friday; 23:30 Moscow on Thursday is still Thursday there (20:30 UTC)
    sent = [datetime(2027, 3, 4, 20, 30, tzinfo=UTC)]
    now = datetime(2027, 3, 4, 21, 30, tzinfo=UTC)  # 00:30 Friday in Moscow, still Thursday in UTC
    state_now = cap_state(now, moscow, sent, POLICY)
    assert (state_now.daily_used, state_now.weekly_used) == (0, 1)
    assert not state_now.full


def test_caps_full_for_the_day_defer_to_the_next_local_mornings_window():
    moscow = ("Europe/Moscow",)
    sent = [datetime(2027, 3, 5, 7, tzinfo=UTC)]  # 10:00 Friday Moscow
    opening = next_allowed(datetime(2027, 3, 5, 12, tzinfo=UTC), moscow, sent, POLICY)
    assert opening == datetime(2027, 3, 6, 6, tzinfo=UTC)  # Saturday 09:00 Moscow


def test_caps_full_for_the_week_defer_to_monday():
    moscow = ("Europe/Moscow",)
    sent = [datetime(2027, 3, d, 7, tzinfo=UTC) for d in (1, 2, 3)]  # Mon, Tue, Wed
    opening = next_allowed(datetime(2027, 3, 4, 12, tzinfo=UTC), moscow, sent, POLICY)
    assert opening == datetime(2027, 3, 8, 6, tzinfo=UTC)  # Monday 09:00 Moscow


def test_caps_with_several_zones_count_the_zone_where_the_most_sends_fall_today():
    zones = ("Europe/Kaliningrad", "Asia/Kamchatka")
    sent = [datetime(2027, 3, 4, 13, tzinfo=UTC)]  # Thursday 15:00 Kaliningrad, Friday 01:00 Kamchatka
    state_now = cap_state(datetime(2027, 3, 5, 7, tzinfo=UTC), zones, sent, POLICY)
    assert state_now.daily_used == 1 and state_now.full  # it may be "today" for a customer in Kamchatka


def test_next_allowed_without_any_known_zone_is_none():
    assert next_allowed(T, (), [], POLICY) is None
    assert next_allowed(T, ("Not/AZone",), [], POLICY) is None
