"""Base maps in headless Chromium: /report and /map draw streets and a label from a style
served on loopback (tests/styleserver.py: vector tiles made in the test, glyphs made in the
test as solid boxes), the search box moves the pin to a fixture postcode, suppressed grid
cells show their counts, and with no base map (or an unreachable one) the page says the map
is blank and still works."""

from __future__ import annotations

import asyncio
import re

import httpx
import numpy as np
import pytest

from service.usecases.operations.cli_jobs import add_user, import_gazetteer
from service.usecases.places.synthetic import write_fixture
from tests.conftest import PASSWORD, in_thread, make_settings
from tests.e2e.pixels import colour_variance, decode_png
from tests.integration.test_referrals import alert
from tests.integration.test_tiles import into_last_month
from tests.styleserver import (
    FONT,
    LABEL_RGB,
    ROAD_RGB,
    glyph_pbf,
    pmtiles_archive,
    protomaps_tile,
    style_server,
)

pytestmark = pytest.mark.e2e
PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}


def pixels_of(image, rgb, tolerance=40):
    """How many pixels are within ``tolerance`` of the colour ``rgb``."""
    diff = np.abs(image[..., :3].astype(int) - np.array(rgb)).max(axis=2)
    return int((diff <= tolerance).sum())


def watch(page):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    return problems


def refused(problems):
    return [p for p in problems if "Content Security Policy" in p or "Refused" in p]


@pytest.fixture
def streets():
    with style_server() as server:
        yield server


@pytest.fixture
def settings(db_url, request):
    """The app's settings: a loopback street map unless the test is marked otherwise."""
    style = request.node.get_closest_marker("base_map_style")
    if style is not None and style.args[0] == "pmtiles":  # self-hosted, made here
        folder = request.getfixturevalue("tmp_path") / "basemap"
        (folder / "fonts" / "Noto Sans Regular").mkdir(parents=True)
        archive = folder / "essex.pmtiles"
        archive.write_bytes(pmtiles_archive(protomaps_tile()))
        glyphs = glyph_pbf("Noto Sans Regular", 0, 255)
        (folder / "fonts" / "Noto Sans Regular" / "0-255.pbf").write_bytes(glyphs)
        return make_settings(
            db_url,
            map_style_url="http://127.0.0.1:9/never-used.json",
            basemap_pmtiles=str(archive),
            basemap_glyphs_dir=str(folder / "fonts"),
        )
    if style is not None:
        return make_settings(db_url, map_style_url=style.args[0])
    server = request.getfixturevalue("streets")
    return make_settings(db_url, map_style_url=f"{server.base}/style.json")


def test_the_report_form_draws_streets_and_the_search_box_moves_the_pin(
    browser, live_server, settings, streets, sql, tmp_path
):
    fixture = write_fixture(tmp_path / "gazetteer")
    in_thread(
        asyncio.run,
        import_gazetteer(settings, [fixture.onspd, fixture.open_names], keep_all=False),
    )
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        problems = watch(page)
        page.goto(f"{live_server}/report")
        page.wait_for_selector('#map[data-ready="1"]', timeout=30_000)
        assert page.is_hidden("#basemap-note")
        shot = decode_png(
            page.locator("#map").screenshot(path=str(tmp_path / f"report-{name}.png"))
        )
        assert colour_variance(shot) > 100, "no streets drawn"
        assert pixels_of(shot, ROAD_RGB) > 500, "no road colour"
        assert pixels_of(shot, LABEL_RGB, tolerance=60) > 100, "no label drawn"
        assert refused(problems) == [], problems
        context.close()
    assert any(p.startswith("/tiles/") for p in streets.requests)
    assert f"/fonts/{FONT}/0-255.pbf" in streets.requests  # the label's glyphs

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/report")
    page.wait_for_selector('#map[data-ready="1"]', timeout=30_000)
    page.fill("#place-search", "cm8 1zz")
    page.click("#place-search-go")
    page.click("#place-results button >> nth=0")
    assert page.locator("#lat").input_value() == "51.805700"
    assert page.locator("#lon").input_value() == "0.641400"
    assert page.locator(".maplibregl-marker").count() == 1
    assert "CM8 1ZZ" in page.inner_text("#place-search-status")
    page.locator("#place-search").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "report-search-phone.png"))
    page.fill("#location_description", "Bench by the station")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/report/status/ESX-.*"))
    row = sql("SELECT authority_code, located_by, location_quality FROM referrals")[0]
    assert (row["authority_code"], row["located_by"], row["location_quality"]) == (
        "E07000067",  # Witham is in Braintree
        "pin",
        "pin",
    )
    assert refused(problems) == [], problems
    context.close()


def test_the_staff_map_draws_streets_and_labels_suppressed_cells_with_numbers(
    browser, live_server, settings, streets, sql, tmp_path
):
    in_thread(
        asyncio.run,
        add_user(
            settings,
            username="coord_streets",
            display_name="Streets coordinator",
            password=PASSWORD,
            role="coordinator",
            teams=[],
            authorities=["E07000070"],  # Chelmsford: Southend and Rochford are "elsewhere"
        ),
    )
    for i in range(6):  # Southend: a cell of 6
        body = alert(lat=51.5380, lon=0.7140 + i * 0.0003, appearance=f"n{i}")
        assert httpx.post(f"{live_server}/v1/referrals", json=body, timeout=10).status_code == 201
    body = alert(lat=51.5899, lon=0.6014)  # Rayleigh (Rochford): a cell of 1, shown as <5
    assert httpx.post(f"{live_server}/v1/referrals", json=body, timeout=10).status_code == 201
    into_last_month(sql)

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/map#11/51.565/0.66")
    page.fill("#username", "coord_streets")
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector('#staff-map[data-ready="1"]', timeout=30_000)
    page.wait_for_selector(".cell-count", timeout=30_000)
    labels = sorted(page.locator(".cell-count").all_inner_texts())
    assert labels == ["R 6", "R <5"], labels
    shot = decode_png(page.locator("#staff-map").screenshot(path=str(tmp_path / "map-desktop.png")))
    assert colour_variance(shot) > 100
    assert pixels_of(shot, LABEL_RGB, tolerance=60) > 100, "no label drawn"
    assert page.is_hidden("#basemap-note")
    assert refused(problems) == [], problems
    context.close()


@pytest.mark.base_map_style("")
def test_with_no_base_map_the_pages_say_the_map_is_blank_and_still_work(
    browser, live_server, tmp_path
):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/report")
    page.wait_for_selector('#map[data-ready="1"]', timeout=30_000)
    assert page.is_visible("#basemap-note")
    assert "blank" in page.inner_text("#basemap-note")
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.locator("#lat").input_value() != ""
    page.screenshot(path=str(tmp_path / "report-blank-phone.png"), full_page=True)
    assert refused(problems) == [], problems
    context.close()


@pytest.mark.base_map_style("http://127.0.0.1:9/style.json")
def test_an_unreachable_base_map_falls_back_to_blank_and_says_so(browser, live_server, tmp_path):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server}/report")
    page.wait_for_selector("#basemap-note:not([hidden])", timeout=30_000)
    assert "could not be loaded" in page.inner_text("#basemap-note")
    page.wait_for_selector('#map[data-ready="1"]', timeout=30_000)
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.locator("#lat").input_value() != ""
    page.screenshot(path=str(tmp_path / "report-unreachable-phone.png"), full_page=True)
    context.close()


@pytest.mark.base_map_style("pmtiles")
def test_the_self_hosted_pmtiles_map_draws_streets_and_names_from_the_service_only(
    browser, live_server, tmp_path
):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    problems = watch(page)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    ranges: list[str] = []
    page.on(
        "request",
        lambda r: r.url.endswith(".pmtiles") and ranges.append(r.headers.get("range", "")),
    )
    page.goto(f"{live_server}/report")
    page.wait_for_selector('#map[data-ready="1"]', timeout=30_000)
    shot = decode_png(page.locator("#map").screenshot(path=str(tmp_path / "report-pmtiles.png")))
    assert colour_variance(shot) > 100, "no streets drawn"
    assert pixels_of(shot, (0xFC, 0xD6, 0xA4), tolerance=20) > 500, "no major roads"
    assert pixels_of(shot, (0x22, 0x22, 0x22), tolerance=20) > 100, "no place names"
    assert ranges, "the archive was not read"
    assert all(r.startswith("bytes=") for r in ranges), ranges  # by HTTP range requests
    assert any("/basemap/fonts/Noto%20Sans%20Regular/0-255.pbf" in u for u in asked)
    assert all(u.startswith((live_server, "blob:", "data:")) for u in asked), "a third party"
    assert refused(problems) == [], problems
    context.close()
