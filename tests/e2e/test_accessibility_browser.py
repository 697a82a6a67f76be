"""axe-core on the public and staff pages as first shown (no serious or critical violations),
and proof that the scan is not vacuous: a planted violation is found."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import serious_accessibility_violations

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("path", ["/report", "/map"])
@pytest.mark.parametrize("size", [(360, 640), (1280, 800)], ids=["phone", "desktop"])
def test_pages_have_no_serious_accessibility_violations(browser, live_server, path, size):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    try:
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        assert serious_accessibility_violations(page) == []
    finally:
        page.close()


def test_the_scan_finds_a_planted_violation(browser, live_server):
    page = browser.new_page()
    try:
        page.goto(live_server + "/report")
        page.evaluate("() => document.body.append(document.createElement('img'))")
        assert any(line.startswith("image-alt") for line in serious_accessibility_violations(page))
    finally:
        page.close()
