"""Browser tests: the app served by uvicorn on loopback, driven by Playwright in the system
Chromium (Debian's ``chromium`` package; ``make test`` installs it when run as root)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API runs an event loop in this thread while it is
    open, which other tests' ``asyncio.run`` calls must not meet."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (sudo apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


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
