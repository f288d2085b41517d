"""The customer's moment (daypart, season, holiday) and how to address them: pure rules."""

# ruff: noqa: RUF001  (Russian copy under test: Cyrillic letters that look Latin are intended)

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from asusual.catalog.models import Season
from asusual.content.context import (
    Daypart,
    Gender,
    GenderBasis,
    Hemisphere,
    address,
    clean_name,
    common_daypart,
    common_holiday,
    common_season,
    daypart_at,
    declared_gender,
    greeting,
    hemisphere,
    holiday_on,
    local_today,
    long_date,
    money,
    number,
    patronymic_gender,
    plural,
    season_at,
    short_date,
)
from asusual.localtime import country_zones
from tests.unit.content import profile

MSK = ZoneInfo("Europe/Moscow")


# --- daypart --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (4, 59, Daypart.NIGHT),
        (5, 0, Daypart.MORNING),
        (11, 59, Daypart.MORNING),
        (12, 0, Daypart.DAY),
        (16, 59, Daypart.DAY),
        (17, 0, Daypart.EVENING),
        (22, 59, Daypart.EVENING),
        (23, 0, Daypart.NIGHT),
        (0, 0, Daypart.NIGHT),
    ],
)
def test_daypart_at_boundaries_follow_the_local_clock(hour, minute, expected):
    assert daypart_at(datetime(2026, 5, 27, hour, minute, tzinfo=MSK)) is expected


def test_common_daypart_on_the_dst_sunday_in_berlin_reads_the_summer_clock():
    # 2027-03-28: clocks go 02:00 CET -> 03:00 CEST. 03:30 UTC is 05:30 local (morning), not 04:30.
    assert common_daypart(datetime(2027, 3, 28, 3, 30, tzinfo=UTC), ("Europe/Berlin",)) is Daypart.MORNING
    # The day before, the same UTC instant is 04:30 CET: still night.
    assert common_daypart(datetime(2027, 3, 27, 3, 30, tzinfo=UTC), ("Europe/Berlin",)) is Daypart.NIGHT
    # Evening starts at 17:00 CEST = 15:00 UTC after the switch.
    assert common_daypart(datetime(2027, 3, 28, 14, 59, tzinfo=UTC), ("Europe/Berlin",)) is Daypart.DAY
    assert common_daypart(datetime(2027, 3, 28, 15, 0, tzinfo=UTC), ("Europe/Berlin",)) is Daypart.EVENING


def test_common_daypart_at_9_am_moscow_is_morning_never_evening():
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    assert common_daypart(now, ("Europe/Moscow",)) is Daypart.MORNING
    assert greeting(common_daypart(now, ("Europe/Moscow",)), "ru") == "Доброе утро"


@pytest.mark.parametrize("hour", range(24))
def test_common_daypart_russias_zones_disagree_every_hour_so_none(hour):
    zones = country_zones("RU")
    assert len(zones) > 10
    assert common_daypart(datetime(2026, 11, 23, hour, 0, tzinfo=UTC), zones) is None


def test_common_daypart_unknown_or_invalid_zones_none():
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert common_daypart(now, ()) is None
    assert common_daypart(now, ("Europe/Moscow", "Not/AZone")) is None


def test_greeting_daypart_none_neutral_and_english_night_is_hello():
    assert greeting(None, "ru") == "Здравствуйте"
    assert greeting(None, "en") == "Hello"
    assert greeting(Daypart.NIGHT, "ru") == "Доброй ночи"
    assert greeting(Daypart.NIGHT, "en") == "Hello"
    assert greeting(Daypart.EVENING, "en") == "Good evening"
    assert greeting(Daypart.DAY, "en") == "Good afternoon"


# --- hemisphere and season ------------------------------------------------------------------


def test_hemisphere_by_latitude_including_links():
    assert hemisphere("Australia/Sydney") is Hemisphere.SOUTH
    assert hemisphere("Europe/Moscow") is Hemisphere.NORTH
    assert hemisphere("Europe/Kiev") is Hemisphere.NORTH  # a link to Europe/Kyiv
    assert hemisphere("UTC") is None


def test_season_at_sydney_july_winter_january_summer():
    assert season_at("Australia/Sydney", date(2026, 7, 15)) is Season.WINTER
    assert season_at("Australia/Sydney", date(2027, 1, 15)) is Season.SUMMER
    assert season_at("Australia/Sydney", date(2026, 4, 15)) is Season.AUTUMN
    assert season_at("Australia/Sydney", date(2026, 10, 15)) is Season.SPRING


def test_season_at_moscow_meteorological_boundaries():
    assert season_at("Europe/Moscow", date(2026, 2, 28)) is Season.WINTER
    assert season_at("Europe/Moscow", date(2026, 3, 1)) is Season.SPRING
    assert season_at("Europe/Moscow", date(2026, 7, 15)) is Season.SUMMER
    assert season_at("Europe/Moscow", date(2026, 11, 30)) is Season.AUTUMN
    assert season_at("Europe/Moscow", date(2026, 12, 1)) is Season.WINTER


def test_season_at_tropics_or_placeless_zone_none():
    assert season_at("Asia/Singapore", date(2026, 1, 15)) is None  # no winter to dress for
    assert season_at("UTC", date(2026, 1, 15)) is None


def test_common_season_hemispheres_disagree_none_so_no_down_jacket_in_july():
    july = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    assert common_season(july, ("Europe/Moscow",)) is Season.SUMMER
    assert common_season(july, ("Australia/Sydney",)) is Season.WINTER
    assert common_season(july, ("Europe/Moscow", "Australia/Sydney")) is None
    assert common_season(july, ()) is None


def test_common_season_russia_all_zones_agree_mid_season():
    assert common_season(datetime(2026, 7, 15, 9, 0, tzinfo=UTC), country_zones("RU")) is Season.SUMMER


def test_common_season_local_dates_straddle_a_season_change_none():
    # 2026-02-28 20:00 UTC: 2026-03-01 in Kamchatka (spring), still February in Kaliningrad (winter).
    assert common_season(datetime(2026, 2, 28, 20, 0, tzinfo=UTC), country_zones("RU")) is None


# --- holidays -------------------------------------------------------------------------------


def test_holiday_on_russian_christmas_2027_localized():
    assert holiday_on("RU", date(2027, 1, 7), "ru") == "Рождество Христово"
    assert holiday_on("RU", date(2027, 1, 7), "en") == "Christmas Day"
    assert holiday_on("ru", date(2027, 1, 7), "ru") == "Рождество Христово"


def test_holiday_on_ordinary_day_moved_day_off_or_unknown_country_none():
    assert holiday_on("RU", date(2027, 1, 20), "ru") is None
    assert holiday_on("RU", date(2027, 2, 22), "ru") is None  # a day off moved by decree, not a feast
    assert holiday_on("XX", date(2027, 1, 7), "ru") is None
    assert holiday_on(None, date(2027, 1, 7), "ru") is None


def test_common_holiday_all_zones_on_christmas_named_else_none():
    zones = country_zones("RU")
    assert common_holiday("RU", datetime(2027, 1, 7, 9, 0, tzinfo=UTC), zones, "ru") == "Рождество Христово"
    # 20:00 UTC on Jan 6: Jan 7 (Christmas) in Kamchatka, still Jan 6 (New Year holidays) in Kaliningrad.
    assert common_holiday("RU", datetime(2027, 1, 6, 20, 0, tzinfo=UTC), zones, "ru") is None
    assert common_holiday("RU", datetime(2027, 1, 7, 9, 0, tzinfo=UTC), (), "ru") is None


def test_local_today_earliest_local_date_or_utc_when_unknown():
    now = datetime(2026, 5, 27, 20, 0, tzinfo=UTC)
    assert local_today(now, ("Asia/Kamchatka",)) == date(2026, 5, 28)
    assert local_today(now, ("Europe/Kaliningrad", "Asia/Kamchatka")) == date(2026, 5, 27)
    assert local_today(now, ()) == date(2026, 5, 27)


# --- gender and salutation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("female", Gender.FEMALE),
        ("F", Gender.FEMALE),
        ("woman", Gender.FEMALE),
        ("Женский", Gender.FEMALE),
        ("ж", Gender.FEMALE),
        ("male", Gender.MALE),
        ("m", Gender.MALE),
        ("мужской", Gender.MALE),
        ("М.", Gender.MALE),
        ("non-binary", None),
        ("", None),
        (None, None),
    ],
)
def test_declared_gender_only_clear_values(value, expected):
    assert declared_gender(value) is expected


@pytest.mark.parametrize(
    ("middle", "expected"),
    [
        ("Петрович", Gender.MALE),
        ("Ильич", Gender.MALE),
        ("Сергеевна", Gender.FEMALE),
        ("Ильинична", Gender.FEMALE),
        ("Фоминишна", Gender.FEMALE),
        ("Мамед оглы", Gender.MALE),
        ("Алиевна-Кызы", Gender.FEMALE),
        ("Smith", None),
        (None, None),
    ],
)
def test_patronymic_gender_from_russian_endings(middle, expected):
    assert patronymic_gender(middle) is expected


def test_salutation_declared_female_uses_uvazhaemaya():
    who = address(profile(first_name="Анна", middle_name="Сергеевна", gender="female"), "ru")
    assert who.salutation == "Уважаемая Анна Сергеевна"
    assert who.basis is GenderBasis.DECLARED


def test_salutation_patronymic_infers_male():
    who = address(profile(first_name="Иван", middle_name="Петрович"), "ru")
    assert who.salutation == "Уважаемый Иван Петрович"
    assert (who.gender, who.basis) == (Gender.MALE, GenderBasis.PATRONYMIC)


def test_salutation_no_gender_with_name_is_neutral_never_gendered():
    who = address(profile(first_name="Анна"), "ru")
    assert who.salutation == "Анна, здравствуйте"
    assert "Уважаем" not in who.salutation
    assert who.gender is None


def test_salutation_declared_non_binary_overrides_patronymic_neutral():
    who = address(profile(first_name="Саша", middle_name="Сергеевна", gender="non-binary"), "ru")
    assert who.gender is None
    assert who.salutation == "Саша, здравствуйте"


def test_salutation_no_name_at_all_is_non_empty_neutral():
    assert address(profile(), "ru").salutation == "Здравствуйте"
    assert address(profile(), "en").salutation == "Hello"
    assert address(profile(gender="female"), "ru").salutation == "Здравствуйте"
    assert address(profile(), "ru").hello(None) == "Здравствуйте"


def test_salutation_en_dear_ms_only_with_declared_gender_and_last_name():
    assert address(profile(first_name="Anna", last_name="Smith", gender="female"), "en").salutation == (
        "Dear Ms Smith"
    )
    assert (
        address(profile(first_name="John", last_name="Smith", gender="m"), "en").salutation == "Dear Mr Smith"
    )
    assert address(profile(first_name="Anna", last_name="Smith"), "en").salutation == "Hi Anna"
    assert address(profile(last_name="Smith"), "en").salutation == "Hello"


def test_salutation_en_declared_title_wins():
    who = address(profile(first_name="Anna", last_name="Smith", title="Dr."), "en")
    assert who.salutation == "Dear Dr Smith"
    assert who.formal_name == "Dr Smith"


def test_salutation_placeholder_names_are_not_names():
    for junk in ("null", "{{ first_name }}", "test", "123", "a" * 60, "   "):
        assert address(profile(first_name=junk), "ru").salutation == "Здравствуйте"


def test_clean_name_capitalizes_all_lowercase_or_capital_names():
    assert clean_name("анна") == "Анна"
    assert clean_name("АННА-МАРИЯ") == "Анна-Мария"
    assert clean_name("McDonald") == "McDonald"
    assert clean_name("O'Neil") == "O'Neil"


def test_hello_adds_the_polite_name_to_the_daypart_greeting():
    who = address(profile(first_name="Анна", middle_name="Сергеевна"), "ru")
    assert who.hello(Daypart.EVENING) == "Добрый вечер, Анна Сергеевна"
    assert who.hello(None) == "Здравствуйте, Анна Сергеевна"
    assert address(profile(first_name="Anna"), "en").hello(Daypart.MORNING) == "Good morning, Anna"


def test_dative_via_petrovich_only_when_gender_known():
    anna = address(profile(first_name="Анна", middle_name="Сергеевна", gender="female"), "ru")
    assert anna.dative == "Анне"
    assert anna.polite_dative == "Анне Сергеевне"
    ivan = address(profile(first_name="Иван", middle_name="Петрович"), "ru")
    assert ivan.dative == "Ивану"
    assert ivan.polite_dative == "Ивану Петровичу"
    assert address(profile(first_name="Анна"), "ru").dative is None  # gender unknown
    assert address(profile(first_name="Anna", gender="female"), "ru").dative is None  # not Cyrillic
    assert address(profile(first_name="Анна", gender="female"), "en").dative is None


# --- numbers, money, plurals, dates ---------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0 дней"),
        (1, "1 день"),
        (2, "2 дня"),
        (4, "4 дня"),
        (5, "5 дней"),
        (11, "11 дней"),
        (12, "12 дней"),
        (21, "21 день"),
        (22, "22 дня"),
        (26, "26 дней"),
        (101, "101 день"),
        (111, "111 дней"),
        (Decimal("1.5"), "1,5 дня"),
    ],
)
def test_plural_russian_days(count, expected):
    assert plural(count, ("день", "дня", "дней"), "ru") == expected


def test_plural_english_one_other_and_too_few_forms_fails():
    assert plural(1, ("day", "days"), "en") == "1 day"
    assert plural(26, ("day", "days"), "en") == "26 days"
    with pytest.raises(ValueError):
        plural(5, ("день", "дня"), "ru")


def test_money_per_locale_with_babel():
    assert money(Decimal("1290"), "RUB", "ru") == "1\u00a0290,00\u00a0₽"
    assert money(Decimal("1290"), "RUB", "en") == "RUB\u00a01,290.00"
    assert money(Decimal("1290.5"), "USD", "en") == "$1,290.50"
    assert money("99.9", "eur", "ru") == "99,90\u00a0€"
    with pytest.raises(ValueError):
        money(Decimal("1"), "rubles", "ru")
    with pytest.raises(ValueError):
        money(Decimal("NaN"), "RUB", "ru")


def test_number_and_dates_per_locale():
    assert number(1290.5, "ru") == "1\u00a0290,5"
    assert number(1290.5, "en") == "1,290.5"
    assert short_date("2026-06-03", "ru") == "03.06"
    assert short_date(date(2026, 6, 3), "en") == "Jun 3"
    assert long_date("2026-06-03T10:00:00+00:00", "ru") == "3 июня"
    assert long_date("2026-06-03", "en") == "June 3"
