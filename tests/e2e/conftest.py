"""Browser tests: the app served by uvicorn on loopback, driven by Playwright in the system
Chromium (Debian's ``chromium`` package; ``make test`` installs it when run as root)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import APPS, ROOT
from tests.liveserver import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
]


@pytest.fixture
def live_server(settings: Any) -> Iterator[str]:
    port = free_port()
    with APPS.lend(settings) as app:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive(), "uvicorn did not stop"


class Chromium:
    """One Chromium for the run: launched for the first browser test, and closed after the
    last, since the browser tests run one after another (on one worker, as the ``browser``
    group under xdist). It is closed there, not at the end of the session: Playwright's sync
    API runs an event loop in this thread while it is open, which later tests' ``asyncio.run``
    calls must not meet."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self.instance: Any = None

    def get(self) -> Any:
        if self.instance is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self.instance = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        return self.instance

    def close(self) -> None:
        if self.instance is not None:
            try:
                self.instance.close()
            finally:
                self.instance = None
                self._playwright.stop()


CHROMIUM_RUN = Chromium()
E2E = Path(__file__).parent


@pytest.fixture
def browser() -> Iterator[Any]:
    """The run's Chromium. What a test leaves open (a context, a page) is closed after it, so
    the next test starts with none."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (sudo apt-get install -y chromium)")
    instance = CHROMIUM_RUN.get()
    yield instance
    for context in instance.contexts:
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if nextitem is None or E2E not in nextitem.path.parents:
        CHROMIUM_RUN.close()


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_violations(page: Any) -> list[str]:
    """axe-core (from npm, injected into the page) on what the page shows now: the serious
    and critical violations, one line each (rule, impact, first offending node)."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run scripts/dev.sh assets (npm ci)")
    # Evaluated through the DevTools protocol, which the page's strict CSP does not govern
    # (a <script> tag would be refused, as it should be).
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("() => { " + AXE.read_text() + "\n}")
    results = page.evaluate("async () => (await window.axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target'] if v['nodes'] else ''}"
        for v in results
        if v["impact"] in ("serious", "critical")
    ]
