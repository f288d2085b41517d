"""Helpers of the browser tier (tests/browser/conftest.py has the fixtures that use them): the
recording engine, the shop's static site, what a page did wrong, screenshots and axe-core."""

from __future__ import annotations

import http.server
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from asusual.local.gateway import LocalGateway

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"  # git-ignored; screenshots of the last run
NODE_MODULES = HERE / "node_modules"  # tests/browser/package.json, installed by `make browser`
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, installed by `make browser`
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # no background traffic (updates, sync, safe browsing): on a closed network Chromium would fill
    # its log with refused connections
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # no host but loopback: a page reaching for a CDN fails at once (ERR_NAME_NOT_RESOLVED, in the
    # BrowserLog) instead of waiting on a closed network, and nothing leaves the machine
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
TIMEOUT_MS = 30_000  # one Playwright action or wait: generous for 2 busy cores, bounded
LAUNCH_TIMEOUT_MS = 60_000
SERIOUS = ("serious", "critical")


@dataclass(frozen=True)
class Seen:
    """One request the engine answered (header names lowercase), and its answer."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    status: int
    answer: bytes


class RecordingGateway(LocalGateway):
    """The local gateway (what `make serve` runs) on a free loopback port, keeping every request it
    answered: preflights too, which Playwright does not report."""

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime, port=0)
        self.requests: list[Seen] = []

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
    ) -> tuple[int, dict[str, str], bytes]:
        status, answer_headers, answer = super().handle(method, target, headers, body, source_ip)
        lowered = {k.lower(): v for k, v in headers.items()}
        self.requests.append(Seen(method, target, lowered, body, status, answer))
        return status, answer_headers, answer

    def posts(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST"]

    def queued(self) -> list[dict[str, Any]]:
        """Messages waiting on the events queue, read under the runtime's lock (the gateway's
        threads invoke the handlers meanwhile)."""
        with self.runtime.lock:
            return self.runtime.peek("events", limit=1000)

    def wait_for_events(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The queued events once there are ``count`` or more (an SDK sends on its own timers), or
        what there is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(found := self.queued()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return found


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Static files, without a log line per request on the test's output."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class StaticSite:
    """A static server on 127.0.0.1: the shop's own origin, never the engine's."""

    server: http.server.ThreadingHTTPServer

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str, **query: str) -> str:
        return f"{self.origin}/{path}" + (f"?{urlencode(query)}" if query else "")


@dataclass
class BrowserLog:
    """What went wrong in a page, as a developer would see it in the browser's tools."""

    failed: list[str] = field(default_factory=list)  # no answer: CORS, refused, unresolved, aborted
    refused: list[str] = field(default_factory=list)  # answered 4xx or 5xx
    console: list[str] = field(default_factory=list)  # console.error and uncaught errors

    def problems(self) -> list[str]:
        return [*self.failed, *self.refused, *self.console]

    def watch(self, page: Any) -> None:
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}: {r.failure}"))
        page.on("response", self._answered)
        page.on("console", lambda m: self.console.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def _answered(self, response: Any) -> None:
        if response.status >= 400:
            self.refused.append(f"{response.request.method} {response.url}: {response.status}")


def screenshot(page: Any, name: str) -> Path:
    """The whole page as tests/browser/artifacts/<name>.png (replaced on each run)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now, of the given impacts (serious and critical
    by default), each ``{"id", "impact", "help", "targets"}``, sorted by id. axe is evaluated
    through the DevTools protocol, so the page's Content-Security-Policy does not stop it."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")["violations"]
    kept = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [" ".join(map(str, node["target"])) for node in v["nodes"]],
        }
        for v in found
        if v["impact"] in impacts
    ]
    return sorted(kept, key=lambda v: v["id"])


def wait_until(page: Any, condition: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait for a JavaScript ``condition`` in the page; a page that sets ``window.shopError``
    fails the test at once with its message."""
    page.wait_for_function(f"() => ({condition}) || window.shopError", timeout=timeout_ms)
    if error := page.evaluate("() => window.shopError"):
        pytest.fail(f"the page failed: {error}")
