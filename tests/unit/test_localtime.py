"""The local-time helpers every capability shares (asusual.localtime), pinned where the copies they
replaced used to disagree."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from asusual.delivery.policy import DeliveryPolicy, in_window, next_window
from asusual.localtime import country_zones, first_zone, local_dates, local_moments, local_now, own_zone
from asusual.offers.service import customer_day
from asusual.triggers.birthday import partitions

KIRITIMATI = timezone(timedelta(hours=14))


def test_local_dates_now_given_in_another_offset_same_dates_as_in_utc():
    # 01:00 on Mar 5 at UTC+14 is Mar 4 11:00 UTC: it is still Mar 3 at UTC-12
    now = datetime(2027, 3, 5, 1, 0, tzinfo=KIRITIMATI)
    assert local_dates(now) == (date(2027, 3, 3), date(2027, 3, 4), date(2027, 3, 5))
    assert local_dates(now) == local_dates(now.astimezone(UTC))


def test_local_dates_three_only_while_both_ends_of_the_earth_differ_from_utc():
    assert local_dates(datetime(2027, 3, 4, 11, 0, tzinfo=UTC)) == (
        date(2027, 3, 3), date(2027, 3, 4), date(2027, 3, 5)
    )  # fmt: skip
    assert local_dates(datetime(2027, 3, 4, 12, 0, tzinfo=UTC)) == (date(2027, 3, 4), date(2027, 3, 5))


def test_birthday_partitions_now_in_another_offset_include_the_date_still_running_at_utc_minus_12():
    now = datetime(2027, 3, 5, 1, 0, tzinfo=KIRITIMATI)
    assert partitions(now) == ["03-03", "03-04", "03-05"]


def test_local_moments_one_unknown_zone_among_known_ones_empty():
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert local_moments(now, ("Europe/Moscow", "Not/AZone")) == []
    assert local_moments(now, ()) == []
    assert local_moments(now, ("Europe/Moscow",)) == [
        datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    ]


def test_send_window_one_unknown_zone_among_known_ones_never_open():
    # 12:00 in Moscow is inside 09:00-21:00; the time in the unknown zone cannot be read
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    policy = DeliveryPolicy(quiet_start=time(21), quiet_end=time(9))
    assert in_window(now, ("Europe/Moscow",), policy) is True
    assert in_window(now, ("Europe/Moscow", "Not/AZone"), policy) is False
    assert next_window(now, ("Europe/Moscow", "Not/AZone"), policy) is None


def test_first_zone_skips_names_tzdata_does_not_know():
    assert first_zone(("Not/AZone", "Asia/Yekaterinburg")) == ZoneInfo("Asia/Yekaterinburg")
    assert first_zone(("Not/AZone",)) is None
    assert first_zone(()) is None


def test_own_zone_only_when_exactly_one_zone_is_plausible():
    assert own_zone(("Europe/Moscow",)) == ZoneInfo("Europe/Moscow")
    assert own_zone(country_zones("RU")) is None
    assert own_zone(("Not/AZone",)) is None
    assert own_zone(()) is None


def test_local_now_and_customer_day_use_the_first_plausible_zone():
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 23:00 in Moscow, 01:00 next day in Yekaterinburg
    zones = ("Not/AZone", "Asia/Yekaterinburg", "Europe/Moscow")
    assert local_now(now, zones).isoformat() == "2026-11-24T01:00:00+05:00"
    assert customer_day(now, zones) == date(2026, 11, 24)
    assert local_now(now, ("Not/AZone",)) == now and local_now(now, ("Not/AZone",)).tzinfo is UTC
    assert customer_day(now, ()) == date(2026, 11, 23)


# -- a device's offset (RudderStack's context.timezone "GMT+0300"): evidence, never a zone ----------

import pytest  # noqa: E402

from asusual.localtime import utc_offset, zones_at_offset  # noqa: E402


@pytest.mark.parametrize(
    ("written", "offset"),
    [
        ("GMT+0300", timedelta(hours=3)),
        ("GMT+0000", timedelta(0)),
        ("UTC-05:30", -timedelta(hours=5, minutes=30)),
        ("+03", timedelta(hours=3)),
        ("GMT", timedelta(0)),
        ("utc+14:00", timedelta(hours=14)),
        ("GMT-1200", -timedelta(hours=12)),
        ("GMT+0545", timedelta(hours=5, minutes=45)),
        ("Europe/Moscow", None),
        ("GMT+1500", None),
        ("GMT-1300", None),
        ("GMT+0307", None),
        ("", None),
        ("GMT+03000000000000000", None),
        (180, None),
    ],
)
def test_utc_offset_as_browser_sdks_write_it_parsed_exactly(written, offset):
    assert utc_offset(written) == offset


def test_zones_at_offset_of_russia_at_plus_three_are_the_moscow_time_zones():
    at = datetime(2027, 3, 5, 9, 0, tzinfo=UTC)
    assert zones_at_offset(country_zones("RU"), timedelta(hours=3), at) == (
        "Europe/Kirov", "Europe/Moscow", "Europe/Volgograd"
    )  # fmt: skip


def test_zones_at_offset_follows_daylight_saving_time():
    summer, winter = datetime(2027, 7, 5, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC)
    assert "America/New_York" in zones_at_offset(country_zones("US"), timedelta(hours=-4), summer)
    assert "America/New_York" not in zones_at_offset(country_zones("US"), timedelta(hours=-4), winter)
