"""Birthday rules (pure): partitions, celebration date, local window in every plausible zone."""

from datetime import UTC, date, datetime

from asusual.profiles.birthday import BirthdayEntry
from asusual.triggers.birthday import BirthdayWindow, celebration_date, due_year, partitions

WINDOW = BirthdayWindow()


def test_celebration_date_feb_29_falls_on_feb_28_in_common_years_only():
    assert celebration_date(date(2000, 2, 29), 2027) == date(2027, 2, 28)
    assert celebration_date(date(2000, 2, 29), 2028) == date(2028, 2, 29)
    assert celebration_date(date(1990, 3, 5), 2027) == date(2027, 3, 5)


def test_partitions_cover_every_local_date_and_feb_29_on_a_common_feb_28():
    assert partitions(datetime(2027, 3, 5, 12, tzinfo=UTC)) == ["03-05", "03-06"]
    assert partitions(datetime(2027, 3, 5, 7, tzinfo=UTC)) == ["03-04", "03-05"]
    assert "02-29" in partitions(datetime(2027, 2, 28, 12, tzinfo=UTC))
    assert "02-29" not in partitions(datetime(2028, 2, 28, 1, tzinfo=UTC))


def test_due_year_needs_the_date_and_the_window_in_every_zone():
    entry = BirthdayEntry(birthday=date(1990, 3, 5), zones=("Europe/Kaliningrad", "Asia/Kamchatka"))
    assert due_year(entry, datetime(2027, 3, 5, 7, tzinfo=UTC), WINDOW) is None  # 09:00 Kaliningrad
    assert due_year(entry, datetime(2027, 3, 5, 8, tzinfo=UTC), WINDOW) == 2027  # 10:00 / 20:00
    assert due_year(entry, datetime(2027, 3, 5, 9, tzinfo=UTC), WINDOW) is None  # 21:00 Kamchatka
    unknown = BirthdayEntry(birthday=date(1990, 3, 5), zones=("Not/AZone",))
    assert due_year(unknown, datetime(2027, 3, 5, 8, tzinfo=UTC), WINDOW) is None
