"""The browser tier: Debian's headless Chromium driven by Playwright for Python, loading pages from
another origin than the engine, as a shop's visitors and customers do.

What it needs (`make browser` and `make test` install whatever is missing): /usr/bin/chromium
(Debian's package), the npm packages of tests/browser/package.json in tests/browser/node_modules
(the SDKs' real builds, axe-core) and the Python driver (`playwright`, a dev dependency).

Fixtures (the helpers they use are in tests/browser/support.py):
- ``engine``: the local gateway (`make serve` in this process, on in-memory AWS) on a free
  loopback port, recording every request it answered (``engine.requests``);
- ``shop_page``: a static server on another free port serving tests/browser/ (pages/ and
  node_modules/): ``shop_page.url("pages/shop.html", sdk=...)``;
- ``browser``: a fresh Playwright page (a context of its own: no cookies or storage of another
  test) in the worker's Chromium, whose failed requests, answers ≥ 400, console errors and page
  errors go to ``browser_log``.

No request is intercepted by Playwright (``page.route``): with interception on, Playwright answers
CORS preflights itself, which would hide the engine's."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser.shop")  # its checks explain a failure as a test's do

from tests.browser.support import (  # noqa: E402
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    HERE,
    LAUNCH_TIMEOUT_MS,
    NODE_MODULES,
    TIMEOUT_MS,
    BrowserLog,
    QuietFiles,
    RecordingGateway,
    StaticSite,
)


@pytest.fixture
def engine(runtime: Any) -> Iterator[RecordingGateway]:
    gateway = RecordingGateway(runtime).start()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="session")
def shop_page() -> Iterator[StaticSite]:
    """tests/browser/ over HTTP on 127.0.0.1 and a free port: another origin than the engine's."""
    missing = [p for p in (AXE, NODE_MODULES / "@segment", NODE_MODULES / "@rudderstack") if not p.exists()]
    if missing:
        pytest.fail(f"{missing[0]} is missing: `make browser` installs tests/browser/package.json")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietFiles, directory=str(HERE))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="shop-page", daemon=True)
    thread.start()
    try:
        yield StaticSite(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The worker's headless Chromium (Debian's), launched once, closed at the end of the session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def browser(chromium: Any, browser_log: BrowserLog) -> Iterator[Any]:
    """A new page, 390 px wide (a phone) unless the test resizes it, in Moscow's zone and Russian,
    recording what goes wrong into ``browser_log``."""
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, timezone_id="Europe/Moscow", locale="ru-RU"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    browser_log.watch(page)
    try:
        yield page
    finally:
        context.close()
