"""Segments over the local runtime: a segment is back-filled to the right members, kept live by
later events without recomputation, by the hourly sweep when time alone ends a membership, and
deleted; its routes refuse what is not the contract with a 400 naming the field."""

from __future__ import annotations

import pytest

PET_FOOD = {"segment_id": "pet-food", "name": "Pet food, last 90 days",
            "rule": {"purchased": {"category": "pet food", "within_days": 90}}}  # fmt: skip


def identify(user: str) -> dict:
    traits = {"email": f"{user}@example.com", "timezone": "Europe/Moscow"}
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": "2026-11-01T09:00:00Z"}


def purchase(user: str, at: str, category: str = "pet food", order: str | None = None) -> dict:
    order_id = order or f"o-{user}-{at}"
    return {
        "type": "track",
        "userId": user,
        "event": "Order Completed",
        "timestamp": at,
        "messageId": f"m-{order_id}",
        "properties": {
            "order_id": order_id,
            "currency": "RUB",
            "total": 1290,
            "products": [
                {
                    "product_id": "purina-1",
                    "name": "Purina",
                    "category": category,
                    "quantity": 1,
                    "price": 1290,
                }
            ],
        },
    }


@pytest.fixture
def customers(send, profile):
    """Anna (Nov 20) and Boris (today, Nov 23) bought pet food, Vera only tea: their profile ids."""
    send("web_local_key", identify("anna"), identify("boris"), identify("vera"))
    send(
        "web_local_key",
        purchase("anna", "2026-11-20T09:00:00Z"),
        purchase("boris", "2026-11-23T08:00:00Z"),
        purchase("vera", "2026-11-22T09:00:00Z", category="tea"),
    )
    return {user: profile("user_id", user)["profile_id"] for user in ("anna", "boris", "vera")}


@pytest.fixture
def pet_food(admin_api, runtime, customers):
    answer = admin_api("POST", "/v1/segments", PET_FOOD)
    assert answer.status == 201, answer.body
    runtime.run()  # the back-fill's pages (no delay in local mode: no definitions cache)
    return answer.json()


def members(admin_api, segment_id: str = "pet-food", limit: int = 100) -> list[str]:
    found, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = admin_api("GET", f"/v1/segments/{segment_id}/members{query}")
        assert page.status == 200, page.body
        found += page.json()["profile_ids"]
        cursor = page.json()["cursor"]
        if cursor is None:
            return found


def test_created_segment_has_the_customers_its_rule_holds_for(admin_api, customers, pet_food):
    assert (pet_food["version"], pet_food["size"]) == (1, 0)
    segment = admin_api("GET", "/v1/segments/pet-food").json()
    shown = {k: segment[k] for k in ("segment_id", "name", "rule", "version", "size")}
    assert shown == {**PET_FOOD, "version": 1, "size": 2}
    assert (segment["backfill"]["state"], segment["backfill"]["profiles"]) == ("done", 3)
    assert members(admin_api, limit=1) == sorted([customers["anna"], customers["boris"]])
    assert [s["segment_id"] for s in admin_api("GET", "/v1/segments").json()["segments"]] == ["pet-food"]


def test_later_store_purchase_adds_a_member_without_recomputation(
    admin_api, send, profile, decide_api, customers, pet_food
):
    send("store_local_key", purchase("vera", "2026-11-23T09:00:00Z", order="o-store-1"))
    segment = admin_api("GET", "/v1/segments/pet-food").json()
    assert segment["size"] == 3
    assert segment["backfill"]["profiles"] == 3  # nobody was evaluated again but Vera, by her event
    assert customers["vera"] in members(admin_api)
    assert profile("user_id", "vera")["segments"] == ["pet-food"]
    answer = decide_api(
        "POST",
        "/v1/decide",
        {"identifier": {"type": "user_id", "value": "vera"}, "placement": "site_banner", "channel": "web"},
    )
    assert answer.json()["segments"] == ["pet-food"]


def test_membership_relative_to_time_ends_after_the_sweep_once_time_has_passed(
    admin_api, at, profile, pet_food
):
    at("2027-02-19T12:00:00Z")  # Anna's purchase is 91 days old, Boris's 88
    assert admin_api("GET", "/v1/segments/pet-food").json()["size"] == 1
    assert profile("user_id", "anna")["segments"] == []
    assert profile("user_id", "boris")["segments"] == ["pet-food"]
    for day in range(20, 24):  # a day at a time: every hourly sweep runs, as in AWS
        at(f"2027-02-{day}T12:00:00Z")
    assert admin_api("GET", "/v1/segments/pet-food").json()["size"] == 0
    assert members(admin_api) == []


def test_changed_rule_is_a_new_version_whose_backfill_recounts(admin_api, runtime, customers, pet_food):
    answer = admin_api("PUT", "/v1/segments/pet-food", {"rule": {"purchased": {"category": "tea"}}})
    assert (answer.status, answer.json()["version"]) == (200, 2)
    runtime.run()
    segment = admin_api("GET", "/v1/segments/pet-food").json()
    assert (segment["size"], segment["backfill"]["version"], segment["backfill"]["state"]) == (1, 2, "done")
    assert members(admin_api) == [customers["vera"]]


def test_deleted_segment_leaves_everyone_and_its_id_can_be_used_again(admin_api, runtime, profile, pet_food):
    answer = admin_api("DELETE", "/v1/segments/pet-food")
    assert (answer.status, answer.json()["status"]) == (200, "deleting")
    assert profile("user_id", "anna")["segments"] == []  # at once, before its items are gone
    runtime.run()
    assert admin_api("GET", "/v1/segments/pet-food").status == 404
    assert admin_api("POST", "/v1/segments", PET_FOOD).status == 201
    runtime.run()
    assert admin_api("GET", "/v1/segments/pet-food").json()["size"] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**PET_FOOD, "rule": {"purchased": {"within_dayz": 3}}}, "rule.purchased.within_dayz: unknown key"),
        ({**PET_FOOD, "colour": "red"}, "colour: Extra inputs are not permitted"),
        ({**PET_FOOD, "segment_id": "Pet Food"}, "segment_id: Value error, segment_id: 1 to 64"),
        ({**PET_FOOD, "rule": "pet food"}, "rule: Input should be a valid dictionary"),
        (
            {
                **PET_FOOD,
                "rule": {
                    "not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"country": "RU"}}}}}}}}
                },
            },
            "rule.not.not.not.not.not.not.not.not: nested deeper than 8 levels",
        ),
        ({**PET_FOOD, "name": "x" * 201}, "name: String should have at most 200 characters"),
    ],
)
def test_create_refuses_what_is_not_the_contract_naming_the_field(admin_api, runtime, body, message):
    answer = admin_api("POST", "/v1/segments", body)
    assert answer.status == 400, answer.body
    assert answer.json()["message"].startswith(message), answer.json()


def test_segment_routes_need_the_admin_key(admin_api, runtime):
    assert admin_api("POST", "/v1/segments", PET_FOOD, key="read_local_key").status == 403
    assert admin_api("GET", "/v1/segments", key=None).status == 401
    assert admin_api("GET", "/v1/segments/nope").status == 404
    assert admin_api("GET", "/v1/segments/pet-food/members?limit=0").status == 400


def test_erased_member_leaves_the_segment_and_its_count_with_nothing_of_her_left(
    admin_api, profiles_api, customers, pet_food
):
    exported = profiles_api("GET", "/v1/profiles/user_id/anna/export", key="admin_local_key").json()
    assert [i["pk"] for i in exported["items"]["segment_member"]] == [
        "SEGMENT#pet-food#" + incarnation(admin_api)
    ]
    assert profiles_api("DELETE", "/v1/profiles/user_id/anna", key="admin_local_key").status == 200
    assert admin_api("GET", "/v1/segments/pet-food").json()["size"] == 1
    assert customers["anna"] not in members(admin_api)


def incarnation(admin_api) -> str:
    from asusual.store import clients
    from asusual.store.segments import DynamoSegmentRepository

    segment = DynamoSegmentRepository(clients.dynamodb(), "asusual-local").segment("pet-food")
    assert segment is not None
    return segment.incarnation
