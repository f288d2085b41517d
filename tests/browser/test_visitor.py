"""The greeting a shop's page asks for its own visitor (`POST /v1/decide/visitor`), fetched from
the page itself with its public key and the anonymous id analytics-next keeps: a claim the page
made alone (an unsigned identify) greets nobody by name; once the shop's backend ties the visitor
to its customer, the page greets her."""

from typing import Any

import pytest

from tests.browser.shop import PUBLIC_KEY, run_story
from tests.integration.local_http import http

pytestmark = pytest.mark.slow

ASK = """async ([engine, key, anonymousId]) => {
  const answer = await fetch(`${engine}/v1/decide/visitor`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ anonymous_id: anonymousId, placement: "site_greeting" }),
  });
  return { status: answer.status, body: await answer.json() };
}"""


def ask(page: Any, engine: Any, anonymous_id: str) -> dict[str, Any]:
    answer = page.evaluate(ASK, [engine.url, PUBLIC_KEY, anonymous_id])
    assert answer["status"] == 200, answer
    return answer["body"]


def test_visitor_decision_from_the_page_names_her_only_once_the_backend_tied_her(
    engine, shop_page, browser, browser_log
):
    user = "visitor-greeting"
    run_story(browser, shop_page, engine, sdk="segment", mode="standard", user=user)
    engine.runtime.run()
    anonymous_id = browser.evaluate("window.shopAnonymousId")

    unsigned = ask(browser, engine, anonymous_id)  # the page's own identify vouches for nothing
    assert unsigned["recognized"] is False
    assert "Анна" not in unsigned["greeting"] and unsigned["locale"] == "ru"
    assert not {"profile_id", "email", "user_id", "anonymous_id"} & set(unsigned)

    backend = {"type": "identify", "userId": user, "anonymousId": anonymous_id}  # after her login
    assert http(engine, "POST", "/v1/identify", backend, key="web_local_key")[0] == 200
    engine.runtime.run()
    known = ask(browser, engine, anonymous_id)
    assert known["recognized"] is True
    assert "Анна" in known["greeting"] and known["known"]["email"] is True
    assert f"{user}@example.com" not in str(known)
    assert browser_log.problems() == []
