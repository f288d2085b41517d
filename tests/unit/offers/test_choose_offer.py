from datetime import date
from decimal import Decimal

from asusual.catalog.models import CatalogProduct, Season
from asusual.offers.service import choose_offer
from asusual.profiles.state import ProfileState


def _product(product_id: str, **fields: object) -> CatalogProduct:
    base: dict[str, object] = {
        "product_id": product_id,
        "name": product_id,
        "price": Decimal("100"),
        "currency": "RUB",
        "promoted": True,
    }
    return CatalogProduct.model_validate({**base, **fields})


def test_choose_offer_out_of_stock_product_never_chosen():
    pool = [_product("gone", in_stock=False), _product("here")]
    for day in (date(2026, 12, d) for d in range(1, 29)):
        chosen = choose_offer(pool, ProfileState(), Season.WINTER, "p_1", day)
        assert chosen is not None and chosen.product_id == "here"


def test_choose_offer_only_product_out_of_stock_no_offer():
    assert (
        choose_offer(
            [_product("gone", in_stock=False)], ProfileState(), Season.WINTER, "p_1", date(2026, 12, 6)
        )
        is None
    )


def test_catalog_product_in_stock_by_default():
    assert _product("x").in_stock is True
    assert _product("x").model_dump()["in_stock"] is True
