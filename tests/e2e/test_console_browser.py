"""The coordinators' console in headless Chromium: a coordinator signs in, sees a new unlocated
referral arrive without a reload, places it and sees it routed and assigned, confirms one
duplicate and rejects another, pins and releases, switches SWEP and sees the priority change;
the figures equal counts made here from the tables (with the suppression of GET /v1/stats);
hotspots and exports; a worker gets 403; a description with markup stays text everywhere.
Every screen is scanned with axe-core, and screenshots are checked for being non-blank."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import serious_accessibility_violations
from tests.e2e.pixels import colour_variance, decode_png
from tests.integration.test_referrals import alert
from tests.integration.test_tiles import hotspot

pytestmark = pytest.mark.e2e
XSS = '<img src=x onerror="alert(document.cookie)">'
CHELMSFORD = (0.4693, 51.7366)
SHOTS = Path("/tmp/console-shots")  # kept for a person to look at; the test checks pixels


def _refer(base, sql, **overrides):
    receipt = httpx.post(f"{base}/v1/referrals", json=alert(**overrides), timeout=10)
    assert receipt.status_code == 201, receipt.text
    reference = receipt.json()["reference"]
    return reference, str(sql("SELECT id FROM referrals WHERE reference = $1", reference)[0]["id"])


def _sign_in(browser, base, username, size=(1280, 800)):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/console")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")  # the keyboard path
    return context, page, problems, dialogs


def _shot(page, name, selector=None):
    SHOTS.mkdir(exist_ok=True)
    target = page.locator(selector) if selector else page
    image = decode_png(target.screenshot(path=str(SHOTS / f"{name}.png")))
    assert colour_variance(image) > 20, f"{name} looks blank"


def _no_serious_violations(page, screen):
    assert serious_accessibility_violations(page) == [], screen


def _row(page, reference):
    return page.locator(f'#queue-body tr[data-reference="{reference}"]')


def _compare_and_decide(page, newer_ref, confirm):
    _row(page, newer_ref).locator("button.link").click()
    page.wait_for_selector(f'#triage[data-loaded="{newer_ref}"]')
    page.locator("#duplicate-list button").first.click()
    page.wait_for_selector('#compare-map[data-points="2"]', timeout=30_000)
    page.click("#dup-confirm" if confirm else "#dup-reject")
    page.wait_for_selector("#compare", state="hidden")


def test_a_coordinators_day_in_the_console(browser, live_server, sql):
    base = live_server
    pair_a = [_refer(base, sql, lon=0.4800, lat=51.7400, appearance=f"A{i}") for i in range(2)]
    pair_b = [_refer(base, sql, lon=0.4500, lat=51.7300, appearance=f"B{i}") for i in range(2)]
    plain_ref, plain = _refer(base, sql, lon=0.5100, lat=51.7500)
    context, page, problems, dialogs = _sign_in(browser, base, "coord_mid")
    page.wait_for_selector('#main[data-state="ready"]')
    _row(page, plain_ref).wait_for()
    _no_serious_violations(page, "queue")
    _shot(page, "queue-1280")

    # A new unlocated referral appears without a reload; its description stays text.
    new_ref, new_id = _refer(
        base, sql, lat=None, lon=None, accuracy_m=None, location_description=XSS, appearance=XSS
    )
    _row(page, new_ref).wait_for(timeout=15_000)
    assert _row(page, new_ref).locator("td.place").inner_text() == XSS
    assert "no location" in _row(page, new_ref).inner_text()

    # Place it: the map click fills the position, typed values can refine it.
    _row(page, new_ref).locator("button.link").click()
    page.wait_for_selector('#triage-map[data-ready="1"]', timeout=30_000)
    assert XSS in page.locator("#triage-details").inner_text()
    page.locator("#triage-map").click()
    assert page.input_value("#place-lat") != ""
    page.fill("#place-lat", str(CHELMSFORD[1]))
    page.fill("#place-lon", str(CHELMSFORD[0]))
    page.fill("#place-note", "by the library")
    _no_serious_violations(page, "triage")
    _shot(page, "triage-1280", "#triage")
    page.click("#place-form button[type=submit]")
    page.locator("#triage-message").filter(has_text="Mid Essex Outreach").wait_for()
    placed = sql(
        "SELECT authority_code, team_id, located_by FROM referrals WHERE id = $1::uuid", new_id
    )[0]
    assert dict(placed) == {
        "authority_code": "E07000070",
        "team_id": 4,
        "located_by": "coordinator",
    }
    assert "no location" not in _row(page, new_ref).inner_text()
    assert page.locator("main img:not(.maplibregl-canvas)").count() == 0

    # Duplicates: confirm the first pair, reject the second, each seen side by side on a map.
    page.check("#f-duplicate")
    _row(page, pair_a[1][0]).wait_for()
    _row(page, pair_a[1][0]).locator("button.link").click()
    page.wait_for_selector(f'#triage[data-loaded="{pair_a[1][0]}"]')
    page.locator("#duplicate-list button").first.click()
    page.wait_for_selector('#compare-map[data-points="2"]', timeout=30_000)
    _no_serious_violations(page, "compare duplicates")
    _shot(page, "compare-1280")
    page.click("#dup-confirm")
    page.wait_for_selector("#compare", state="hidden")
    _compare_and_decide(page, pair_b[1][0], confirm=False)
    states = sql(
        "SELECT r.reference, d.state, r.outcome FROM referral_duplicates d "
        "JOIN referrals r ON r.id = d.referral_id WHERE d.state <> 'suggested'"
    )
    assert {(s["reference"], s["state"], s["outcome"]) for s in states} == {
        (pair_a[1][0], "confirmed", "duplicate_merged"),
        (pair_b[1][0], "rejected", None),
    }
    page.uncheck("#f-duplicate")

    # Pin an item to a team, then release it. Its details arrive late, after a new referral
    # changed the queue and the console's poll refreshed it: the panel still fills in.
    _row(page, plain_ref).wait_for()
    shown = page.inner_text("#queue-updated").split(" · ")[0]

    def slow_details(route):
        _refer(base, sql, lon=0.4700, lat=51.7350, appearance="arrived meanwhile")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if page.inner_text("#queue-updated").split(" · ")[0] != shown:
                break  # the poll saw it and the queue was refreshed
            time.sleep(0.2)
        route.continue_()

    page.route(f"**/v1/referrals/{plain}", slow_details)
    _row(page, plain_ref).locator("button.link").click()
    page.wait_for_selector(f'#triage[data-loaded="{plain_ref}"]')
    page.unroute(f"**/v1/referrals/{plain}")
    page.select_option("#pin-team", label="Southend Outreach")
    page.fill("#pin-note", "known to them")
    page.click("#pin-form button[type=submit]")
    page.locator("#triage-message").filter(has_text="Pinned").wait_for()
    assert "pinned" in _row(page, plain_ref).inner_text()
    page.click("#pin-release")
    page.locator("#triage-message").filter(has_text="released").wait_for()
    pins = sql(
        "SELECT released_at IS NOT NULL AS released FROM assignment_overrides WHERE item_id = $1",
        plain,
    )
    assert [p["released"] for p in pins] == [True]
    page.click("#triage-close")

    # SWEP for Chelmsford: the referral's priority changes.
    before = _row(page, plain_ref).locator("td.priority").inner_text()
    page.click("#swep-panel summary")
    page.check("#swep-E07000070")
    page.locator("#console-status").filter(has_text="SWEP on").wait_for()
    _row(page, plain_ref).locator("td.priority").filter(has_text="(SWEP)").wait_for()
    assert "SWEP" in _row(page, plain_ref).inner_text()
    assert "(SWEP)" not in before

    audited = {
        r["action"]
        for r in sql("SELECT DISTINCT action FROM audit_log WHERE username = 'coord_mid'")
    }
    assert {
        "referral_located",
        "duplicate_confirmed",
        "duplicate_rejected",
        "assignment_pinned",
        "list",
        "read",
    } <= audited
    assert dialogs == []
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    context.close()


def _last_month() -> tuple[dt.date, dt.date]:
    first_this = dt.datetime.now(dt.UTC).date().replace(day=1)
    last = first_this - dt.timedelta(days=1)
    return last.replace(day=1), last


def _figures(page):
    return {
        row.get_attribute("data-key"): {
            cell.get_attribute("data-field"): cell.inner_text() for cell in row.locator("td").all()
        }
        for row in page.locator("#dash-body tr").all()
    }


def test_the_figures_hotspots_and_exports_match_the_tables(browser, live_server, sql, staff):
    base = live_server
    first, last = _last_month()
    middle = dt.datetime.combine(first + dt.timedelta(days=10), dt.time(12), dt.UTC)
    for lon, lat, n in ((0.4693, 51.7366, 7), (0.7140, 51.5380, 3)):  # Chelmsford, Southend
        for _ in range(n):
            _, rid = _refer(base, sql, lon=lon, lat=lat)
            sql("UPDATE referrals SET received_at = $1 WHERE id = $2::uuid", middle, rid)
    spot = hotspot(sql, CHELMSFORD, team="Mid Essex Outreach", code="E07000070", members=12)
    sql(
        "INSERT INTO hotspot_events (hotspot_id, kind, related) VALUES ($1, 'merged', '[77]')", spot
    )

    context, page, problems, _ = _sign_in(browser, base, "coord_mid")
    page.wait_for_selector('#main[data-state="ready"]')
    page.click('#console-nav [data-view="dashboard"]')
    page.fill("#d-from", first.isoformat())
    page.fill("#d-to", last.isoformat())
    page.click("#dash-form button[type=submit]")
    page.wait_for_selector(f'#main[data-dashboard="{first.isoformat()}/{last.isoformat()}"]')
    shown = _figures(page)
    # Counted here from the table, independently of the figures code.
    chelmsford = sql(
        "SELECT count(*) AS n FROM referrals WHERE authority_code = 'E07000070' "
        "AND received_at >= $1 AND received_at < $2",
        middle - dt.timedelta(days=20),
        middle + dt.timedelta(days=25),
    )[0]["n"]
    assert chelmsford == 7
    assert shown["E07000070"]["referrals_received"] == "7"  # their own area: exact
    assert shown["E06000033"]["referrals_received"] == "<5"  # 3 elsewhere: suppressed
    # Every cell as GET /v1/stats answers it (the same suppression, secondary included).
    stats = httpx.get(
        f"{base}/v1/stats",
        params={"from": first.isoformat(), "to": last.isoformat()},
        headers=staff["coord_mid"],
        timeout=10,
    ).json()
    for figures in stats["authorities"]:
        assert shown[figures["code"]]["referrals_received"] == str(figures["referrals_received"])
        assert shown[figures["code"]]["contacts"] == str(figures["contacts"])
    weeks = {
        r.locator("th").text_content(): int(r.locator("td").first.text_content())
        for r in page.locator("#weekly-body tr").all()
    }
    assert sum(weeks.values()) == 7  # coord_mid's scope: Chelmsford's seven
    monday = (middle.date() - dt.timedelta(days=middle.weekday())).isoformat()
    assert weeks[monday] == 7
    page.wait_for_selector('#weekly-chart[data-ready="1"] canvas')
    _no_serious_violations(page, "dashboard")
    _shot(page, "dashboard-1280")
    _shot(page, "weekly-chart", "#weekly-chart")

    page.click('#console-nav [data-view="hotspots"]')
    page.locator(f'#hotspot-body tr[data-id="{spot}"] button').click()
    page.wait_for_selector(f'#hotspot-map[data-shown="{spot}"]')
    page.locator("#hotspot-history").filter(has_text="merged").wait_for()
    assert "12" in page.locator(f'#hotspot-body tr[data-id="{spot}"]').inner_text()
    page.wait_for_selector('#hotspot-map[data-points="1"]', timeout=30_000)
    _no_serious_violations(page, "hotspots")
    _shot(page, "hotspots-1280")

    page.click('#console-nav [data-view="exports"]')
    page.locator("#export-referrals").filter(has_text="rows").wait_for()
    exported = httpx.get(
        f"{base}/v1/exports/referrals.csv", headers=staff["coord_mid"], timeout=10
    ).text
    rows = len(exported.strip().splitlines()) - 1
    assert page.inner_text("#export-referrals") == f"Referrals CSV ({rows} rows)"
    with page.expect_download() as download:
        page.click("#export-referrals")
    assert download.value.suggested_filename.startswith("referrals-")
    _no_serious_violations(page, "exports")
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    context.close()


def test_a_worker_gets_403_and_a_tablet_or_phone_gets_the_queue(browser, live_server, staff):
    context, page, _, _ = _sign_in(browser, live_server, "worker_mid")
    page.wait_for_selector("#forbidden:not([hidden])")
    assert "403" in page.inner_text("#forbidden")
    assert page.is_hidden("#view-queue")
    _no_serious_violations(page, "forbidden")
    context.close()
    refused = httpx.get(f"{live_server}/console", headers=staff["worker_mid"], timeout=10)
    assert refused.status_code == 403
    assert "403" in refused.text
    allowed = httpx.get(f"{live_server}/console", headers=staff["coord_mid"], timeout=10)
    assert allowed.status_code == 200
    assert "script-src 'self'" in allowed.headers["content-security-policy"]
    assert "<script>" not in allowed.text  # no inline script

    context, page, _, _ = _sign_in(browser, live_server, "admin", size=(820, 1180))
    page.wait_for_selector('#main[data-state="ready"]')
    page.wait_for_selector("#queue-updated:not(:empty)")
    _no_serious_violations(page, "queue on a tablet")
    _shot(page, "queue-tablet")
    context.close()
    context, page, _, _ = _sign_in(browser, live_server, "admin", size=(360, 640))
    page.wait_for_selector("#queue-updated:not(:empty)")
    _no_serious_violations(page, "queue on a phone")
    _shot(page, "queue-phone")
    context.close()


def test_the_console_shell_holds_no_data(live_server):
    page = httpx.get(f"{live_server}/console", timeout=10)
    assert page.status_code == 200
    assert json.dumps("ESX-") not in page.text
    assert 'src="/static/build/console.js"' in page.text
