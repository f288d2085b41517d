"""The catalog upload use case on an in-memory repository."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from asusual.catalog.changes import ChangeKind, ProductChange
from asusual.catalog.models import CatalogProduct, Season
from asusual.catalog.service import MAX_PRODUCTS, Stored, get_product, upload
from asusual.errors import BadRequest, NotFound, TransientError
from tests.changes import price_drop

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeCatalog:
    """Keeps the newest version of each product, as the DynamoDB condition does."""

    def __init__(self) -> None:
        self.products: dict[str, CatalogProduct] = {}
        self.owed: dict[str, list[ProductChange]] = {}
        self.calls = 0

    def store_products(self, products: list[CatalogProduct]) -> Stored:
        self.calls += 1
        stored_now = Stored()
        for product in products:
            stored = self.products.get(product.product_id)
            assert product.updated_at is not None
            if (
                stored is not None
                and stored.updated_at is not None
                and stored.updated_at > product.updated_at
            ):
                stored_now.superseded.append(product.product_id)
            else:
                if stored is not None:
                    stored_now.replaced[product.product_id] = stored
                if owed := self.owed.pop(product.product_id, None):
                    stored_now.owed[product.product_id] = owed
                self.products[product.product_id] = product
        return stored_now

    def owe_changes(self, product: CatalogProduct, changes: list[ProductChange]) -> None:
        if self.products.get(product.product_id) == product:
            self.owed[product.product_id] = changes

    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]:
        return {p: self.products[p] for p in product_ids if p in self.products}


@pytest.fixture
def repo() -> FakeCatalog:
    return FakeCatalog()


def item(product_id="sku-1", **fields):
    return {"product_id": product_id, "name": "Cat food", "price": "10.50", "currency": "rub", **fields}


def test_single_product_is_stamped_and_stored(repo):
    result = upload(repo, item(seasons=["winter"], updated_at="1999-01-01T00:00:00Z"), NOW)
    assert (result.accepted, result.rejected, result.superseded) == (["sku-1"], [], [])
    stored = repo.products["sku-1"]
    assert stored.updated_at == NOW and stored.price == Decimal("10.50") and stored.currency == "RUB"
    assert stored.seasons == frozenset({Season.WINTER})


def test_single_invalid_product_raises_bad_request_naming_the_field(repo):
    with pytest.raises(BadRequest, match=r"^price: Input should be greater than or equal to 0$"):
        upload(repo, item(price=-1), NOW)
    assert repo.calls == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (None, "body"),
        ("sku-1", "body"),
        ([item()], "body"),
        ({"products": {"sku-1": item()}}, "products"),
        ({"products": [], "replace_all": True}, "replace_all"),
        ({"products": [item(f"sku-{i}") for i in range(MAX_PRODUCTS + 1)]}, "products"),
    ],
)
def test_unusable_body_raises_bad_request_naming_the_field(repo, payload, field):
    with pytest.raises(BadRequest) as raised:
        upload(repo, payload, NOW)
    assert raised.value.message.startswith(f"{field}:")


def test_bulk_rejects_bad_items_alone_with_their_index_and_field(repo):
    payload = {
        "products": [
            item("ok-1"),
            item("cheap", price=-0.01),
            "not a product",
            item(None),
            item("ok-2", replenish_days=None, category="pharmacy", sensitive=True),
        ]
    }
    result = upload(repo, payload, NOW)
    assert result.accepted == ["ok-1", "ok-2"] and result.superseded == []
    assert [(r.index, r.product_id) for r in result.rejected] == [(1, "cheap"), (2, None), (3, None)]
    assert result.rejected[0].reason == "price: Input should be greater than or equal to 0"
    assert result.rejected[1].reason == "products[2]: must be a JSON object"
    assert result.rejected[2].reason.startswith("product_id: ")
    assert set(repo.products) == {"ok-1", "ok-2"} and repo.products["ok-2"].sensitive


def test_bulk_with_only_bad_items_stores_nothing_and_answers_the_rejections(repo):
    result = upload(repo, {"products": [item(price=-1), item(currency="rubles")]}, NOW)
    assert result.accepted == [] and len(result.rejected) == 2 and repo.calls == 0


def test_empty_bulk_is_accepted_and_stores_nothing(repo):
    assert upload(repo, {"products": []}, NOW).model_dump() == {
        "accepted": [],
        "rejected": [],
        "superseded": [],
    }
    assert repo.calls == 0


def test_repeated_product_id_last_one_wins_and_earlier_ones_are_rejected(repo):
    payload = {"products": [item(price=1), item("other"), item(price=2), item(price=-5), item(price=3)]}
    result = upload(repo, payload, NOW)
    assert result.accepted == ["other", "sku-1"]
    rejected = {r.index: r.reason for r in result.rejected}
    assert rejected[0] == rejected[2] == "product_id: repeated later in this upload"
    assert rejected[3].startswith("price:") and 4 not in rejected
    assert repo.products["sku-1"].price == 3


def test_products_stored_by_a_newer_upload_are_reported_superseded(repo):
    upload(repo, {"products": [item(price=2)]}, NOW)
    result = upload(repo, {"products": [item(price=1), item("fresh")]}, NOW - timedelta(seconds=1))
    assert result.accepted == ["fresh"] and result.superseded == ["sku-1"]
    assert repo.products["sku-1"].price == 2


def test_get_product_returns_the_stored_product_or_raises_not_found(repo):
    upload(repo, item(), NOW)
    assert get_product(repo, "sku-1").name == "Cat food"
    with pytest.raises(NotFound, match=r"^product_id: "):
        get_product(repo, "sku-2")


# -- restocks and price drops (asusual.catalog.changes) --------------------------------------------
class Announcer:
    def __init__(self, fail: bool = False) -> None:
        self.announced: list[ProductChange] = []
        self.fail = fail

    def announce(self, changes):
        if self.fail:
            raise TransientError("the stock queue cannot be reached; retry")
        self.announced.extend(changes)


def changes_of(repo, before: dict, after: dict) -> list[tuple[str, str, str]]:
    announcer = Announcer()
    upload(repo, item(**before), NOW - timedelta(hours=1), announcer=announcer)
    upload(repo, item(**after), NOW, announcer=announcer)
    return [(c.change.value, f"{c.previous_price:f}", f"{c.price:f}") for c in announcer.announced]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"price": "3000", "in_stock": False}, {"price": "3000"}, [("back_in_stock", "3000", "3000")]),
        ({"price": "3000", "in_stock": False}, {"price": "2400"}, [("back_in_stock", "3000", "2400")]),
        ({"price": "3000"}, {"price": "2400"}, [("price_drop", "3000", "2400")]),
        ({"price": "3000"}, {"price": "2700"}, [("price_drop", "3000", "2700")]),  # exactly 10 %
        ({"price": "3000"}, {"price": "2701"}, []),  # less than 10 %
        ({"price": "3000"}, {"price": "3000"}, []),  # equal
        ({"price": "3000"}, {"price": "3600"}, []),  # a rise
        ({"price": "3000"}, {"price": "2400", "in_stock": False}, []),  # cheaper but sold out
        ({"price": "3000", "in_stock": False}, {"price": "2400", "in_stock": False}, []),
        ({"price": "3000", "currency": "RUB"}, {"price": "30", "currency": "EUR"}, []),  # another currency
        ({"price": "0"}, {"price": "0"}, []),
    ],
)
def test_upload_announces_a_restock_or_a_drop_of_at_least_the_share_only(repo, before, after, expected):
    assert changes_of(repo, before, after) == expected


def test_upload_of_a_new_product_announces_nothing(repo):
    announcer = Announcer()
    upload(repo, item(price="2400"), NOW, announcer=announcer)
    assert announcer.announced == []


def test_upload_with_a_larger_share_needs_a_larger_drop(repo):
    announcer = Announcer()
    upload(
        repo, item(price="3000"), NOW - timedelta(hours=1), announcer=announcer, drop_share=Decimal("0.25")
    )
    upload(repo, item(price="2400"), NOW, announcer=announcer, drop_share=Decimal("0.25"))
    assert announcer.announced == []


def test_upload_whose_announcement_fails_keeps_the_change_owed_and_the_retry_announces_it_once(repo):
    upload(repo, item(price="3000", in_stock=False), NOW - timedelta(hours=1), announcer=Announcer())
    with pytest.raises(TransientError):
        upload(repo, item(price="3000"), NOW, announcer=Announcer(fail=True))
    retry = Announcer()
    result = upload(repo, item(price="3000"), NOW + timedelta(seconds=5), announcer=retry)
    assert result.accepted == ["sku-1"]
    assert [(c.change, c.changed_at) for c in retry.announced] == [(ChangeKind.BACK_IN_STOCK, NOW)]
    later = Announcer()
    upload(repo, item(price="3000"), NOW + timedelta(seconds=10), announcer=later)
    assert later.announced == []


def test_change_holds_only_while_in_stock_and_at_or_below_the_dropped_price():
    change = price_drop(NOW)
    product = CatalogProduct(product_id="sku-1", name="Cat food", price=Decimal(2400), currency="RUB")
    assert change.holds(product)
    assert change.holds(product.model_copy(update={"price": Decimal(2000)}))
    assert not change.holds(product.model_copy(update={"price": Decimal(3000)}))
    assert not change.holds(product.model_copy(update={"in_stock": False}))
    assert not change.holds(None)
    restock = change.model_copy(update={"change": ChangeKind.BACK_IN_STOCK})
    assert restock.holds(product.model_copy(update={"price": Decimal(3000)}))
    assert restock.change_id != change.change_id
