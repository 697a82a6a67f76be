"""The staff map in headless Chromium: sign in, tiles render, a click on a hotspot shows its
details, and a referral's description typed by the public stays text (stored XSS inert)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from service.usecases.operations.cli_jobs import add_user
from tests.conftest import PASSWORD, in_thread
from tests.e2e.pixels import colour_variance, decode_png
from tests.integration.test_referrals import alert
from tests.integration.test_tiles import CHELMSFORD, hotspot

pytestmark = pytest.mark.e2e
XSS = '<img src=x onerror="alert(document.cookie)">'


@pytest.fixture
def demo(live_server, settings, sql):
    """A coordinator for Chelmsford, a hotspot there and a referral on top of it."""
    in_thread(
        asyncio.run,
        add_user(
            settings,
            username="coord_map",
            display_name="Map coordinator",
            password=PASSWORD,
            role="coordinator",
            teams=[],
            authorities=["E07000070"],
        ),
    )
    lon, lat = CHELMSFORD
    body = alert(lat=lat, lon=lon, appearance=XSS, location_description="<b>Bench</b> by the bank")
    receipt = httpx.post(f"{live_server}/v1/referrals", json=body, timeout=10)
    assert receipt.status_code == 201, receipt.text
    hotspot_id = hotspot(sql, CHELMSFORD, team="Mid Essex Outreach", code="E07000070", members=12)
    return {"reference": receipt.json()["reference"], "hotspot": hotspot_id}


def test_the_staff_map_renders_and_shows_hotspot_details_as_text(
    browser, live_server, demo, sql, tmp_path
):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server}/map#9/51.74/0.55")
    page.fill("#username", "coord_map")
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector('#staff-map[data-ready="1"]', timeout=30_000)

    overview = decode_png(page.locator("#staff-map").screenshot(path=str(tmp_path / "map.png")))
    assert colour_variance(overview) > 20, "the map looks blank"

    # Zoom onto the hotspot (the URL hash drives the view) and click it.
    lon, lat = CHELMSFORD
    with page.expect_request(lambda r: "/v1/tiles/14/" in r.url):
        page.goto(f"{live_server}/map#16/{lat}/{lon}")
    page.wait_for_selector('#staff-map[data-ready="1"]', timeout=30_000)
    page.locator("#staff-map").click()  # the centre of the map
    page.wait_for_selector("#details:not([hidden])")
    hotspot_box = page.locator('#details section[data-kind="hotspots"]')
    assert hotspot_box.locator("h2").inner_text() == f"Hotspot {demo['hotspot']}"
    assert "12" in hotspot_box.inner_text()

    referral_box = page.locator('#details section[data-kind="referrals"]')
    page.wait_for_selector('#details section[data-kind="referrals"] dl[data-loaded="1"]')
    assert demo["reference"] in referral_box.locator("h2").inner_text()
    text = referral_box.inner_text()
    assert XSS in text  # shown as the characters typed …
    assert "<b>Bench</b> by the bank" in text
    assert page.locator("#details img, #details b").count() == 0  # … never as markup
    assert dialogs == []
    page.screenshot(path=str(tmp_path / "details.png"), full_page=True)

    audited = sql(
        "SELECT subject_type, count(*) AS n FROM audit_log WHERE username = 'coord_map' "
        "GROUP BY subject_type"
    )
    assert {r["subject_type"] for r in audited} == {"tile", "referral"}

    with page.expect_request(lambda r: "/v1/tiles/" in r.url and "window_days=7" in r.url):
        page.select_option("#window-days", "7")

    page.click("#signout")
    assert page.is_visible("#signin")
    assert page.is_hidden("#map-app")
    csp = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert csp == [], problems
    context.close()


def test_the_map_page_asks_to_sign_in_and_holds_no_data(browser, live_server, demo):
    context = browser.new_context()
    page = context.new_page()
    tiles: list[str] = []
    page.on("request", lambda r: "/v1/tiles/" in r.url and tiles.append(r.url))
    page.goto(f"{live_server}/map")
    assert page.is_visible("#signin-form")
    assert page.is_hidden("#map-app")
    page.fill("#username", "coord_map")
    page.fill("#password", "wrong password")
    page.click("#signin-form button[type=submit]")
    page.locator("#signin-error").filter(has_text="Sign-in failed").wait_for()
    assert tiles == []
    assert demo["reference"] not in page.content()
    context.close()
