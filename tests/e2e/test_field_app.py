"""The field app (/app) in headless Chromium: offline recording that survives a reload and a
closed browser, exactly-once delivery when the network drops mid-answer, conflict review,
encryption at rest, wipes (wrong PINs, sign-out, revocation), installability, accessibility
and phone-sized screenshots."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS, serious_accessibility_violations
from tests.e2e.pixels import colour_variance, decode_png
from tests.integration.test_referrals import alert

pytestmark = pytest.mark.e2e
PIN = "246810"
PHONE = {"width": 360, "height": 640}
HERE = {"latitude": 51.7361, "longitude": 0.4790, "accuracy": 12}
SHOTS = Path(os.environ.get("FIELD_APP_SCREENSHOTS", "/tmp/field-app-screens"))


@pytest.fixture
def field(live_server, staff, sql):
    """Two referrals in Chelmsford assigned to Mid Essex Outreach (worker_mid's team)."""
    references = []
    for lat, lon in ((51.7352, 0.4731), (51.7391, 0.4822)):
        receipt = httpx.post(
            f"{live_server}/v1/referrals",
            json=alert(lat=lat, lon=lon, appearance=f"Green coat {lat}"),
            timeout=10,
        )
        assert receipt.status_code == 201, receipt.text
        references.append(receipt.json()["reference"])
    ran = httpx.post(f"{live_server}/v1/assignments:run", headers=staff["admin"], timeout=30)
    assert ran.status_code == 200, ran.text
    return {"url": live_server, "references": references, "staff": staff, "sql": sql}


def open_phone(browser, user_data_dir: Path | None = None):
    """A phone-sized context with GPS; persistent (a browser profile on disk) when asked."""
    options: dict[str, Any] = {
        "viewport": PHONE,
        "geolocation": HERE,
        "permissions": ["geolocation"],
        "locale": "en-GB",
        "timezone_id": "Europe/London",
    }
    if user_data_dir is None:
        return browser.new_context(**options)
    return browser.browser_type.launch_persistent_context(
        str(user_data_dir), executable_path=browser_path(browser), args=CHROMIUM_ARGS, **options
    )


def browser_path(browser) -> str:
    from tests.e2e.conftest import CHROMIUM

    assert CHROMIUM
    return CHROMIUM


def watch(page, problems: list[str]) -> None:
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Failed requests (offline, no push endpoint on this server) are expected, not errors.
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and not msg.text.startswith("Failed to load resource")
            and problems.append(msg.text)
        ),
    )


def sign_in(page, url: str, *, label: str = "e2e phone") -> None:
    page.goto(f"{url}/app")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_selector("#screen-signin:not([hidden])")
    page.fill("#username", "worker_mid")
    page.fill("#password", PASSWORD)
    page.fill("#device-label", label)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#screen-setpin:not([hidden])")
    page.fill("#new-pin", PIN)
    page.fill("#new-pin-again", PIN)
    page.click("#setpin-form button[type=submit]")
    page.wait_for_selector("#sheet-list li", timeout=20_000)
    # The service worker controls the page once it has installed (clientsClaim).
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def unlock(page, pin: str = PIN) -> None:
    page.wait_for_selector("#screen-unlock:not([hidden])")
    page.fill("#pin", pin)
    page.click("#unlock-form button[type=submit]")


def tab(page, name: str) -> None:
    page.click(f'.tabs button[data-screen="{name}"]')
    page.wait_for_selector(f"#screen-{name}:not([hidden])")


def record_contact(page, note: str) -> str:
    tab(page, "record")
    page.click("#gps-button")
    page.wait_for_function(
        "() => document.querySelector('#position-text').textContent.includes('GPS')"
    )
    page.check("#bedded-down")
    page.select_option("#engagement", "brief")
    page.check("#made-swep_bed")
    page.fill("#notes", note)
    return save_record(page)


def save_record(page) -> str:
    """Submit the record form and wait until it is saved (which resets the form)."""
    # The status may still say "Saved" from the record before: clear it, so that the wait
    # below waits for this one.
    page.eval_on_selector("#record-status", "node => { node.textContent = ''; }")
    page.click("#record-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#record-status').textContent.includes('Saved')"
    )
    return page.inner_text("#record-status")


def watched_phone(browser, url: str):
    """A fresh phone profile, signed in, its console errors collected: context, page, problems."""
    context = open_phone(browser)
    page = context.new_page()
    problems: list[str] = []
    watch(page, problems)
    sign_in(page, url)
    return context, page, problems


def not_found(page, sequence: int = 1) -> None:
    tab(page, "sheet")
    page.click(f'#sheet-list li[data-sequence="{sequence}"] >> text=Not found')


def outbox_states(page) -> dict[str, int]:
    tab(page, "outbox")
    states: dict[str, int] = {}
    for state in page.eval_on_selector_all(
        "#outbox-list li", "items => items.map(i => i.dataset.state)"
    ):
        states[state] = states.get(state, 0) + 1
    return states


def wait_until_sent(page, count: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    tab(page, "outbox")
    while time.monotonic() < deadline:
        page.click("#sync-button")
        if outbox_states(page).get("sent", 0) == count:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"not sent: {outbox_states(page)} ({page.inner_text('#sync-status')})")


def stored(sql, prefix: str) -> list[Any]:
    return sql("SELECT id, notes FROM contacts WHERE notes LIKE $1 ORDER BY notes", prefix + "%")


def attempts(sql) -> int:
    return sql("SELECT count(*) AS n FROM referral_attempts")[0]["n"]


def test_offline_records_survive_reload_and_restart_and_are_stored_once(browser, field, tmp_path):
    profile = tmp_path / "profile"
    context = open_phone(browser, profile)
    page = context.pages[0] if context.pages else context.new_page()
    problems: list[str] = []
    watch(page, problems)
    sign_in(page, field["url"])
    assert page.locator("#sheet-list li").count() == 2
    assert "Green coat" in page.inner_text("#sheet-list")

    context.set_offline(True)
    for k in range(5):
        record_contact(page, f"offline note {k}")
    not_found(page)
    assert outbox_states(page) == {"waiting": 6}

    page.reload()  # offline: the shell comes from the service worker
    unlock(page)
    page.wait_for_selector("#screen-sheet:not([hidden])")
    assert page.locator("#sheet-list li").count() == 2  # the cached run-sheet
    assert outbox_states(page) == {"waiting": 6}
    context.close()

    context = open_phone(browser, profile)
    page = context.pages[0] if context.pages else context.new_page()
    watch(page, problems)
    context.set_offline(True)
    page.goto(f"{field['url']}/app")
    unlock(page)
    assert outbox_states(page) == {"waiting": 6}
    context.set_offline(False)
    wait_until_sent(page, 6)
    context.close()

    assert [r["notes"] for r in stored(field["sql"], "offline note")] == [
        f"offline note {k}" for k in range(5)
    ]
    assert attempts(field["sql"]) == 1
    assert problems == []


def test_an_answer_lost_after_the_server_stored_the_batch_makes_no_duplicate(browser, field):
    context, page, problems = watched_phone(browser, field["url"])
    context.set_offline(True)
    for k in range(3):
        record_contact(page, f"dropped answer {k}")
    lost: list[int] = []

    def drop_the_first_answer(route) -> None:
        if lost:
            route.continue_()
            return
        response = route.fetch()  # the server stores the batch ...
        lost.append(response.status)
        route.abort("connectionreset")  # ... and the phone never reads the answer

    context.route("**/v1/contacts:batch", drop_the_first_answer)
    context.set_offline(False)
    wait_until_sent(page, 3)
    assert lost == [200]
    assert [r["notes"] for r in stored(field["sql"], "dropped answer")] == [
        f"dropped answer {k}" for k in range(3)
    ]
    assert problems == []
    context.close()


def test_a_conflicting_record_is_reviewed_and_kept_as_new_or_dropped(browser, field):
    context, page, problems = watched_phone(browser, field["url"])
    context.set_offline(True)
    record_contact(page, "mine to keep")
    record_contact(page, "mine to drop")
    page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 2")
    saved = page.eval_on_selector_all("#outbox-list li", "items => items.map(i => i.dataset.id)")
    keep_id, drop_id = list(reversed(saved))  # the list shows the newest first
    # Someone else's record arrives first with the same ids and different content.
    for client_id, note in ((keep_id, "server copy A"), (drop_id, "server copy B")):
        body = {
            "items": [
                {
                    "id": client_id,
                    "observed_at": "2026-01-01T06:00:00Z",
                    "lat": 51.73,
                    "lon": 0.47,
                    "notes": note,
                }
            ]
        }
        response = httpx.post(
            f"{field['url']}/v1/contacts:batch",
            json=body,
            headers=field["staff"]["worker_mid"],
            timeout=10,
        )
        assert response.json()["created"] == 1, response.text
    context.set_offline(False)
    tab(page, "outbox")
    page.click("#sync-button")
    page.wait_for_selector("#review-link:not([hidden])", timeout=20_000)
    page.click("#review-button")
    page.wait_for_selector("#screen-review:not([hidden])")
    assert page.locator("#review-list li").count() == 2
    assert serious_accessibility_violations(page) == []
    shot(page, "review")
    page.click(f'#review-list li[data-id="{keep_id}"] >> text=Keep mine as a new record')
    page.wait_for_function(
        f"() => !document.querySelector('#review-list li[data-id=\"{keep_id}\"]')"
    )
    page.click(f'#review-list li[data-id="{drop_id}"] >> text=Drop mine')
    page.wait_for_selector("#screen-outbox:not([hidden])")
    wait_until_sent(page, 1)
    notes = {str(r["id"]): r["notes"] for r in stored(field["sql"], "")}
    assert notes[keep_id] == "server copy A"
    assert notes[drop_id] == "server copy B"
    kept = [i for i, n in notes.items() if n == "mine to keep"]
    assert len(kept) == 1
    assert kept[0] != keep_id
    assert "mine to drop" not in notes.values()
    assert problems == []
    context.close()


DUMP_INDEXEDDB = """async () => {
  const names = (await indexedDB.databases()).map(d => d.name);
  const out = {names, stores: {}};
  for (const name of names) {
    const db = await new Promise((ok, fail) => {
      const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = fail;
    });
    for (const store of db.objectStoreNames) {
      const rows = await new Promise((ok, fail) => {
        const r = db.transaction(store).objectStore(store).getAll();
        r.onsuccess = () => ok(r.result); r.onerror = fail;
      });
      const text = (v) => {
        if (v instanceof ArrayBuffer) v = new Uint8Array(v);
        if (ArrayBuffer.isView(v)) {
          const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
          return Array.from(bytes, c => String.fromCharCode(c)).join('');
        }
        if (v && typeof v === 'object') return Object.values(v).map(text).join('|');
        return String(v);
      };
      out.stores[name + '/' + store] = rows.map(text);
    }
    db.close();
  }
  return out;
}"""


def indexeddb(page) -> dict[str, Any]:
    return page.evaluate(DUMP_INDEXEDDB)


def rows_kept(page) -> int:
    return sum(len(rows) for rows in indexeddb(page)["stores"].values())


def test_the_phone_keeps_no_readable_text_and_wipes_itself(browser, field):
    context, page, problems = watched_phone(browser, field["url"])
    context.set_offline(True)
    canary = "Canary note: sleeps behind the library"
    record_contact(page, canary)
    dump = indexeddb(page)
    everything = json.dumps(dump)
    assert rows_kept(page) >= 4  # outbox, session, run-sheet, me ...
    for secret in (canary, "sleeps behind", "Green coat", "worker_mid", field["references"][0]):
        assert secret not in everything, secret

    # Five wrong PINs erase everything.
    page.click("#lock-button")
    for attempt in range(5):
        unlock(page, "000000")
        if attempt < 4:
            left = 4 - attempt
            page.wait_for_function(
                f"() => document.querySelector('#unlock-error').textContent.includes('{left} tr')"
            )
    page.wait_for_selector("#screen-signin:not([hidden])")
    assert "erased" in page.inner_text("#notice")
    assert rows_kept(page) == 0

    # Signing out erases everything too (and revokes the phone).
    context.set_offline(False)
    sign_in(page, field["url"], label="second")
    assert rows_kept(page) > 0
    page.click("#signout-button")
    page.wait_for_selector("#screen-signin:not([hidden])")
    assert rows_kept(page) == 0
    devices = httpx.get(
        f"{field['url']}/v1/devices", headers=field["staff"]["coord_mid"], timeout=10
    ).json()
    assert [d["revoked_at"] is not None for d in devices if d["label"] == "second"] == [True]

    # A phone a coordinator revokes wipes itself at its next call.
    sign_in(page, field["url"], label="lost phone")
    lost = next(
        d["id"]
        for d in httpx.get(
            f"{field['url']}/v1/devices", headers=field["staff"]["coord_mid"], timeout=10
        ).json()
        if d["label"] == "lost phone"
    )
    revoked = httpx.delete(
        f"{field['url']}/v1/devices/{lost}", headers=field["staff"]["coord_mid"], timeout=10
    )
    assert revoked.status_code == 204
    tab(page, "outbox")
    page.click("#sync-button")
    page.wait_for_selector("#screen-signin:not([hidden])", timeout=20_000)
    assert "revoked" in page.inner_text("#notice")
    assert rows_kept(page) == 0
    assert problems == []
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    image = decode_png(page.screenshot(path=str(SHOTS / f"{name}.png")))
    size = page.viewport_size
    assert image.shape[:2] == (size["height"], size["width"])
    assert colour_variance(image) > 20, f"the {name} screen looks blank"


WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + '#' + e.id + '.' + e.className)"""


def fits_the_width(page) -> bool:
    """Nothing scrolls sideways (the layout reflows instead)."""
    wider = page.evaluate(WIDER_THAN_THE_SCREEN)
    assert wider == [], wider
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_installable_accessible_and_drawn_on_a_phone_screen(browser, field, tmp_path):
    context = open_phone(browser, tmp_path / "profile")  # not incognito: installable
    page = context.pages[0] if context.pages else context.new_page()
    problems: list[str] = []
    watch(page, problems)
    page.goto(f"{field['url']}/app")
    page.wait_for_selector("#screen-signin:not([hidden])")
    assert serious_accessibility_violations(page) == []
    shot(page, "signin")
    page.fill("#username", "worker_mid")
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#screen-setpin:not([hidden])")
    assert serious_accessibility_violations(page) == []
    shot(page, "setpin")
    page.fill("#new-pin", PIN)
    page.fill("#new-pin-again", PIN)
    page.click("#setpin-form button[type=submit]")
    page.wait_for_selector("#sheet-list li", timeout=20_000)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    cdp = context.new_cdp_session(page)
    installability = cdp.send("Page.getInstallabilityErrors")
    assert installability["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == []

    context.set_offline(True)
    record_contact(page, "a note")  # so that the outbox has something to show
    not_found(page)
    for name in ("sheet", "map", "record", "outbox"):
        tab(page, name)
        if name in ("map", "record"):
            page.wait_for_selector(f"#{'sheet' if name == 'map' else 'record'}-map canvas")
            page.wait_for_timeout(500)
        assert serious_accessibility_violations(page) == [], name
        assert fits_the_width(page), name
        shot(page, name)
        # Large text (twice the default size) still fits a 360 px wide screen.
        page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
        assert fits_the_width(page), f"{name} with large text"
        shot(page, f"{name}-large-text")
        page.evaluate("() => { document.documentElement.style.fontSize = ''; }")
    page.set_viewport_size({"width": 1280, "height": 800})
    for name in ("sheet", "record"):
        tab(page, name)
        shot(page, f"{name}-wide")
    page.set_viewport_size(PHONE)
    page.click("#lock-button")
    page.wait_for_selector("#screen-unlock:not([hidden])")
    assert serious_accessibility_violations(page) == []
    shot(page, "unlock")
    assert problems == []
    context.close()


def test_attach_to_a_person_close_a_referral_and_keep_a_rejection_with_its_reason(browser, field):
    staff, sql, url = field["staff"], field["sql"], field["url"]
    person = httpx.post(
        f"{url}/v1/persons",
        json={"known_as": "Red Jacket"},
        headers=staff["worker_mid"],
        timeout=10,
    ).json()
    context, page, problems = watched_phone(browser, url)

    tab(page, "record")
    page.fill("#person-search", "red ja")
    page.click("#person-results button:has-text('Red Jacket')")
    assert page.input_value("#attach") == f"person:{person['id']}"
    page.click("#gps-button")
    page.wait_for_function(
        "() => document.querySelector('#position-text').textContent.includes('GPS')"
    )
    page.fill("#notes", "attached note")
    save_record(page)  # saving resets the form, search box included: type only after it
    # Offline, the persons found before on this phone are still found.
    context.set_offline(True)
    page.fill("#person-search", "jacket")
    page.wait_for_selector("#person-results button:has-text('Red Jacket')")

    # Stop 2's referral is closed by someone else meanwhile, with another outcome.
    second = page.inner_text('#sheet-list li[data-sequence="2"] h2').split("Referral ")[1].strip()
    second_id = sql("SELECT id FROM referrals WHERE reference = $1", second)[0]["id"]
    closed = httpx.post(
        f"{url}/v1/referrals/{second_id}/outcome",
        json={"outcome": "found_declined"},
        headers=staff["worker_mid"],
        timeout=10,
    )
    assert closed.status_code == 200, closed.text
    tab(page, "sheet")
    for sequence in (1, 2):
        page.select_option(f"#outcome-{sequence}", "found_engaged")
        page.click(f'#sheet-list li[data-sequence="{sequence}"] >> text=Close with outcome')
    context.set_offline(False)
    wait_until_sent(page, 2)
    page.wait_for_selector('#outbox-list li[data-state="rejected"]')
    rejected = page.inner_text('#outbox-list li[data-state="rejected"]')
    assert "Reason: the referral is already closed with another outcome" in rejected
    assert second in rejected

    first = page.inner_text('#sheet-list li[data-sequence="1"] h2').split("Referral ")[1].strip()
    outcomes = {
        r["reference"]: r["outcome"]
        for r in sql(
            "SELECT reference, outcome FROM referrals WHERE reference = ANY($1)", [first, second]
        )
    }
    assert outcomes == {first: "found_engaged", second: "found_declined"}
    contact = sql("SELECT person_id FROM contacts WHERE notes = 'attached note'")
    assert [str(c["person_id"]) for c in contact] == [person["id"]]
    assert problems == []
    context.close()


def test_the_service_worker_shows_a_push_alert_with_a_reference_only(browser, field, tmp_path):
    context = open_phone(browser, tmp_path / "profile")
    context.grant_permissions(["notifications", "geolocation"], origin=field["url"])
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, field["url"])
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    registration = [
        r for r in registrations if r["scopeURL"].endswith("/app") and not r["isDeleted"]
    ][-1]
    payload = {"reference": "ESX-TEST-01", "reason": "urgent referral assigned to your team"}
    shown: list[dict[str, str]] = []
    for _ in range(3):  # a worker that is just starting may miss the first message
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": field["url"],
                "registrationId": registration["registrationId"],
                "data": json.dumps(payload),
            },
        )
        deadline = time.monotonic() + 3
        while not shown and time.monotonic() < deadline:
            page.wait_for_timeout(100)
            shown = page.evaluate(
                """async () => {
                  const all = await (await navigator.serviceWorker.ready).getNotifications();
                  return all.map(n => ({title: n.title, body: n.body}));
                }"""
            )
        if shown:
            break
    assert shown == [{"title": "Outreach: ESX-TEST-01", "body": payload["reason"]}]
    context.close()
