"""One product model family with explicit conversions: catalog → as shown → as a template sees it."""

from decimal import Decimal

from asusual.catalog.models import CatalogProduct, ContentProduct, PricedProduct, Product, Season

FOOD = CatalogProduct(
    product_id="purina-1",
    name="Корм Purina One",
    price=Decimal("1290.50"),
    currency="RUB",
    category="Корм для кошек",
    seasons=frozenset({Season.WINTER}),
    replenish_days=30,
    sensitive=True,
    promoted=True,
)


def test_catalog_product_priced_keeps_every_shared_field_and_drops_the_catalogs_own():
    assert FOOD.priced() == PricedProduct(
        product_id="purina-1",
        name="Корм Purina One",
        price=Decimal("1290.50"),
        currency="RUB",
        category="Корм для кошек",
        sensitive=True,
    )


def test_priced_product_shown_adds_the_quantity_and_keeps_the_kept_price():
    kept = FOOD.priced().model_copy(update={"price": Decimal("1200")})
    assert kept.shown(2) == ContentProduct(
        product_id="purina-1",
        name="Корм Purina One",
        price=Decimal("1200"),
        currency="RUB",
        category="Корм для кошек",
        sensitive=True,
        quantity=2,
    )
    assert kept.shown().quantity is None


def test_priced_product_json_as_stored_by_earlier_versions_reads_and_writes_the_same():
    stored = (
        '{"product_id":"purina-1","name":"Корм Purina One","price":"1290.50","currency":"RUB",'
        '"category":"Корм для кошек","sensitive":true}'
    )
    product = PricedProduct.model_validate_json(stored)
    assert product.price == Decimal("1290.50")
    assert product.model_dump_json() == stored
    assert product.model_dump()["price"] == "1290.50"  # exact, never a float


def test_unknown_product_priced_without_a_price_reads_null():
    assert PricedProduct(product_id="x", name="x", price=None, currency=None).model_dump(mode="json") == {
        "product_id": "x",
        "name": "x",
        "price": None,
        "currency": None,
        "category": None,
        "sensitive": False,
    }


def test_every_member_of_the_family_carries_the_shared_fields():
    for member in (CatalogProduct, PricedProduct, ContentProduct):
        assert list(Product.model_fields) == list(member.model_fields)[: len(Product.model_fields)]
