"""Back in stock and price drop on DynamoDB Local: the interest index's conditional write (an
older view never replaces a newer one) and a fan-out whose every page is delivered twice, which
still publishes each interested customer once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from asusual.catalog.models import CatalogProduct
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState, Stamped
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.interests import DynamoInterestRepository, EventualProfiles
from asusual.store.profiles import profile_item
from asusual.triggers.models import Interest
from asusual.triggers.stock import DONE, FanoutDeps, StockJob, fanout_page
from tests.changes import price_drop

CUSTOMERS = 7


def test_interest_older_time_never_replaces_a_newer_one_and_the_index_holds_one_entry(ddb, table, engine):
    repo = DynamoInterestRepository(ddb, table)
    now = engine.clock.now()

    def at(hours: int, how: str = "viewed") -> Interest:
        return Interest(profile_id="p_1", product_id="sku-1", at=now - timedelta(hours=hours), how=how)

    assert repo.record_interest(at(2), now + timedelta(days=30))
    assert not repo.record_interest(at(5, "added"), now + timedelta(days=30))  # older: refused
    assert repo.record_interest(at(1, "added"), now + timedelta(days=30))
    found, cursor = repo.interested("sku-1", now - timedelta(days=30), 10, None)
    assert found == [at(1, "added")] and cursor is None
    assert repo.interested("sku-1", now - timedelta(minutes=30), 10, None) == ([], None)  # out of the window


def test_fanout_with_every_page_delivered_twice_publishes_each_customer_once(ddb, table, engine):
    now = engine.clock.now()
    consent = {"email.marketing": Stamped(value={"subscribed": True}, at=now, msg="m0")}
    interests = DynamoInterestRepository(ddb, table)
    for n in range(CUSTOMERS):
        pid = f"p_{n}"
        profile = Profile(profile_id=pid, created_at=now, parts={pid: ProfileState(subscriptions=consent)})
        ddb.put_item(TableName=table, Item=profile_item(profile))
        seen = Interest(profile_id=pid, product_id="sku-1", at=now - timedelta(hours=n + 1), how="viewed")
        interests.record_interest(seen, now + timedelta(days=30))
    catalog = DynamoCatalogRepository(ddb, table)
    product = CatalogProduct(
        product_id="sku-1", name="Kettle", price=Decimal(2400), currency="RUB", updated_at=now
    )
    catalog.put_products([product])
    change = price_drop(now)
    published: list = []
    queue: list[StockJob] = [StockJob(change=change)]

    class Publisher:
        def publish(self, intents):
            published.extend(intents)

    class Jobs:
        def send(self, jobs):
            queue.extend(jobs)

    deps = FanoutDeps(
        catalog=catalog,
        interests=interests,
        progress=interests,
        jobs=Jobs(),
        profiles=EventualProfiles(ddb, table),
        publisher=Publisher(),
        page_size=3,
    )
    outcomes = []
    while queue:
        job = queue.pop(0)
        outcomes.append(fanout_page(job, deps, now).outcome)
        outcomes.append(fanout_page(job, deps, now).outcome)  # the same message again
    assert outcomes == ["page", "stale", "page", "stale", "done", "stale"]
    assert sorted(i.profile_id for i in published) == [f"p_{n}" for n in range(CUSTOMERS)]
    stored = interests.position(change.change_id)
    assert stored is not None and stored[0] == DONE
