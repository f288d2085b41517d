"""Back in stock and price drop: the interest an event records, the fan-out's pages (merged
profiles told once, consent, purchases since, replayed pages), and the kinds' obsolete hook."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from asusual.catalog.changes import ChangeKind
from asusual.catalog.models import CatalogProduct
from asusual.profiles.model import Profile
from asusual.profiles.processor import Outcome
from asusual.profiles.state import OrderFact, ProductLine, ProductViews, ProfileState, Stamped
from asusual.triggers.kinds import back_in_stock, price_drop
from asusual.triggers.models import BackInStockFacts, Interest, PriceDropFacts
from asusual.triggers.stock import DONE, FanoutDeps, StockJob, fanout_page, interest_of
from tests.changes import price_drop as dropped
from tests.unit.events import T0, event

WINDOW = timedelta(days=30)
NOW = T0 + timedelta(hours=1)
CONSENT = {"email.marketing": Stamped(value={"subscribed": True}, at=T0, msg="m0")}


def state(*views: datetime, consent=True, orders=()) -> ProfileState:
    return ProfileState(
        subscriptions=CONSENT if consent else {},
        views={"sku-1": ProductViews(at=tuple(sorted(views, reverse=True)))} if views else {},
        orders={o.order_id: o for o in orders},
    )


def profile(pid="p1", *parts: ProfileState, merged_into=None) -> Profile:
    return Profile(
        profile_id=pid,
        created_at=T0 - timedelta(days=60),
        parts={f"{pid}-{n}": s for n, s in enumerate(parts or (state(),))},
        merged_into=merged_into,
    )


def outcome(*views: datetime) -> Outcome:
    return Outcome(profile_id="p1", profile=profile("p1", state(*views)))


def track(name="Product Viewed", minutes=0, **props):
    return event("track", event=name, minutes=minutes, properties=props or {"product_id": "sku-1"})


# -- interest --------------------------------------------------------------------------------------
def test_interest_of_a_first_view_is_recorded_with_its_time():
    assert interest_of(track(), outcome(T0), WINDOW, NOW) == Interest(
        profile_id="p1", product_id="sku-1", at=T0, how="viewed"
    )


def test_interest_of_a_view_within_a_day_after_another_is_not_written_again():
    assert interest_of(track(minutes=180), outcome(T0, T0 + timedelta(minutes=180)), WINDOW, NOW) is None


def test_interest_of_a_view_a_day_after_the_last_one_is_written():
    later = T0 + timedelta(days=1)
    found = interest_of(track(minutes=24 * 60), outcome(T0, later), WINDOW, later)
    assert found is not None and found.at == later


def test_interest_of_a_redelivered_view_decides_as_the_first_delivery():
    # the profile already holds this very view (the redelivery follows its profile write)
    assert interest_of(track(), outcome(T0), WINDOW, NOW) is not None


def test_interest_of_an_add_is_written_even_after_a_view_the_same_day():
    found = interest_of(track("Product Added", minutes=10), outcome(T0), WINDOW, NOW)
    assert found is not None and found.how == "added"


def test_interest_of_a_view_by_sku_when_no_product_id():
    found = interest_of(track(sku="SKU-9"), outcome(), WINDOW, NOW)
    assert found is not None and found.product_id == "SKU-9"


@pytest.mark.parametrize(
    "case",
    [
        track("Order Completed"),
        track(name="Product Viewed", category="tea"),  # no product id
        track(product_id=True),
    ],
)
def test_interest_of_other_events_or_without_a_product_is_none(case):
    assert interest_of(case, outcome(), WINDOW, NOW) is None


def test_interest_of_a_view_older_than_the_window_on_arrival_is_none():
    assert interest_of(track(), outcome(T0), WINDOW, T0 + WINDOW) is None


# -- fan-out ---------------------------------------------------------------------------------------
PRODUCT = CatalogProduct(
    product_id="sku-1", name="Kettle", price=Decimal(2400), currency="RUB", updated_at=NOW
)
DROP = dropped(NOW)


class Fakes:
    def __init__(self, interests: list[Interest], profiles: list[Profile], product=PRODUCT) -> None:
        self.index = sorted(interests, key=lambda i: (i.at, i.profile_id))
        self.profiles = {p.profile_id: p for p in profiles}
        self.product = product
        self.positions: dict[str, tuple[str, str]] = {}
        self.sent: list[StockJob] = []
        self.published: list = []

    # catalog, profiles
    def get_products(self, ids):
        return {self.product.product_id: self.product} if self.product else {}

    def load(self, ids):
        return {i: self.profiles[i] for i in ids if i in self.profiles}

    # the interest index
    def interested(self, product_id, since, limit, cursor):
        rows = [
            i for i in self.index if i.at >= since and (cursor is None or f"{i.at}#{i.profile_id}" > cursor)
        ]
        page = rows[:limit]
        more = len(rows) > limit
        return page, (f"{page[-1].at}#{page[-1].profile_id}" if more else None)

    # progress
    def position(self, change_id):
        return self.positions.get(change_id)

    def advance(self, change_id, at, to, now):
        current = self.positions.get(change_id)
        if (current[0] if current else None) != at:
            return False
        self.positions[change_id] = (to, at or "")
        return True

    def send(self, jobs):
        self.sent.extend(jobs)

    def publish(self, intents):
        self.published.extend(intents)

    def deps(self, page_size=500) -> FanoutDeps:
        return FanoutDeps(
            catalog=self,
            interests=self,
            progress=self,
            jobs=self,
            profiles=self,
            publisher=self,
            window=WINDOW,
            page_size=page_size,
        )

    def run(self, job: StockJob, page_size=500, retried=False):
        return fanout_page(job, self.deps(page_size), NOW, retried=retried)


def wanted(pid, minutes=0, how="viewed"):
    return Interest(profile_id=pid, product_id="sku-1", at=T0 - timedelta(minutes=minutes), how=how)


def test_fanout_one_intent_per_interested_customer_with_the_price_drop_facts():
    fakes = Fakes([wanted("p1"), wanted("p2", 5, "added")], [profile("p1"), profile("p2")])
    report = fakes.run(StockJob(change=DROP))
    assert (report.outcome, report.read, report.emitted) == ("done", 2, 2)
    by_profile = {i.profile_id: i for i in fakes.published}
    facts = by_profile["p2"].facts
    assert isinstance(facts, PriceDropFacts)
    assert (facts.interest, facts.price, facts.previous_price, facts.product_name) == (
        "added",
        Decimal(2400),
        Decimal(3000),
        "Kettle",
    )
    assert by_profile["p1"].send_once_key == "price_drop:p1:sku-1:2400:RUB"
    assert fakes.positions[DROP.change_id] == (DONE, "")


def test_fanout_two_merged_profiles_of_one_customer_get_one_intent_for_the_live_one():
    fakes = Fakes(
        [wanted("p1", 60), wanted("p2", 5)],
        [profile("p1", state(), merged_into="p2"), profile("p2")],
    )
    fakes.run(StockJob(change=DROP))
    [intent] = fakes.published
    assert intent.profile_id == "p2" and intent.facts.interested_at == T0 - timedelta(minutes=5)


def test_fanout_merged_profiles_in_different_pages_share_one_send_once_key():
    fakes = Fakes([wanted("p1", 60), wanted("p2", 5)], [profile("p1", merged_into="p2"), profile("p2")])
    fakes.run(StockJob(change=DROP), page_size=1)
    [following] = fakes.sent
    fakes.run(following, page_size=1)
    assert [i.send_once_key for i in fakes.published] == ["price_drop:p2:sku-1:2400:RUB"] * 2


def test_fanout_skips_customers_without_consent_who_bought_it_since_or_unknown():
    order = OrderFact(
        order_id="o1", at=T0 + timedelta(minutes=1), msg="m", products=(ProductLine(product_id="sku-1"),)
    )
    fakes = Fakes(
        [wanted("p1"), wanted("p2"), wanted("p3"), wanted("gone")],
        [profile("p1", state(consent=False)), profile("p2", state(orders=(order,))), profile("p3")],
    )
    report = fakes.run(StockJob(change=DROP))
    assert [i.profile_id for i in fakes.published] == ["p3"]
    assert report.skipped == {"no_consent": 1, "already_bought": 1, "unknown_profile": 1}


def test_fanout_reads_pages_in_turn_and_a_replayed_page_does_nothing():
    fakes = Fakes([wanted(f"p{n}", n) for n in range(5)], [profile(f"p{n}") for n in range(5)])
    first = StockJob(change=DROP)
    assert fakes.run(first, page_size=2).outcome == "page"
    assert fakes.run(first, page_size=2).outcome == "stale"  # a duplicate delivery
    while fakes.sent:
        fakes.run(fakes.sent.pop(0), page_size=2)
    assert sorted(i.profile_id for i in fakes.published) == [f"p{n}" for n in range(5)]
    assert fakes.positions[DROP.change_id][0] == DONE


def test_fanout_retried_page_whose_successor_was_lost_sends_it_again():
    fakes = Fakes([wanted(f"p{n}", n) for n in range(3)], [profile(f"p{n}") for n in range(3)])
    first = StockJob(change=DROP)
    fakes.run(first, page_size=2)
    lost = fakes.sent.pop()
    report = fakes.run(first, page_size=2, retried=True)
    assert report.outcome == "resent" and fakes.sent == [lost]


def test_fanout_of_a_change_the_catalog_no_longer_shows_tells_nobody():
    back_up = PRODUCT.model_copy(update={"price": Decimal(3000)})
    fakes = Fakes([wanted("p1")], [profile("p1")], product=back_up)
    assert fakes.run(StockJob(change=DROP)).outcome == "no_longer_holds"
    assert fakes.published == [] and fakes.positions[DROP.change_id][0] == DONE


def test_fanout_back_in_stock_key_names_the_restock_time():
    restock = DROP.model_copy(update={"change": ChangeKind.BACK_IN_STOCK})
    fakes = Fakes([wanted("p1")], [profile("p1")])
    fakes.run(StockJob(change=restock))
    [intent] = fakes.published
    assert isinstance(intent.facts, BackInStockFacts)
    assert intent.send_once_key == f"back_in_stock:p1:sku-1:{NOW.isoformat()}"


def test_fanout_reads_only_interests_of_the_window():
    fakes = Fakes([wanted("p1", 60 * 24 * 31), wanted("p2")], [profile("p1"), profile("p2")])
    fakes.run(StockJob(change=DROP))
    assert [i.profile_id for i in fakes.published] == ["p2"]


# -- kinds -----------------------------------------------------------------------------------------
FACTS = PriceDropFacts(
    product_id="sku-1",
    product_name="Kettle",
    interest="viewed",
    interested_at=T0,
    interested_on=T0.date(),
    changed_at=NOW,
    price=Decimal(2400),
    previous_price=Decimal(3000),
    currency="RUB",
)


@pytest.mark.parametrize(
    ("product", "orders", "expected"),
    [
        (PRODUCT, (), None),
        (PRODUCT.model_copy(update={"price": Decimal(2000)}), (), None),
        (PRODUCT.model_copy(update={"price": Decimal(2500)}), (), "price_back_up"),
        (PRODUCT.model_copy(update={"in_stock": False}), (), "out_of_stock"),
        (None, (), "not_in_catalog"),
        (
            PRODUCT,
            (OrderFact(order_id="o", at=T0, msg="m", products=(ProductLine(product_id="sku-1"),)),),
            "already_bought",
        ),
        (
            PRODUCT,
            (
                OrderFact(
                    order_id="o",
                    at=T0 - timedelta(days=1),
                    msg="m",
                    products=(ProductLine(product_id="sku-1"),),
                ),
            ),
            None,
        ),
    ],
)
def test_price_drop_obsolete_when_sold_out_bought_or_the_price_is_back_up(product, orders, expected):
    catalog = {"sku-1": product} if product else {}
    assert price_drop.KIND.obsolete(FACTS, state(orders=orders), catalog, NOW) == expected


def test_back_in_stock_obsolete_only_when_sold_out_again_or_bought_not_for_a_price_rise():
    facts = BackInStockFacts(
        **FACTS.model_dump(
            include={"product_id", "product_name", "interest", "interested_at", "interested_on", "changed_at"}
        )
    )
    kind = back_in_stock.KIND
    assert (
        kind.obsolete(facts, state(), {"sku-1": PRODUCT.model_copy(update={"price": Decimal(9000)})}, NOW)
        is None
    )
    assert (
        kind.obsolete(facts, state(), {"sku-1": PRODUCT.model_copy(update={"in_stock": False})}, NOW)
        == "out_of_stock"
    )
    assert kind.products(facts, {"sku-1": PRODUCT}) == [PRODUCT.priced()]
    assert kind.prices_products and kind.useful_life == timedelta(days=3)
    assert kind.product_ids(facts) == frozenset({"sku-1"})
