"""Birthday sweep on moto: local date and window in the customer's own zone, once a year."""

from __future__ import annotations

import pytest

from asusual.store import clients

CONSENT = {"email": {"marketing": True, "transactional": True}}


def identify(user, birthday, timezone=None, subscriptions=CONSENT, day=23, **traits):
    body = {"birthday": birthday, "email": f"{user}@example.com", "subscriptions": subscriptions, **traits}
    if timezone:
        body["timezone"] = timezone
    return {"type": "identify", "userId": user, "traits": body, "timestamp": f"2026-11-{day:02d}T09:00:00Z"}


def birthdays(intents):
    return [(i.facts.celebrated_on.isoformat(), i.facts.year) for i in intents() if i.trigger == "birthday"]


def test_birthday_congratulated_once_from_ten_local_and_again_next_year(send, intents, at):
    send("web_local_key", identify("u-1", "1990-03-05", "Europe/Moscow"))  # UTC+3
    at("2027-03-05T06:00:00Z")  # 09:00 in Moscow
    assert birthdays(intents) == []
    at("2027-03-05T07:00:00Z")  # 10:00
    at("2027-03-05T12:00:00Z")  # later that day: nothing more
    assert birthdays(intents) == [("2027-03-05", 2027)]
    [intent] = [i for i in intents() if i.trigger == "birthday"]
    assert intent.topic.value == "marketing" and intent.send_once_key.endswith(":2027")
    assert intent.facts.timezones == ("Europe/Moscow",)
    at("2028-03-05T07:00:00Z")
    assert birthdays(intents) == [("2027-03-05", 2027), ("2028-03-05", 2028)]


def test_birthday_at_utc_plus_14_fires_on_the_previous_utc_day(send, intents, at):
    send("web_local_key", identify("u-kiri", "1985-03-05", "Pacific/Kiritimati"))
    at("2027-03-04T19:00:00Z")  # 09:00 on 03-05 in Kiritimati
    assert birthdays(intents) == []
    at("2027-03-04T20:00:00Z")  # 10:00 local, while it is still 03-04 in UTC
    assert birthdays(intents) == [("2027-03-05", 2027)]


def test_birthday_at_utc_minus_10_fires_on_the_next_utc_day_inside_the_window_only(
    send, intents, at, runtime
):
    send("web_local_key", identify("u-hono", "1985-03-05", "Pacific/Honolulu"))
    at("2027-03-05T19:00:00Z")  # 09:00 local
    assert birthdays(intents) == []
    assert _sweep_at(runtime, "2027-03-06T07:00:00Z")["emitted"] == 0  # 21:00 local: the window closed
    assert _sweep_at(runtime, "2027-03-06T06:00:00Z")["emitted"] == 1  # 20:00 local, 03-06 in UTC
    assert birthdays(intents) == [("2027-03-05", 2027)]


@pytest.mark.parametrize(
    ("zone", "birthday", "before", "first"),
    [
        # New York springs forward on 2027-03-14: 10:00 EDT is 14:00 UTC (13:00 UTC is 09:00 EDT)
        ("America/New_York", "1980-03-14", "2027-03-14T13:00:00Z", "2027-03-14T14:00:00Z"),
        # Berlin falls back on 2027-10-31: 10:00 CET is 09:00 UTC (08:00 UTC is 09:00 CET)
        ("Europe/Berlin", "1980-10-31", "2027-10-31T08:00:00Z", "2027-10-31T09:00:00Z"),
    ],
)
def test_birthday_on_a_dst_change_day_follows_local_wall_clock(
    send, intents, at, zone, birthday, before, first
):
    send("web_local_key", identify("u-dst", birthday, zone))
    at(before)
    assert birthdays(intents) == []
    at(first)
    assert [d for d, _ in birthdays(intents)] == [f"2027-{birthday[5:]}"]


def test_birthday_feb_29_celebrated_feb_28_in_common_years_and_feb_29_in_leap_years(send, intents, at):
    send("web_local_key", identify("u-leap", "2000-02-29", "Europe/Moscow"))
    at("2027-02-28T07:00:00Z")
    at("2027-03-01T07:00:00Z")
    at("2028-02-28T07:00:00Z")  # a leap year: not yet
    assert birthdays(intents) == [("2027-02-28", 2027)]
    at("2028-02-29T07:00:00Z")
    assert birthdays(intents) == [("2027-02-28", 2027), ("2028-02-29", 2028)]


def test_birthday_without_marketing_consent_is_not_indexed_and_not_congratulated(send, intents, at):
    send(
        "web_local_key",
        identify("u-no", "1990-03-05", "Europe/Moscow", subscriptions={"email": {"marketing": False}}),
    )
    send("web_local_key", identify("u-none", "1990-03-05", "Europe/Moscow", subscriptions=None))
    at("2027-03-05T08:00:00Z")
    assert birthdays(intents) == []
    # consent given later puts the customer in the index; withdrawn again takes them out
    send("web_local_key", identify("u-no", "1990-03-05", "Europe/Moscow", day=24))
    at("2027-03-05T09:00:00Z")
    assert birthdays(intents) == [("2027-03-05", 2027)]
    send(
        "web_local_key", identify("u-no", "1990-03-05", subscriptions={"email": {"marketing": False}}, day=25)
    )
    assert _entries() == []


def test_birthday_unknown_zone_waits_until_the_window_is_open_in_every_zone_of_the_country(send, intents, at):
    # a Russian mobile, no timezone: Kaliningrad (UTC+2) to Kamchatka (UTC+12) must all be in 10:00-21:00
    send("web_local_key", identify("u-ru", "1990-03-05", phone="+7 916 123-45-67"))
    at("2027-03-05T07:00:00Z")  # 09:00 in Kaliningrad
    assert birthdays(intents) == []
    at("2027-03-05T08:00:00Z")  # 10:00 Kaliningrad, 20:00 Kamchatka
    assert birthdays(intents) == [("2027-03-05", 2027)]
    [intent] = [i for i in intents() if i.trigger == "birthday"]
    assert "Europe/Kaliningrad" in intent.facts.timezones and "Asia/Kamchatka" in intent.facts.timezones


def test_birthday_index_follows_merges_one_entry_for_the_person(send, intents, at):
    send("web_local_key", identify("u-a", "1990-03-05", "Europe/Moscow"))
    send(
        "web_local_key", {"type": "identify", "anonymousId": "anon-b", "traits": {"email": "u-a@example.com"}}
    )
    send("web_local_key", {"type": "alias", "userId": "u-a", "previousId": "anon-b"})
    at("2027-03-05T07:00:00Z")
    assert birthdays(intents) == [("2027-03-05", 2027)]
    assert len(_entries()) == 1


def test_birthday_sweep_reads_only_the_birthdays_of_the_day_never_scans(send, intents, runtime):
    people = [
        identify(f"u-{i}", f"1990-{1 + i % 12:02d}-{10 + i % 17:02d}", "Europe/Moscow") for i in range(60)
    ]
    today = [identify(f"t-{i}", "1991-03-05", "Europe/Moscow") for i in range(3)]
    for start in range(0, len(people), 30):
        send("web_local_key", *people[start : start + 30], run=False)
    send("web_local_key", *today)
    assert len(_entries()) == 63  # every consenting customer is indexed
    calls = []

    def record(params, model, **kwargs):
        calls.append((model.name, params.get("IndexName"), params.get("ExpressionAttributeValues")))

    clients.dynamodb().meta.events.register("provide-client-params.dynamodb.*", record)
    report = _sweep_at(runtime, "2027-03-05T07:00:00Z")
    assert not [c for c in calls if c[0] == "Scan"]
    queries = [c for c in calls if c[0] == "Query"]
    # one query per date it is somewhere on Earth at 07:00 UTC (03-04 at UTC-12 … 03-05 at UTC+14)
    assert [values[":p"]["S"] for _, _, values in queries] == ["BIRTHDAY#03-04", "BIRTHDAY#03-05"]
    assert {index for _, index, _ in queries} == {"gsi1"}
    assert report["read"] == 3 and report["emitted"] == 3  # the day's birthdays, not the 63 profiles
    assert len(birthdays(intents)) == 3


def _sweep_at(runtime, instant):
    from datetime import datetime

    from functions.birthday_sweep import handler

    runtime.clock.set(datetime.fromisoformat(instant.replace("Z", "+00:00")))
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": instant, "detail": {}}
    return handler.lambda_handler(event, _context())


def _entries():
    items = clients.dynamodb().scan(TableName="asusual-local")["Items"]  # the test may scan; the code never
    return [i for i in items if i["sk"]["S"] == "BIRTHDAY"]


def _context():
    from asusual.local.runtime import LocalContext

    return LocalContext("birthday_sweep")
