"""The browser tier's own helpers, on a page whose faults are known."""

import pytest

from tests.browser.support import axe_violations, screenshot

pytestmark = pytest.mark.slow


def test_axe_violations_known_faults_only_the_serious_and_critical_under_a_strict_csp(
    browser, shop_page, browser_log
):
    browser.goto(shop_page.url("pages/axe_known_violation.html"))
    assert axe_violations(browser) == [
        {
            "id": "image-alt",
            "impact": "critical",
            "help": "Images must have alternative text",
            "targets": ["img"],
        }
    ]
    assert [v["id"] for v in axe_violations(browser, impacts=("moderate",))] == ["heading-order"]
    assert browser_log.problems() == []
    assert screenshot(browser, "axe-known-violation").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
