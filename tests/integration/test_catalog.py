"""The product catalog admin API end to end on moto: POST/GET /v1/catalog/products."""

from datetime import timedelta
from decimal import Decimal

import pytest

from asusual.catalog.models import CatalogProduct
from asusual.store import clients
from asusual.store.catalog import DynamoCatalogRepository
from tests.integration.conftest import basic

PRODUCTS = "/v1/catalog/products"


def product(product_id="purina-one", **fields):
    return {
        "product_id": product_id,
        "name": "Purina One, 1.5 kg",
        "price": 1290.5,
        "currency": "RUB",
        **fields,
    }


def test_single_product_is_stored_and_read_back_exactly(admin_api, clock):
    answer = admin_api(
        "POST",
        PRODUCTS,
        product(
            price="1290.50",
            currency="rub",
            category="pet food",
            seasons=["winter", "autumn"],
            replenish_days=30,
            sensitive=False,
        ),
    )
    assert answer.status == 200, answer.body
    assert answer.json() == {"accepted": ["purina-one"], "rejected": [], "superseded": []}
    stored = admin_api("GET", f"{PRODUCTS}/purina-one", key="read_local_key")
    assert stored.status == 200, stored.body
    body = stored.json()
    assert body["price"] == "1290.50" and body["currency"] == "RUB"
    assert sorted(body["seasons"]) == ["autumn", "winter"]
    assert body["replenish_days"] == 30 and body["category"] == "pet food" and body["sensitive"] is False
    assert CatalogProduct.model_validate(body).updated_at == clock.now()


def test_product_id_with_reserved_characters_is_found_by_its_encoded_path(admin_api):
    assert admin_api("POST", PRODUCTS, product("SKU 42/blue")).status == 200
    assert admin_api("GET", f"{PRODUCTS}/SKU%2042%2Fblue").json()["product_id"] == "SKU 42/blue"


def test_bulk_of_1000_products_is_accepted_and_every_one_is_readable(admin_api, runtime):
    answer = admin_api("POST", PRODUCTS, {"products": [product(f"sku-{i}", price=i) for i in range(1000)]})
    assert answer.status == 200, answer.body
    result = answer.json()
    assert len(result["accepted"]) == 1000 and result["rejected"] == [] and result["superseded"] == []
    repo = DynamoCatalogRepository(clients.dynamodb(), "asusual-local")
    stored = repo.get_products({f"sku-{i}" for i in range(1000)} | {"not-there"})
    assert len(stored) == 1000 and stored["sku-999"].price == 999


def test_bulk_of_1001_products_is_400_naming_products(admin_api):
    answer = admin_api("POST", PRODUCTS, {"products": [product(f"sku-{i}") for i in range(1001)]})
    assert answer.status == 400 and answer.json()["message"].startswith("products:")
    assert admin_api("GET", f"{PRODUCTS}/sku-0").status == 404  # nothing of it was stored


def test_bulk_with_bad_items_stores_the_others_and_names_each_field(admin_api):
    unnamed = product("no-name")
    del unnamed["name"]
    answer = admin_api(
        "POST",
        PRODUCTS,
        {
            "products": [
                product("good-1"),
                product("negative", price=-1),
                product("monsoon", seasons=["summer", "monsoon"]),
                product("rubles", currency="rubles"),
                unnamed,
                product("good-2", seasons=[]),
            ]
        },
    )
    assert answer.status == 200, answer.body
    result = answer.json()
    assert result["accepted"] == ["good-1", "good-2"] and result["superseded"] == []
    reasons = {r["product_id"]: (r["index"], r["reason"]) for r in result["rejected"]}
    assert reasons["negative"] == (1, "price: Input should be greater than or equal to 0")
    assert reasons["monsoon"][0] == 2 and reasons["monsoon"][1].startswith("seasons.")
    assert reasons["rubles"][0] == 3 and reasons["rubles"][1].startswith("currency: ")
    assert reasons["no-name"] == (4, "name: Field required")
    assert admin_api("GET", f"{PRODUCTS}/good-2").status == 200
    assert admin_api("GET", f"{PRODUCTS}/negative").status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (product(price=-1), "price"),
        (product(currency="rubles"), "currency"),
        (product(seasons=["monsoon"]), "seasons"),
        (product(replenish_days=0), "replenish_days"),
        (product(colour="red"), "colour"),
        ({"products": "all of them"}, "products"),
        ({"products": [], "source": "erp"}, "source"),
        (["not", "an", "object"], "body"),
    ],
)
def test_invalid_single_product_or_body_is_400_naming_the_field(admin_api, body, field):
    answer = admin_api("POST", PRODUCTS, body)
    assert answer.status == 400, answer.body
    assert set(answer.json()) == {"code", "message"} and answer.json()["message"].startswith(field)


def test_body_that_is_not_json_is_400(admin_api):
    answer = admin_api("POST", PRODUCTS, raw=b"{not json")
    assert answer.status == 400 and answer.json()["message"].startswith("body")


def test_read_key_may_read_but_not_upload_and_other_keys_are_refused(admin_api):
    assert admin_api("POST", PRODUCTS, product()).status == 200
    assert admin_api("POST", PRODUCTS, product(), key="read_local_key").status == 403
    assert admin_api("POST", PRODUCTS, product(), key="web_local_key").status == 403
    assert admin_api("POST", PRODUCTS, product(), key=None).status == 401
    assert admin_api("POST", PRODUCTS, product(), key="no_such_key").status == 401
    assert admin_api("GET", f"{PRODUCTS}/purina-one", key="read_local_key").status == 200
    assert admin_api("GET", f"{PRODUCTS}/purina-one", key="web_local_key").status == 403
    assert admin_api("GET", f"{PRODUCTS}/purina-one", key=None).status == 401


def test_basic_admin_key_is_accepted_too(admin_api, runtime):
    from asusual.local.gateway import api_gateway_event
    from asusual.local.runtime import LocalContext
    from functions.admin_api import handler

    event = api_gateway_event("GET", f"{PRODUCTS}/nothing", {"authorization": basic("admin_local_key")}, b"")
    assert handler.lambda_handler(event, LocalContext("admin_api"))["statusCode"] == 404


def test_unknown_product_is_404_with_code_and_message(admin_api):
    answer = admin_api("GET", f"{PRODUCTS}/nothing-like-it")
    assert answer.status == 404
    assert answer.json()["code"] == "not_found" and answer.json()["message"].startswith("product_id")


def test_older_upload_arriving_late_does_not_overwrite_the_newer_one(runtime, clock):
    repo = DynamoCatalogRepository(clients.dynamodb(), "asusual-local")
    older = CatalogProduct.model_validate(product(price=100, updated_at=clock.now()))
    newer = older.model_copy(
        update={"price": Decimal(120), "updated_at": clock.now() + timedelta(milliseconds=1)}
    )
    assert repo.put_products([newer]) == []
    assert repo.put_products([older]) == ["purina-one"]
    assert repo.get_products({"purina-one"})["purina-one"].price == 120


def test_older_upload_through_the_api_is_reported_superseded(admin_api, runtime):
    runtime.clock.advance(timedelta(minutes=5))
    assert admin_api("POST", PRODUCTS, product(price=120)).status == 200
    runtime.clock.set(runtime.clock.now() - timedelta(minutes=5))  # a slow upload started earlier
    late = admin_api("POST", PRODUCTS, {"products": [product(price=100), product("other")]})
    assert late.json() == {"accepted": ["other"], "rejected": [], "superseded": ["purina-one"]}
    assert admin_api("GET", f"{PRODUCTS}/purina-one").json()["price"] == "120"


def test_updating_a_product_replaces_it(admin_api, runtime):
    first = product(category="pet food", seasons=["winter"], replenish_days=30, sensitive=True)
    assert admin_api("POST", PRODUCTS, first).status == 200
    runtime.clock.advance(timedelta(days=1))
    assert admin_api("POST", PRODUCTS, product(name="Purina One, 3 kg", price=2390)).status == 200
    stored = admin_api("GET", f"{PRODUCTS}/purina-one").json()
    assert stored["name"] == "Purina One, 3 kg" and stored["price"] == "2390"
    assert stored["category"] is None and stored["seasons"] == [] and stored["replenish_days"] is None
    assert stored["sensitive"] is False


def test_product_read_back_can_be_uploaded_again_as_it_is(admin_api):
    admin_api("POST", PRODUCTS, product())
    stored = admin_api("GET", f"{PRODUCTS}/purina-one").json()
    assert admin_api("POST", PRODUCTS, stored).json()["accepted"] == ["purina-one"]
