"""``make demo``: three weeks of a retailer's life in a minute, on the real code paths.

The local stack (design.md 3.2) runs in this process: moto, the Lambda handlers behind the local
HTTP gateway, the queues and schedules driven by the simulated clock. The retailer's channel
systems talk to it over HTTP only: the web shop, the email service and the store POS through the
stock Segment client (segment-analytics-python), the merchandiser through the catalog API, the
site and the till through POST /v1/decide, and the demo itself through /_local/clock, /_local/run
and /_local/outbox, exactly as a person with curl would.

It prints what each customer received, checks the story's expectations, and exits 0 only when
every one held. The handlers' JSON logs and metrics go to a file (``--log``), as CloudWatch
would keep them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from asusual.local.gateway import LocalGateway
from asusual.local.runtime import ADMIN_KEY, READ_KEY, LocalRuntime

START = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # Tuesday, 10:30 in Moscow
END = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
MOSCOW, VLADIVOSTOK, SYDNEY = "Europe/Moscow", "Asia/Vladivostok", "Australia/Sydney"
BIRTHDAY = date(2026, 12, 4)


# -- the retailer's catalog ------------------------------------------------------------------------
def product(pid: str, name: str, price: str, category: str, **extra: Any) -> dict[str, Any]:
    return {
        "product_id": pid,
        "name": name,
        "price": price,
        "currency": "RUB",
        "category": category,
        "seasons": [],
        "replenish_days": None,
        "sensitive": False,
        "promoted": False,
        **extra,
    }


CATALOG = [
    product("cat-food-2kg", "Корм для кошек Purina One, 2 кг", "1290.00", "Pet food", replenish_days=10),
    product("dog-shampoo", "Шампунь для собак", "490.00", "Pet care", replenish_days=14),
    product("down-jacket", "Пуховик «Север»", "12990.00", "Outerwear", seasons=["winter"], promoted=True),
    product(
        "wool-mittens",
        "Варежки из шерсти мериноса",
        "1490.00",
        "Accessories",
        seasons=["winter"],
        promoted=True,
    ),
    product(
        "sunscreen-50", "Солнцезащитный крем SPF 50", "890.00", "Sun care", seasons=["summer"], promoted=True
    ),
    product("beach-towel", "Пляжное полотенце", "1190.00", "Home", seasons=["summer"], promoted=True),
    product("kettle", "Чайник электрический", "2990.00", "Home"),
    product("blanket", "Плед флисовый", "1990.00", "Home"),
]


SHAMPOO = {"product_id": "dog-shampoo", "quantity": 1, "price": 490, "category": "Pet care"}


def cat_food_order(order_id: str) -> dict[str, Any]:
    """Two bags of cat food (10 days a bag): the replenishment reminder comes 17 days later."""
    return {
        "order_id": order_id,
        "total": 2580,
        "currency": "RUB",
        "products": [{"product_id": "cat-food-2kg", "quantity": 2, "price": 1290, "category": "Pet food"}],
    }


# -- HTTP to the local gateway -----------------------------------------------------------------------
class Api:
    """The local API over HTTP, as any client sees it."""

    def __init__(self, url: str) -> None:
        if not url.startswith("http://127.0.0.1:"):
            raise ValueError("url: the demo only talks to the local gateway on 127.0.0.1")
        self.url = url

    def call(self, method: str, path: str, key: str | None, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        target = path if path.startswith("http") else self.url + path
        if not target.startswith(self.url):
            raise ValueError(f"url: {target} is not the local gateway")
        request = urllib.request.Request(  # noqa: S310 - loopback only, checked above
            target,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def ok(self, method: str, path: str, key: str | None, body: Any = None) -> Any:
        status, answer = self.call(method, path, key, body)
        if status not in (200, 201):
            raise DemoError(f"{method} {path} answered {status}: {answer}")
        return answer

    def set_clock(self, now: datetime) -> None:
        self.ok("POST", "/_local/clock", ADMIN_KEY, {"now": now.isoformat(), "frozen": True})

    def run(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.ok("POST", "/_local/run", ADMIN_KEY, {})
        return answer

    def outbox(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self.ok("GET", "/_local/outbox", ADMIN_KEY)
        return answer

    def profile(self, kind: str, value: str) -> dict[str, Any] | None:
        status, answer = self.call(
            "GET", f"/v1/profiles/{kind}/{urllib.parse.quote(value, safe='')}", READ_KEY
        )
        if status == 404:
            return None
        if status not in (200, 201):
            raise DemoError(f"GET profile {kind}: {status} {answer}")
        result: dict[str, Any] = answer
        return result

    def decide(self, kind: str, value: str, placement: str, channel: str) -> dict[str, Any]:
        body = {"identifier": {"type": kind, "value": value}, "placement": placement, "channel": channel}
        answer: dict[str, Any] = self.ok("POST", "/v1/decide", READ_KEY, body)
        return answer


class DemoError(Exception):
    """The local stack answered something the story cannot go on from."""


# -- the people and what reached them ------------------------------------------------------------------
@dataclass
class Seen:
    """One row of a customer's table: a message from the outbox or a real-time decision."""

    at: datetime  # UTC
    local: datetime
    channel: str
    text: str
    why: str


@dataclass
class Person:
    key: str
    name: str
    zone: str
    about: str
    lookup: tuple[str, str]  # an identifier the profiles API finds them by
    decisions: list[Seen] = field(default_factory=list)


PEOPLE = {
    p.key: p
    for p in (
        Person(
            "anna",
            "Анна Петрова",
            MOSCOW,
            "anonymous visitor, subscribes from an email campaign",
            ("email", "anna.petrova@example.com"),
        ),
        Person(
            "boris",
            "Борис Смирнов",
            MOSCOW,
            "loyal customer since 2024; buys online and in the store",
            ("user_id", "boris-77"),
        ),
        Person(
            "vera", "Вера Кузнецова", MOSCOW, "no marketing consent; one web order", ("user_id", "vera-12")
        ),
        Person(
            "olga",
            "Ольга Соколова",
            MOSCOW,
            "birthday Dec 4; site, email and the store that day",
            ("user_id", "olga-31"),
        ),
        Person(
            "dmitry",
            "Дмитрий Ким",
            VLADIVOSTOK,
            "birthday Dec 4; a reminder due the same day",
            ("user_id", "dmitry-8"),
        ),
        Person(
            "emma",
            "Emma Wilson",
            SYDNEY,
            "birthday Dec 4, southern hemisphere (summer)",
            ("user_id", "emma-3"),
        ),
    )
}


# -- the story -------------------------------------------------------------------------------------------
@dataclass
class Story:
    api: Api
    out: TextIO
    now: datetime = START
    checks: list[tuple[bool, str]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    clients: dict[str, Any] = field(default_factory=dict)
    people: dict[str, Person] = field(
        default_factory=lambda: {k: replace(p, decisions=[]) for k, p in PEOPLE.items()}
    )

    # -- plumbing ------------------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def step(self, when: datetime, zone: str, text: str) -> None:
        """Move the simulated clock forward to ``when`` (running what falls due) and tell the step."""
        self.advance(when)
        local = when.astimezone(ZoneInfo(zone))
        self.say(f"\n{local:%a %d %b %H:%M} {_city(zone)}  {text}")

    def advance(self, when: datetime, label: str | None = None) -> None:
        """The clock moves forward in steps of at most a day; each POST /_local/run fires every
        schedule tick in between (at its own time) and drains the queues."""
        if when < self.now:
            raise DemoError(f"the story went back in time: {when:%d %b %H:%M} after {self.now:%d %b %H:%M}")
        total = max((when - self.now).total_seconds(), 0)
        progress = Progress(self.out, label, total) if label else None
        while self.now < when:
            self.now = min(self.now + timedelta(days=1), when)
            self.api.set_clock(self.now)
            self.api.run()
            if progress is not None:
                progress.update((self.now - (when - timedelta(seconds=total))).total_seconds(), self.now)
        if progress is not None:
            progress.done()
        self.api.set_clock(when)
        self.api.run()

    def client(self, key: str) -> Any:
        """The stock Segment client of one channel system (sync mode: each call is one request)."""
        from segment.analytics.client import Client

        if key not in self.clients:
            self.clients[key] = Client(
                write_key=key,
                host=self.api.url,
                sync_mode=True,
                gzip=True,
                max_retries=0,
                on_error=lambda error, _batch: self.errors.append(f"{key}: {error}"),
            )
        return self.clients[key]

    def client_time(self, when: datetime) -> datetime:
        """A past event time as the client must stamp it: the client's sentAt is its own (real)
        clock and the intake corrects the skew against the simulated one, as Segment does."""
        return datetime.now(UTC) - (self.now - when)

    def sync(self) -> None:
        self.api.run()

    def expect(self, condition: bool, what: str) -> None:
        self.checks.append((condition, what))
        self.say(f"    {'ok  ' if condition else 'FAIL'} {what}")

    def decide(self, person: str, kind: str, value: str, placement: str, channel: str) -> dict[str, Any]:
        answer = self.api.decide(kind, value, placement, channel)
        who = self.people[person]
        offer = answer.get("offer")
        text = answer["text"]
        if offer:
            text += f" [{offer['name']}, {offer['price']} {offer['currency']}]"
        label = {"site_greeting": "site", "site_banner": "site banner", "pos_greeting": "till"}[placement]
        who.decisions.append(
            Seen(self.now, self.now.astimezone(ZoneInfo(who.zone)), f"{label}", text, answer["why"])
        )
        return answer

    def messages(self, person: str) -> list[dict[str, Any]]:
        pid = self.notes["profile_ids"].get(person)
        return [m for m in self.api.outbox() if m["profile_id"] == pid]

    def why(self, message: dict[str, Any]) -> dict[str, Any]:
        """The why link printed in the message, opened as the customer would (no key)."""
        answer: dict[str, Any] = self.api.ok("GET", message["why_url"], None)
        explanation: dict[str, Any] = answer["explanation"]
        return explanation

    # -- acts ----------------------------------------------------------------------------------------
    def play(self) -> None:
        self.api.set_clock(START)
        self.say(
            f"asusual demo: a retailer's channels from {START:%a %d %b} to {END:%a %d %b %Y} (simulated)"
        )
        self.catalog_and_customers()
        self.anonymous_visitor()
        self.vera_orders()
        self.campaign_subscribe()
        self.next_morning()
        self.late_duplicate()
        self.birthdays()
        self.abandoned_cart()
        self.price_drop()
        self.store_purchase_by_phone()
        self.pet_segment_and_campaign()
        self.weeks_later()
        self.campaign_report()
        self.final_checks()

    def catalog_and_customers(self) -> None:
        self.step(START, MOSCOW, "The merchandiser uploads the catalog; customers sign in on the site")
        answer = self.api.ok("POST", "/v1/catalog/products", ADMIN_KEY, {"products": CATALOG})
        self.expect(
            len(answer.get("accepted", [])) == len(CATALOG), f"catalog: {len(CATALOG)} products stored"
        )
        # The retailer imports its customers as they signed up over the years (identify calls
        # with their original time): their consents count, but nobody is welcomed again.
        web = self.client("web_local_key")
        signed_up = {"timestamp": self.client_time(START - timedelta(days=400))}
        moscow = {"timezone": MOSCOW}
        web.identify(
            "boris-77",
            {
                "email": "boris@example.com",
                "firstName": "Борис",
                "lastName": "Смирнов",
                "phone": "+7 903 555-12-34",
                "gender": "male",
                "address": {"street": "ул. Тверская, 7, кв. 12", "city": "Москва", "postalCode": "125009"},
            },
            context=moscow,
            message_id="import-boris-77-signup",
            **signed_up,
        )
        web.identify(
            "vera-12",
            {
                "email": "vera@example.com",
                "firstName": "Вера",
                "birthday": "1990-12-04",
                "subscriptions": {"email": {"marketing": False}},
            },
            context=moscow,
            **signed_up,
        )
        web.identify(
            "olga-31",
            {
                "email": "olga@example.com",
                "firstName": "Ольга",
                "middleName": "Николаевна",
                "gender": "female",
                "birthday": "1985-12-04",
                "phone": "8 916 200-30-40",
                "subscriptions": {"email": {"marketing": True}, "consent_version": "2025-03"},
            },
            context=moscow,
            **signed_up,
        )
        web.identify(
            "dmitry-8",
            {
                "email": "dmitry@example.com",
                "firstName": "Дмитрий",
                "birthday": "1979-12-04",
                "subscriptions": {"email": {"marketing": True}, "consent_version": "2025-03"},
            },
            context={"timezone": VLADIVOSTOK},
            message_id="import-dmitry-8-signup",
            **signed_up,
        )
        web.identify(
            "emma-3",
            {
                "email": "emma@example.com",
                "firstName": "Emma",
                "birthday": "1992-12-04",
                "locale": "en-AU",
                "address": {"city": "Sydney", "country": "AU"},
                "subscriptions": {"email": {"marketing": True}, "consent_version": "2025-03"},
            },
            context={"timezone": SYDNEY, "locale": "en-AU"},
            **signed_up,
        )
        self.sync()
        # The retailer imports its order history: Boris's orders since 2024, Dmitry's shampoo bought
        # from the app eight days ago. Old statuses move the orders; nobody is told about them.
        history = self.client("store_local_key")
        for n, days in enumerate((700, 540, 420, 300, 160, 45)):
            history.track(
                "boris-77",
                "Order Completed",
                {
                    "order_id": f"H-{n + 1:03d}",
                    "total": 2990 if n % 2 else 1990,
                    "currency": "RUB",
                    "products": [{"product_id": "kettle" if n % 2 else "blanket", "quantity": 1}],
                },
                timestamp=self.client_time(START - timedelta(days=days)),
                message_id=f"import-boris-{n}",
            )
        shampoo_bought = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # reminder due Dec 4, 16:00 in Vladivostok
        self.client("app_local_key").track(
            "dmitry-8",
            "Order Completed",
            {
                "order_id": "A-5521",
                "total": 490,
                "currency": "RUB",
                "products": [
                    {"product_id": "dog-shampoo", "quantity": 1, "price": 490, "category": "Pet care"}
                ],
            },
            timestamp=self.client_time(shampoo_bought),
            context={"timezone": VLADIVOSTOK},
        )
        self.sync()
        boris = self.api.profile("user_id", "boris-77") or {}
        self.expect(
            boris.get("tenure", {}).get("order_count") == 6
            and boris.get("tenure", {}).get("stage") == "loyal",
            "order history imported: Boris has 6 orders, tenure loyal",
        )
        ids = {}
        for key, person in self.people.items():
            if key != "anna":
                found = self.api.profile(*person.lookup)
                ids[key] = found["profile_id"] if found else None
        self.notes["profile_ids"] = ids
        self.expect(
            self.api.outbox() == [],
            "the import told nobody anything: old orders are not news, old subscribers are not new",
        )

    def anonymous_visitor(self) -> None:
        self.step(START + timedelta(minutes=10), MOSCOW, "An anonymous visitor browses the site")
        web = self.client("web_local_key")
        cookie = "anon-5c1e9d"
        self.notes["anna_cookie"] = cookie
        web.page(
            anonymous_id=cookie,
            category="Catalog",
            name="Cat food",
            properties={"path": "/cat-food"},
            context={"timezone": MOSCOW},
            message_id="web-anon-5c1e9d-first-page",  # fixed ids: the same profile ids every run
        )
        self.sync()
        first = self.decide("anna", "anonymous_id", cookie, "site_greeting", "web")
        self.expect(
            first["profile_id"] is not None and not first["known"]["email"],
            f"the site greets a stranger neutrally ({first['greeting']!r}) and may ask for an email",
        )

    def vera_orders(self) -> None:
        vera_order = {
            "order_id": "W-1001",
            "total": 4480,
            "currency": "RUB",
            "products": [
                {"product_id": "blanket", "name": "Плед флисовый", "quantity": 1, "price": 1990},
                {"product_id": "cat-food-2kg", "quantity": 2, "price": 1245},
            ],
        }
        web = self.client("web_local_key")
        self.step(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), MOSCOW, "Vera (no marketing consent) orders")
        web.track("vera-12", "Order Completed", vera_order, message_id="web-W-1001-placed")
        web.track("vera-12", "Order Paid", {"order_id": "W-1001"}, message_id="pay-W-1001")
        self.sync()

    def campaign_subscribe(self) -> None:
        web = self.client("web_local_key")
        cookie = self.notes["anna_cookie"]
        evening = datetime(2026, 12, 1, 19, 40, tzinfo=UTC)  # 22:40 in Moscow
        self.step(evening, MOSCOW, "She clicks 'Subscribe' in the retailer's email campaign")
        self.client("email_local_key").track(
            anonymous_id="esp-contact-4411",
            event="Email Link Clicked",
            properties={"link": "subscribe", "campaign": "december-news"},
            context={"traits": {"email": "anna.petrova@example.com"}},
            message_id="esp-4411-subscribe-click",
        )
        # the landing page in her browser reads the email from the link (analytics.js's
        # ajs_trait_email): the site knows her without asking her to type it
        web.identify(
            anonymous_id=cookie,
            traits={
                "email": "anna.petrova@example.com",
                "firstName": "Анна",
                "lastName": "Петрова",
                "subscriptions": {"email": {"marketing": True}, "consent_version": "2026-10"},
            },
            context={"timezone": MOSCOW, "campaign": {"name": "december-news", "source": "email"}},
        )
        self.sync()
        anna = self.api.profile("anonymous_id", cookie) or {}
        self.notes["profile_ids"]["anna"] = anna.get("profile_id")
        by_email = self.api.profile("email", "anna.petrova@example.com") or {}
        by_contact = self.api.profile("anonymous_id", "esp-contact-4411") or {}
        self.expect(
            anna.get("profile_id") is not None
            and anna.get("profile_id") == by_email.get("profile_id") == by_contact.get("profile_id"),
            "the browser cookie, her email and the email service's contact are one profile",
        )
        self.expect(self.messages("anna") == [], "22:40 in Moscow: her welcome waits for the morning")

    def next_morning(self) -> None:
        web = self.client("web_local_key")
        morning = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 11:00 in Moscow
        self.step(morning, MOSCOW, "Next morning Anna comes back to the site; Boris too")
        cookie = self.notes["anna_cookie"]
        web.page(anonymous_id=cookie, name="Home", properties={"path": "/"}, context={"timezone": MOSCOW})
        self.sync()
        anna = self.decide("anna", "anonymous_id", cookie, "site_greeting", "web")
        boris = self.decide("boris", "user_id", "boris-77", "site_greeting", "web")
        self.notes["greetings"] = (anna, boris)
        self.expect(
            "Анна" in anna["greeting"] and anna["known"]["email"] and anna["known"]["marketing"] == ["email"],
            f"recognized by her cookie: {anna['greeting']!r}; the form does not ask for her email again",
        )
        self.expect(
            anna["context"].get("tenure") == "new"
            and boris["context"].get("tenure") == "loyal"
            and anna["text"].replace("Анна", "") != boris["text"].replace("Борис", ""),
            f"new and loyal are greeted differently: {anna['text']!r} / {boris['text']!r}",
        )
        self.expect(
            anna["context"].get("daypart") == "morning",
            "11:00 in Moscow is morning in the greeting (never 'good evening' at 9 am)",
        )
        web.track(
            anonymous_id=cookie,
            event="Order Completed",
            properties=cat_food_order("W-1002"),
            context={"timezone": MOSCOW},
        )
        web.track(
            "boris-77",
            "Order Completed",
            cat_food_order("W-1003"),
        )
        self.sync()
        self.step(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), MOSCOW, "The warehouse ships Vera's order")
        self.client("store_local_key").track(
            "vera-12",
            "Order Shipped",
            {"order_id": "W-1001", "tracking_number": "RU000123456", "carrier": "СДЭК"},
            message_id="wms-W-1001-shipped",
        )
        self.sync()

    def late_duplicate(self) -> None:
        web = self.client("web_local_key")
        self.step(datetime(2026, 12, 3, 10, 0, tzinfo=UTC), MOSCOW, "Vera's order is delivered")
        web.track("vera-12", "Order Delivered", {"order_id": "W-1001"}, message_id="wms-W-1001-delivered")
        self.sync()
        self.step(
            datetime(2026, 12, 3, 15, 0, tzinfo=UTC),
            MOSCOW,
            "The warehouse's retry queue sends 'shipped' again: same id, then a new one",
        )
        wms = self.client("store_local_key")
        shipped = {"order_id": "W-1001", "tracking_number": "RU000123456", "carrier": "СДЭК"}
        wms.track("vera-12", "Order Shipped", shipped, message_id="wms-W-1001-shipped")
        wms.track("vera-12", "Order Shipped", shipped, message_id="wms-W-1001-shipped-retry-2")
        self.sync()
        got = [m["trigger"] for m in self.messages("vera")]
        self.expect(
            got == ["order_placed", "order_paid", "order_shipped", "order_delivered"],
            f"Vera: each order status once, in order, none twice ({', '.join(got)})",
        )

    def birthdays(self) -> None:
        self.step(datetime(2026, 12, 3, 20, 0, tzinfo=UTC), MOSCOW, "Dec 4 arrives, first in the east")
        self.advance(datetime(2026, 12, 4, 1, 0, tzinfo=UTC), "hourly sweeps into Dec 4")
        self.step(datetime(2026, 12, 4, 1, 0, tzinfo=UTC), SYDNEY, "Emma opens the site in Sydney")
        self.decide("emma", "user_id", "emma-3", "site_banner", "web")
        self.advance(datetime(2026, 12, 4, 8, 30, tzinfo=UTC), "hourly sweeps through Dec 4")
        olga_bd = [m for m in self.messages("olga") if m["trigger"] == "birthday"]
        if not olga_bd:
            raise DemoError("Olga's birthday email did not go out by 11:30 in Moscow on Dec 4")
        offer = self.why(olga_bd[0]).get("offer") or {}
        self.notes["olga_offer"] = offer
        self.step(
            datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
            MOSCOW,
            f"The merchandiser raises the price of {offer.get('name')} by 15 %",
        )
        changed = dict(next(p for p in CATALOG if p["product_id"] == offer.get("product_id")))
        changed["price"] = str((Decimal(changed["price"]) * Decimal("1.15")).quantize(Decimal("1.00")))
        self.api.ok("POST", "/v1/catalog/products", ADMIN_KEY, changed)
        self.step(datetime(2026, 12, 4, 10, 0, tzinfo=UTC), MOSCOW, "Olga opens the site from her phone")
        site = self.decide("olga", "user_id", "olga-31", "site_banner", "web")
        self.step(
            datetime(2026, 12, 4, 15, 30, tzinfo=UTC),
            MOSCOW,
            "Olga pays at the store; the till looks her up by phone",
        )
        till = self.decide("olga", "phone", "8 (916) 200-30-40", "pos_greeting", "store")
        self.notes["olga_site_till"] = (site, till)

    def abandoned_cart(self) -> None:
        """Behaviour: a cart left on the site gets one reminder, 4 hours after its last activity,
        naming what is in it at today's price; a product added to the same cart later reminds
        nobody again."""
        web = self.client("web_local_key")
        when = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
        self.advance(when, "Dec 4 to Dec 6")
        self.step(when, MOSCOW, "Olga puts a blanket and a kettle in her cart on the site, and leaves")
        for n, (pid, price) in enumerate((("blanket", 1990), ("kettle", 2990))):
            self.advance(when + timedelta(minutes=3 * n))
            web.track(
                "olga-31",
                "Product Added",
                {"product_id": pid, "quantity": 1, "price": price, "currency": "RUB"},
            )
            self.sync()
        self.advance(datetime(2026, 12, 6, 13, 0, tzinfo=UTC), "the abandonment sweep, every 15 minutes")
        carts = [m for m in self.messages("olga") if m["trigger"] == "cart_abandonment"]
        body = carts[0]["body"] if carts else ""
        self.expect(
            len(carts) == 1
            and carts[0]["local_sent_at"].startswith("2026-12-06T15:15")
            and "Чайник электрический" in body
            and "Плед флисовый" in body
            and "2\xa0990,00\xa0₽" in body,
            "Olga's cart: one reminder at 15:15 in Moscow, 4 hours after she left, naming the kettle and "
            "the blanket at today's prices",
        )
        why = str(self.why(carts[0])["why"]) if carts else ""
        self.expect("корзине" in why, f"it says why: {why!r}")
        self.step(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), MOSCOW, "Olga adds mittens to the same cart")
        web.track(
            "olga-31",
            "Product Added",
            {"product_id": "wool-mittens", "quantity": 1, "price": 1490, "currency": "RUB"},
        )
        self.sync()
        self.advance(datetime(2026, 12, 8, 10, 0, tzinfo=UTC), "Dec 7 to Dec 8")
        self.expect(
            len([m for m in self.messages("olga") if m["trigger"] == "cart_abandonment"]) == 1,
            "a product added to a cart already reminded of reminds nobody again: once per cart",
        )

    def price_drop(self) -> None:
        """Behaviour: a product the customer looked at gets cheaper; she is told once, at the
        catalog's new price, and the message says why (she viewed it on that day)."""
        web = self.client("web_local_key")
        cookie = self.notes["anna_cookie"]
        when = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
        self.advance(when, "Dec 8 to Dec 9")
        self.step(when, MOSCOW, "Anna looks at the electric kettle twice in the evening, and leaves it")
        for n in range(2):
            self.advance(when + timedelta(minutes=20 * n))
            web.track(
                anonymous_id=cookie,
                event="Product Viewed",
                properties={"product_id": "kettle", "price": 2990, "currency": "RUB"},
                context={"timezone": MOSCOW},
            )
            self.sync()
        drop = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
        self.step(drop, MOSCOW, "The merchandiser cuts the kettle from 2 990 ₽ to 2 390 ₽")
        kettle = dict(next(p for p in CATALOG if p["product_id"] == "kettle"))
        self.api.ok("POST", "/v1/catalog/products", ADMIN_KEY, {**kettle, "price": "2390.00"})
        self.sync()
        drops = [m for m in self.messages("anna") if m["trigger"] == "price_drop"]
        body = drops[0]["body"] if drops else ""
        self.expect(
            len(drops) == 1
            and drops[0]["local_sent_at"].startswith("2026-12-10T12:00")
            and "Чайник электрический" in body
            and "2\xa0390,00\xa0₽" in body,
            "Anna viewed the kettle yesterday: one price-drop email at 12:00 in Moscow, at the new 2 390 ₽",
        )
        why = str(self.why(drops[0])["why"]) if drops else ""
        self.expect("смотрели этот товар" in why, f"it says why: {why!r}")
        olga = [m for m in self.messages("olga") if m["trigger"] == "price_drop"]
        self.expect(
            len(olga) == 1,
            "Olga, who still has the kettle in her cart, is told too, once",
        )
        self.advance(datetime(2026, 12, 11, 9, 0, tzinfo=UTC), "Dec 10 to Dec 11")
        self.expect(
            len([m for m in self.messages("anna") if m["trigger"] == "price_drop"]) == 1,
            "nothing more about the kettle: each change is told once",
        )

    def store_purchase_by_phone(self) -> None:
        when = datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
        self.advance(when, "Dec 11 to Dec 14")
        self.step(when, MOSCOW, "Boris buys cat food again, in the store; the POS knows only his phone")
        till = self.decide("boris", "phone", "8 (903) 555-12-34", "pos_greeting", "store")
        self.client("store_local_key").track(
            anonymous_id="pos-terminal-3",
            event="Order Completed",
            properties=cat_food_order("S-0815"),
            context={"traits": {"phone": "8 (903) 555-12-34"}},
        )
        self.sync()
        by_phone = self.api.profile("phone", "8 (903) 555-12-34") or {}
        boris = self.api.profile("user_id", "boris-77") or {}
        self.expect(
            by_phone.get("profile_id") == boris.get("profile_id")
            and boris.get("tenure", {}).get("order_count") == 8
            and "store" in boris.get("channels", []),
            "the store purchase by phone joined his online account (8 orders, channels web and store)",
        )
        self.expect(
            till["profile_id"] == boris.get("profile_id") and "Борис" in till["greeting"],
            f"the till greets him by name: {till['greeting']!r}",
        )
        self.expect(
            self.api.profile("anonymous_id", "pos-terminal-3") is None,
            "the shared store terminal's id belongs to nobody",
        )

    def pet_segment_and_campaign(self) -> None:
        """The marketer's first tools: a segment from purchase history, a campaign to it at 10:00
        in each member's own zone with a holdout, and the report of what it earned."""
        self.step(datetime(2026, 12, 14, 11, 0, tzinfo=UTC), MOSCOW, "The marketer defines a segment")
        segment = {
            "segment_id": "pets-90d",
            "name": "Покупали для питомцев за 90 дней",
            "rule": {
                "any": [
                    {"purchased": {"category": "Pet food", "within_days": 90}},
                    {"purchased": {"category": "Pet care", "within_days": 90}},
                ]
            },
        }
        self.api.ok("POST", "/v1/segments", ADMIN_KEY, segment)
        self.sync()  # the back-fill pages run
        ids = self.notes["profile_ids"]
        anna = (self.api.profile("email", "anna.petrova@example.com") or {}).get("profile_id")
        ids["anna"] = anna
        found = self.api.ok("GET", "/v1/segments/pets-90d", ADMIN_KEY)
        members = self.api.ok("GET", "/v1/segments/pets-90d/members?limit=50", ADMIN_KEY)["profile_ids"]
        expected = {ids["boris"], ids["dmitry"], anna}
        self.expect(
            found["size"] == 3 and set(members) == expected,
            f"segment «{segment['name']}»: {found['size']} members — Anna and Boris (cat food), "
            "Dmitry (dog shampoo); nobody else",
        )
        campaign = {
            "campaign_id": "pets-december",
            "segment_id": "pets-90d",
            "send_at": {"local_date": "2026-12-16", "local_time": "10:00"},
            "holdout_percent": 50,
            "conversion_window_days": 7,
            "content": {
                "ru": {
                    "subject": "{% if has_name %}{{ name }}, {% endif %}всё для питомцев — к праздникам",
                    "body": "{{ salutation }}!\n\nК праздникам мы собрали корма и уход для ваших "
                    "питомцев.{% if has_offer %} А ещё сегодня: {{ offer.name }} за {{ offer.price_text }}."
                    "{% endif %}\n\n{{ signature }}",
                    "text": "{% if has_name %}{{ name }}, {% endif %}к праздникам — всё для питомцев.",
                },
                "en": {
                    "subject": "{% if has_name %}{{ name }}, {% endif %}everything for your pets",
                    "body": "{{ salutation }}!\n\nFor the holidays we gathered food and care for your "
                    "pets.\n\n{{ signature }}",
                    "text": "Everything for your pets, for the holidays.",
                },
            },
        }
        preview = self.api.ok(
            "POST", "/v1/campaigns/preview", ADMIN_KEY, {**campaign, "profile_id": ids["dmitry"]}
        )
        message = preview.get("message") or {}
        local = str(message.get("local_send_at") or "")
        why: list[str] = next(
            (s["why"] for s in preview.get("sample", []) if s["profile_id"] == ids["dmitry"]), []
        )
        why_text = "; ".join(why)
        self.say(f"    preview for Dmitry: {message.get('subject')!r} at {local[:16]}; why: {why_text}")
        self.expect(
            preview["size"] == 3 and local.startswith("2026-12-16T10:00") and "Дмитрий" in str(message),
            "the preview shows Dmitry's own message, in his name, at 10:00 in Vladivostok; nothing is sent",
        )
        self.api.ok("POST", "/v1/campaigns", ADMIN_KEY, campaign)
        self.advance(datetime(2026, 12, 16, 8, 0, tzinfo=UTC), "Dec 14 to Dec 16")
        self.step(datetime(2026, 12, 16, 8, 0, tzinfo=UTC), MOSCOW, "The campaign has gone out, zone by zone")
        sent = [m for m in self.api.outbox() if m.get("campaign_id") == "pets-december"]
        view = self.api.ok("GET", "/v1/campaigns/pets-december", ADMIN_KEY)
        who = {pid: key for key, pid in ids.items()}
        for m in sent:
            name = self.people[who[m["profile_id"]]].name
            self.say(f"    {name}: {m['local_sent_at'][:16]} local, {m['subject']!r}")
        self.expect(
            [(m["profile_id"], m["local_sent_at"][:16], m["sent_at"][:16]) for m in sent]
            == [(ids["dmitry"], "2026-12-16T10:00", "2026-12-16T00:00")],
            "Dmitry got it once, at 10:00 in Vladivostok (00:00 UTC); Anna, drawn into the holdout, "
            "got nothing",
        )
        why_line = str(self.why(sent[0])["why"]) if sent else ""
        self.expect(
            "Покупали для питомцев за 90 дней" in why_line and "за последние 90 дней" in why_line,
            f"its why link names the segment and says why he is in it: {why_line!r}",
        )
        self.expect(
            ids["boris"] not in {m["profile_id"] for m in sent} and sum(view["skipped"].values()) == 1,
            f"Boris is in the segment but never agreed to marketing: skipped ({', '.join(view['skipped'])}), "
            "not sent",
        )
        self.expect(
            (view["audience"], view["holdout"], view["sent"]) == (3, 1, 1),
            f"audience {view['audience']} = holdout {view['holdout']} + sent {view['sent']} + "
            f"skipped {sum(view['skipped'].values())}",
        )
        self.notes["campaign_recipients"] = {m["profile_id"] for m in sent}
        when = datetime(2026, 12, 18, 3, 0, tzinfo=UTC)
        self.step(when, VLADIVOSTOK, "Dmitry buys dog shampoo again, in the app")
        self.client("app_local_key").track(
            "dmitry-8",
            "Order Completed",
            {
                "order_id": "A-6120",
                "total": 490,
                "currency": "RUB",
                "products": [
                    {"product_id": "dog-shampoo", "quantity": 1, "price": 490, "category": "Pet care"}
                ],
            },
            context={"timezone": VLADIVOSTOK},
        )
        self.sync()

    def campaign_report(self) -> None:
        view = self.api.ok("GET", "/v1/campaigns/pets-december", ADMIN_KEY)
        ids = self.notes["profile_ids"]
        group = "recipients" if ids["dmitry"] in self.notes.get("campaign_recipients", set()) else "holdout"
        conv = view["conversions"]
        self.say(
            f"\nThe campaign «pets-december», a week on: audience {view['audience']}, "
            f"holdout {view['holdout']}, sent {view['sent']}, skipped {view['skipped']}"
        )
        self.say(f"    conversions: recipients {conv['recipients']}, holdout {conv['holdout']}")
        uplift = view.get("uplift") or {}
        self.say(f"    uplift: {uplift.get('verdict')} — {(uplift.get('says') or {}).get('en', '')}")
        self.expect(
            conv[group]["orders"] == 1
            and conv[group]["customers"] == 1
            and conv["recipients" if group == "holdout" else "holdout"]["orders"] == 0,
            f"Dmitry's order on Dec 18 counts for his group ({group}), once",
        )
        self.expect(
            uplift.get("verdict") == "too_small_to_tell",
            "with three customers the report says plainly that it is too small to tell",
        )

    def weeks_later(self) -> None:
        self.advance(END, "Dec 18 to Dec 20")
        self.step(END, MOSCOW, "Three weeks after the story began")

    # -- checks over everything delivered --------------------------------------------------------------
    def final_checks(self) -> None:
        outbox = self.api.outbox()
        ids = self.notes["profile_ids"]
        by_person = {k: [m for m in outbox if m["profile_id"] == pid] for k, pid in ids.items()}
        self.notes["outbox"] = outbox
        self.say("\nWhat the story expected")

        welcome = [m for m in by_person["anna"] if m["trigger"] == "welcome"]
        self.expect(
            len(welcome) == 1 and welcome[0]["local_sent_at"].startswith("2026-12-02T09:00"),
            "quiet hours: Anna subscribed at 22:40 and was welcomed at 09:00 next morning",
        )
        if welcome:
            deferrals = self.why(welcome[0])["quiet_hours"]["deferrals"]
            self.expect(
                [d["reason"] for d in deferrals] == ["quiet_hours"],
                "her welcome's explanation says it waited for quiet hours to end",
            )
        birthdays = {k: [m for m in by_person[k] if m["trigger"] == "birthday"] for k in ids}
        for key in ("olga", "dmitry", "emma"):
            sent = birthdays[key]
            local = datetime.fromisoformat(sent[0]["local_sent_at"]) if len(sent) == 1 else None
            self.expect(
                local is not None and local.date() == BIRTHDAY and local.hour == 10,
                f"{self.people[key].name}: one birthday email at 10:00 local on Dec 4 "
                f"({sent[0]['sent_at'][:16].replace('T', ' ') + ' UTC' if sent else 'none'})",
            )
        self.expect(birthdays["vera"] == [], "Vera has a birthday too, but no marketing consent: no greeting")
        self.expect(
            all(m["topic"] == "transactional" for m in by_person["vera"]) and len(by_person["vera"]) == 4,
            "Vera got her 4 order updates and nothing else",
        )
        seasons = {
            key: (self.why(birthdays[key][0]).get("offer") or {}).get("product_id")
            for key in ("olga", "emma")
            if birthdays[key]
        }
        winter = {p["product_id"] for p in CATALOG if p["seasons"] == ["winter"]}
        summer = {p["product_id"] for p in CATALOG if p["seasons"] == ["summer"]}
        self.expect(
            seasons.get("olga") in winter and seasons.get("emma") in summer,
            f"December offers: winter in Moscow ({seasons.get('olga')}), "
            f"summer in Sydney ({seasons.get('emma')})",
        )
        emma_site = [d for d in self.people["emma"].decisions if d.channel == "site banner"]
        self.expect(
            bool(emma_site)
            and not any(p["name"] in emma_site[0].text for p in CATALOG if p["product_id"] in winter),
            "no down jacket on the site in Sydney's summer",
        )
        self.price_checks()
        dmitry = [m for m in by_person["dmitry"] if m["trigger"] == "replenishment"]
        if dmitry:
            explanation = self.why(dmitry[0])
            local = datetime.fromisoformat(dmitry[0]["local_sent_at"])
            self.expect(
                local.date() == date(2026, 12, 5)
                and local.hour == 9
                and [d["reason"] for d in explanation["quiet_hours"]["deferrals"]] == ["frequency_cap"],
                "frequency cap: Dmitry's reminder, due on his birthday afternoon, waited for 09:00 next day",
            )
        else:
            self.expect(False, "Dmitry's shampoo reminder was sent after his birthday")
        anna_reminder = [m for m in by_person["anna"] if m["trigger"] == "replenishment"]
        boris_reminder = [m for m in by_person["boris"] if m["trigger"] == "replenishment"]
        self.expect(
            len(anna_reminder) == 1 and anna_reminder[0]["local_sent_at"][:10] == "2026-12-19",
            "replenishment: Anna is reminded of cat food on Dec 19, 17 days after buying 2 bags",
        )
        self.expect(
            boris_reminder == [],
            "Boris bought the same on Dec 2, but repurchased in the store on Dec 14: no reminder",
        )
        marketing = [m for m in outbox if m["topic"] == "marketing"]
        per_day: dict[tuple[str, str], int] = {}
        for m in marketing:
            per_day[(m["profile_id"], m["local_sent_at"][:10])] = (
                per_day.get((m["profile_id"], m["local_sent_at"][:10]), 0) + 1
            )
        self.expect(
            all(9 <= datetime.fromisoformat(m["local_sent_at"]).hour < 21 for m in marketing)
            and max(per_day.values(), default=0) <= 1,
            f"every marketing message between 09:00 and 21:00 local, at most one a day "
            f"({len(marketing)} sent)",
        )
        keys = [m["send_once_key"] for m in outbox]
        self.expect(len(keys) == len(set(keys)), f"nothing sent twice ({len(outbox)} messages in the outbox)")
        self.expect(
            all(m["why_url"] and m["body"] for m in outbox)
            and all(self.api.call("GET", m["why_url"], None)[0] == 200 for m in outbox),
            "every message carries a why link that opens its explanation",
        )
        self.expect(
            self.errors == [],
            "the Segment clients saw no errors" + (f": {self.errors}" if self.errors else ""),
        )

    # -- a privacy request, after the report (her why links stop opening) --------------------------------
    def forget_vera(self) -> None:
        """Vera asks what the shop holds about her, then to be forgotten (GDPR art. 15 and 17)."""
        self.say("\nVera asks what is held about her, then to be forgotten (admin key)")
        path = "/v1/profiles/user_id/vera-12"
        held = self.api.ok("GET", f"{path}/export", ADMIN_KEY)
        counts = held["counts"]
        self.expect(
            counts.get("message") == 4 and counts.get("order") == 1 and counts.get("consent", 0) >= 1,
            f"her export holds her order, her 4 messages with their explanations and her consent records "
            f"({sum(counts.values())} items of {len(counts)} kinds)",
        )
        erased = self.api.ok("DELETE", path, ADMIN_KEY)
        self.expect(
            erased["status"] == "completed" and "vera" not in json.dumps(erased).lower(),
            f"erased: {sum(erased['deleted'].values())} items, "
            f"{erased['identifiers_suppressed']} identifiers suppressed; the audit record names nobody",
        )
        mine = [
            m for m in self.notes.get("outbox", []) if m["profile_id"] == self.notes["profile_ids"]["vera"]
        ]
        self.client("web_local_key").identify("vera-12", {"email": "vera@example.com", "firstName": "Вера"})
        self.sync()
        self.expect(
            self.api.profile("email", "vera@example.com") is None
            and self.api.call("GET", f"{path}/export", ADMIN_KEY)[0] == 404
            and all(self.api.call("GET", m["why_url"], None)[0] == 403 for m in mine),
            "afterwards nothing is found by any of her identifiers, a later sign-in does not bring her back, "
            "and her old why links no longer open",
        )

    def price_checks(self) -> None:
        offer = self.notes.get("olga_offer") or {}
        site, till = self.notes.get("olga_site_till", ({}, {}))
        prices = {
            "email": offer.get("price"),
            "site": (site.get("offer") or {}).get("price"),
            "till": (till.get("offer") or {}).get("price"),
        }
        same = len({str(v) for v in prices.values()}) == 1 and None not in prices.values()
        self.expect(
            same and (site.get("offer") or {}).get("product_id") == offer.get("product_id"),
            f"Olga sees one offer at one price all day on email, site and till ({prices['email']}), "
            "although the catalog price rose at noon",
        )


# -- printing ----------------------------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on a terminal; one line when it is done elsewhere (CI logs)."""

    def __init__(self, out: TextIO, label: str, total: float) -> None:
        self.out, self.label, self.total = out, label, max(total, 1.0)
        self.tty = out.isatty()
        self.started = time.monotonic()

    def update(self, done: float, now: datetime) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * min(done / self.total, 1.0))
        bar = "#" * filled + "." * (width - filled)
        self.out.write(f"\r    {self.label:<28} [{bar}] {now:%d %b %H:%M} UTC")
        self.out.flush()

    def done(self) -> None:
        seconds = time.monotonic() - self.started
        if self.tty:
            self.out.write("\r" + " " * 90 + "\r")
        self.out.write(f"    {self.label}: done in {seconds:.1f} s\n")
        self.out.flush()


def _city(zone: str) -> str:
    return {MOSCOW: "Moscow", VLADIVOSTOK: "Vladivostok", SYDNEY: "Sydney"}.get(zone, zone)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def rows(story: Story, person: Person) -> list[Seen]:
    pid = story.notes["profile_ids"].get(person.key)
    seen = list(person.decisions)
    for m in story.notes.get("outbox", []):
        if m["profile_id"] != pid:
            continue
        explanation = story.why(m)
        why = explanation["why"]
        for deferral in reversed(explanation["quiet_hours"].get("deferrals", [])):
            held = datetime.fromisoformat(deferral["deferred_at"]).astimezone(ZoneInfo(person.zone))
            why = f"[waited from {held:%a %H:%M}: {deferral['reason'].replace('_', ' ')}] {why}"
        text = m["subject"] or m["body"]
        seen.append(
            Seen(
                datetime.fromisoformat(m["sent_at"]),
                datetime.fromisoformat(m["local_sent_at"]),
                m["channel"],
                text,
                why,
            )
        )
    return sorted(seen, key=lambda s: s.at)


def report(story: Story) -> None:
    out = story.out
    print("\nWhat each customer received (messages) and saw (site and till decisions)", file=out)
    for person in story.people.values():
        print(f"\n{person.name} · {_city(person.zone)} · {person.about}", file=out)
        print(f"  {'local time':<17} {'channel':<12} {'subject / text':<56} why", file=out)
        for s in rows(story, person):
            print(
                f"  {s.local:%a %d %b %H:%M}  {s.channel:<12} {_clip(s.text, 56):<56} {_clip(s.why, 72)}",
                file=out,
            )


# -- entry -------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", help="where the handlers' JSON logs and metrics go (default: a temp file)")
    return parser.parse_args(argv)


@contextlib.contextmanager
def handler_output(path: str | None) -> Iterator[str]:
    """The handlers print JSON logs and EMF metrics to stdout, as on Lambda; here they go to a file
    and the story keeps the terminal."""
    from asusual.observability import logger

    if path is None:
        handle, path = tempfile.mkstemp(prefix="asusual-demo-", suffix=".log")
        os.close(handle)
    with Path(path).open("w", encoding="utf-8") as sink:
        stream = logger.registered_handler
        previous = stream.setStream(sink) if isinstance(stream, logging.StreamHandler) else None

        def to_sink(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            sink.write(warnings.formatwarning(message, category, filename, lineno, line))

        try:
            with contextlib.redirect_stdout(sink), warnings.catch_warnings():
                warnings.showwarning = to_sink
                yield path
        finally:
            if isinstance(stream, logging.StreamHandler) and previous is not None:
                stream.setStream(previous)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parse_args(argv)
    out = out or sys.stdout
    started = time.monotonic()
    with handler_output(args.log) as log_path:
        runtime = LocalRuntime().start()
        gateway = LocalGateway(runtime, port=0).start()
        story = Story(Api(gateway.url), out)
        try:
            story.play()
            report(story)
            story.forget_vera()
        except DemoError as exc:
            story.checks.append((False, str(exc)))
            print(f"\nthe story stopped: {exc}", file=out)
        finally:
            gateway.stop()
            runtime.stop()
    failed = [what for ok, what in story.checks if not ok]
    print(f"\nhandler logs and metrics: {log_path}", file=out)
    elapsed = time.monotonic() - started
    if failed:
        print(
            f"demo FAILED in {elapsed:.0f} s: {len(failed)} of {len(story.checks)} expectations failed:",
            file=out,
        )
        for what in failed:
            print(f"  - {what}", file=out)
        return 1
    print(f"demo passed in {elapsed:.0f} s: all {len(story.checks)} expectations held", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
