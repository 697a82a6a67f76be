"""The report form in headless Chromium, with JavaScript off and on."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from service.usecases.referrals.sla import LONDON

pytestmark = pytest.mark.e2e


def fill_common(page):
    page.fill("#location_description", "Bus shelter opposite the station")
    page.select_option("#site_type", "bus_shelter")
    now = dt.datetime.now(LONDON)
    if now.hour < 8:  # keep the time band in the past
        page.fill("#seen_date", (now.date() - dt.timedelta(days=1)).isoformat())
        page.select_option("#seen_time_band", "evening")
    else:
        page.select_option("#seen_time_band", "early_morning")
    page.fill("#appearance", "<img src=x onerror=alert(1)> tall, blue hat")


def test_the_form_works_with_javascript_off(browser, live_server, sql, tmp_path):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/report")
    assert page.is_hidden("#map-panel")
    assert "Call 999 now" in page.inner_text(".emergency")
    fill_common(page)
    page.fill("#postcode", "cm2 0aa")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/report/status/ESX-.*submitted=1"))
    assert re.search(r"ESX-[0-9A-Z]{4}-[0-9A-Z]{2}", page.inner_text(".reference"))
    page.screenshot(path=str(tmp_path / "status-no-js.png"), full_page=True)
    row = sql("SELECT postcode, location_quality, appearance FROM referrals")[0]
    assert (row["postcode"], row["location_quality"]) == ("CM2 0AA", "text_only")
    context.close()


def test_the_form_places_a_pin_with_javascript_on(browser, live_server, sql, tmp_path):
    context = browser.new_context(viewport={"width": 412, "height": 900})  # a phone
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.goto(f"{live_server}/report")
    page.wait_for_selector("#map canvas")
    assert page.is_visible("#map-panel")
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#lat")).not_to_have_value("")  # (CSP forbids string evaluation)
    assert page.locator(".maplibregl-marker").count() == 1  # only the reporter's own pin
    fill_common(page)
    page.screenshot(path=str(tmp_path / "form-js.png"), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/report/status/ESX-.*"))
    row = sql("SELECT location_quality, authority_code, ST_Y(geom) AS lat FROM referrals")[0]
    assert row["location_quality"] == "pin"
    assert row["authority_code"] is not None
    assert 51.6 < row["lat"] < 51.95
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    context.close()
