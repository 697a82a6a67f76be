"""The public report form and status pages, without JavaScript (plain HTTP)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from service.usecases.referrals.sla import LONDON

SCRIPT = '<script>alert("x")</script>'


def form(**overrides):
    body = {
        "submission_key": str(uuid.uuid4()),
        "location_description": "Doorway of the old bank, High Street, Chelmsford",
        "postcode": "CM1 1AA",
        "seen_date": dt.datetime.now(LONDON).date().isoformat(),
        "seen_time_band": "early_morning" if dt.datetime.now(LONDON).hour >= 8 else "night",
        "gender": "female",
        "age_band": "26_35",
        "site_type": "doorway",
        "people_count": "1",
        "appearance": "Red coat",
    }
    if body["seen_time_band"] == "night":
        body["seen_date"] = (dt.datetime.now(LONDON).date() - dt.timedelta(days=1)).isoformat()
    body.update(overrides)
    return body


def test_the_form_is_plain_html_with_labels_and_999_guidance(client):
    response = client.get("/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "999" in html
    assert 'role="alert"' in html
    for name in (
        "location_description",
        "postcode",
        "seen_date",
        "immediate_danger",
        "appears_under_18",
        "referrer_email",
    ):
        assert f'id="{name}"' in html
        assert f'for="{name}"' in html
    assert '<form method="post" action="/report"' in html
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script>" not in html.replace('<script src="', "")  # no inline script


def test_submitting_without_javascript_redirects_to_a_private_status_page(client, sql):
    response = client.post("/report", data=form(), follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.match(
        r"^/report/status/ESX-[0-9A-Z]{4}-[0-9A-Z]{2}\?token=[^&]+&submitted=1$", location
    )
    page = client.get(location)
    assert page.status_code == 200
    reference = sql("SELECT reference, location_quality, source FROM referrals")[0]
    assert reference["reference"] in page.text
    assert (reference["location_quality"], reference["source"]) == ("text_only", "web")
    assert "Red coat" not in page.text
    assert "High Street" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_resubmitted_form_is_not_a_second_referral(client, sql):
    body = form()
    first = client.post("/report", data=body, follow_redirects=False).headers["location"]
    again = client.post("/report", data=body, follow_redirects=False).headers["location"]
    assert first == again
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 1


def test_urgent_flags_show_the_emergency_guidance_on_the_status_page(client):
    location = client.post(
        "/report", data=form(appears_under_18="true"), follow_redirects=False
    ).headers["location"]
    page = client.get(location).text
    assert "Call 999 now" in page


def test_errors_re_render_the_form_with_everything_escaped(client, sql):
    response = client.post(
        "/report", data=form(location_description=SCRIPT, postcode="NOPE", appearance=SCRIPT)
    )
    assert response.status_code == 422
    assert SCRIPT not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    assert 'href="#postcode"' in response.text
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 0


def test_a_pin_from_the_map_routes_the_referral(client, sql):
    client.post("/report", data=form(lat="51.7366", lon="0.4693", accuracy_m="15"))
    row = sql("SELECT authority_code, location_quality FROM referrals")[0]
    assert (row["authority_code"], row["location_quality"]) == ("E07000070", "pin")


def test_an_unknown_status_page_is_a_404_page(client):
    response = client.get("/report/status/ESX-2345-67", params={"token": "nope"})
    assert response.status_code == 404
    assert "could not find" in response.text


def test_stored_script_stays_inert_on_the_status_page(client, sql):
    location = client.post(
        "/report", data=form(appearance=SCRIPT, clothing=SCRIPT), follow_redirects=False
    ).headers["location"]
    assert sql("SELECT appearance FROM referrals")[0]["appearance"] == SCRIPT  # stored as text
    assert SCRIPT not in client.get(location).text


def test_the_forms_own_default_date_and_time_band_are_accepted(client, sql):
    """Posted back as the page set them, at whatever hour: between midnight and 4am the
    default was today's night, which has not begun, and the form refused its own defaults
    (the doctest of ``report_form.current_band`` pins that hour)."""
    html = client.get("/report").text
    date = re.search(r'id="seen_date" name="seen_date" value="([0-9-]+)"', html)
    band = re.search(r'<option value="(\w+)" selected>', html.split('id="seen_time_band"')[1])
    assert date is not None
    assert band is not None
    body = form(seen_date=date.group(1), seen_time_band=band.group(1))
    response = client.post("/report", data=body, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 1
