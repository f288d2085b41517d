"""Erasure on DynamoDB Local: the conditional deletes (profile at the version read, claims while
they name the person), the order and message-log index queries, the deferred partitions and the
batch deletes behave on the real engine as on moto: nothing of the person remains."""

from __future__ import annotations

import pytest

from tests.integration.test_privacy import ANNA, admin_profiles, quoted, story, table_text, traces

pytestmark = pytest.mark.slow

__all__ = ["admin_profiles", "story"]


def test_erasure_on_dynamodb_local_leaves_nothing_of_the_person_and_suppresses_her(
    story, admin_profiles, send, profile
):
    exported = admin_profiles("GET", quoted("email", ANNA["email"]) + "/export").json()
    message_ids = [m["data"]["message_id"] for m in exported["items"]["message"]]
    assert {"deferred", "order", "message", "send_once", "interval_observation"} <= set(exported["items"])
    assert len(traces(exported, message_ids)) >= 20

    record = admin_profiles("DELETE", quoted("user_id", ANNA["user_id"])).json()
    assert record["status"] == "completed" and record["profiles"] == 2, record
    assert traces(exported, message_ids) == []
    assert profile("user_id", "u-boris") is not None

    send("web_local_key", {"type": "identify", "anonymousId": "a-new", "traits": {"email": ANNA["email"]},
                           "timestamp": "2026-11-23T08:00:00Z"})  # fmt: skip
    assert profile("email", ANNA["email"]) is None and profile("anonymous_id", "a-new") is None
    assert not [t for t in table_text() if "a-new" in t]
