"""The console's API: placing and forwarding referrals, the triage queue and its flags, the
polled queue version, the weekly series and the export row counts."""

from __future__ import annotations

import csv
import io
import json

from tests.conftest import assert_problem, wait_for
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

CHELMSFORD = (0.4693, 51.7366)
SOUTHEND = (0.7140, 51.5380)
LONDON = (-0.1276, 51.5072)
MID_ESSEX_TEAM = 4


def _refer(client, sql, **overrides):
    receipt = client.post("/v1/referrals", json=alert(**overrides))
    assert receipt.status_code == 201, receipt.text
    reference = receipt.json()["reference"]
    return str(sql("SELECT id FROM referrals WHERE reference = $1", reference)[0]["id"])


def _text_only(client, sql, text="Behind the library, by the bins"):
    return _refer(client, sql, lat=None, lon=None, accuracy_m=None, location_description=text)


def test_placing_a_text_only_referral_routes_assigns_and_records_who(client, sql, staff):
    referral = _text_only(client, sql)
    before = sql(
        "SELECT status, team_id, authority_code FROM referrals WHERE id = $1::uuid", referral
    )
    assert dict(before[0]) == {"status": "received", "team_id": None, "authority_code": None}
    first = client.post("/v1/assignments:run", headers=staff["coord_mid"])  # the reference
    assert first.status_code == 200, first.text

    placed = client.put(
        f"/v1/referrals/{referral}/location",
        json={"lon": CHELMSFORD[0], "lat": CHELMSFORD[1], "note": "the library is on Market Rd"},
        headers=staff["coord_mid"],
    )
    assert placed.status_code == 200, placed.text
    body = placed.json()
    assert body["authority_code"] == "E07000070"
    assert body["team_id"] == MID_ESSEX_TEAM
    assert body["located_by"] == "coordinator"
    assert body["status"] == "assigned"
    assert body["previously_located"] is False
    current = sql("SELECT id FROM boundary_versions WHERE is_current")[0]["id"]
    assert body["boundary_version_id"] == current
    row = sql(
        "SELECT located_by, location_quality, next_shift_due_at IS NOT NULL AS due, "
        "round(ST_X(geom)::numeric, 4) AS lon FROM referrals WHERE id = $1::uuid",
        referral,
    )[0]
    assert (row["located_by"], row["location_quality"], row["due"]) == ("coordinator", "pin", True)
    event = sql(
        "SELECT actor, data FROM referral_events WHERE referral_id = $1::uuid AND kind = 'located'",
        referral,
    )[0]
    data = json.loads(event["data"])
    assert event["actor"] == "coord_mid"
    assert data["boundary_version_id"] == current
    assert data["note"] == "the library is on Market Rd"
    audit = sql(
        "SELECT username, detail FROM audit_log WHERE action = 'referral_located' "
        "AND subject_id = $1",
        referral,
    )
    assert [a["username"] for a in audit] == ["coord_mid"]
    # Placed before the answer, incrementally (no full run), where a full run puts it too.
    placement = "SELECT item_id, team_id, shift_start, rule FROM assignments"
    assignment = sql(f"{placement} WHERE item_kind = 'referral' AND item_id = $1", referral)
    assert [a["team_id"] for a in assignment] == [MID_ESSEX_TEAM]
    newest = sql("SELECT incremental, trigger FROM assignment_runs ORDER BY id DESC LIMIT 1")
    assert [dict(r) for r in newest] == [{"incremental": True, "trigger": "referral_located"}]
    everything = {tuple(r.values()) for r in sql(placement)}
    ran = client.post("/v1/assignments:run", headers=staff["coord_mid"])
    assert ran.status_code == 200, ran.text
    assert {tuple(r.values()) for r in sql(placement)} == everything


def test_placement_is_for_coordinators_in_scope_and_bad_input_changes_nothing(client, sql, staff):
    referral = _text_only(client, sql)
    url = f"/v1/referrals/{referral}/location"
    point = {"lon": CHELMSFORD[0], "lat": CHELMSFORD[1]}
    assert_problem(client.put(url, json=point, headers=staff["worker_mid"]), 403)
    assert_problem(client.put(url, json=point), 401)
    for bad in (
        {"lon": 0.4, "lat": 95},
        {"lon": 0.4},
        {**point, "extra": 1},
        {**point, "note": ""},
    ):
        assert client.put(url, json=bad, headers=staff["coord_mid"]).status_code in (400, 422)
    assert sql("SELECT geom IS NULL AS none FROM referrals WHERE id = $1::uuid", referral)[0][
        "none"
    ]
    # Placed in Southend by the Southend coordinator: the Chelmsford one no longer sees it.
    placed = client.put(
        url, json={"lon": SOUTHEND[0], "lat": SOUTHEND[1]}, headers=staff["coord_south"]
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()["authority_code"] == "E06000033"
    assert_problem(client.put(url, json=point, headers=staff["coord_mid"]), 404)
    closed = client.post(
        f"/v1/referrals/{referral}/outcome",
        json={"outcome": "not_found"},
        headers=staff["admin"],
    )
    assert closed.status_code == 200
    assert_problem(client.put(url, json=point, headers=staff["admin"]), 409)


def test_an_out_of_area_referral_is_forwarded_with_a_note_and_closed(quick_client, sql, staff):
    client = quick_client
    away = _refer(client, sql, lon=LONDON[0], lat=LONDON[1])
    here = _refer(client, sql)
    note = {"note": "Sent to the Westminster outreach service"}
    first = client.post("/v1/assignments:run", headers=staff["coord_mid"])  # the reference
    assert first.status_code == 200, first.text
    assert_problem(
        client.post(f"/v1/referrals/{here}/forward", json=note, headers=staff["coord_mid"]), 409
    )
    assert_problem(
        client.post(f"/v1/referrals/{away}/forward", json=note, headers=staff["worker_mid"]), 403
    )
    forwarded = client.post(f"/v1/referrals/{away}/forward", json=note, headers=staff["coord_mid"])
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json()["outcome"] == "out_of_area_forwarded"
    assert forwarded.json()["status"] == "closed"
    event = sql(
        "SELECT data FROM referral_events WHERE referral_id = $1::uuid AND kind = 'closed'", away
    )[0]
    assert json.loads(event["data"])["forwarded_to"] == note["note"]
    assert (
        sql("SELECT count(*) AS n FROM audit_log WHERE action = 'referral_forwarded'")[0]["n"] == 1
    )
    again = client.post(f"/v1/referrals/{away}/forward", json=note, headers=staff["coord_mid"])
    assert_problem(again, 409)
    # Forwarding asks for this item only to be placed again, not for a full run.
    closed = "SELECT incremental FROM assignment_runs WHERE trigger LIKE '%referral_closed%'"
    assert wait_for(lambda: sql(closed), timeout_s=10)
    assert [r["incremental"] for r in sql(closed)] == [True]


def _queue(client, headers, **params):
    response = client.get("/v1/referral-queue", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()}


def test_the_queue_filters_by_every_flag_and_is_scoped(client, sql, staff):
    plain = _refer(client, sql)
    unplaced = _text_only(client, sql, text='<img src=x onerror="alert(1)">')
    urgent = _refer(client, sql, immediate_danger=True, lon=0.4700)
    away = _refer(client, sql, lon=LONDON[0], lat=LONDON[1])
    late = _refer(client, sql, lon=0.4800, lat=51.7400)
    sql("UPDATE referrals SET outcome_due_at = now() - interval '1 day' WHERE id = $1::uuid", late)
    twin = _refer(client, sql, lon=0.46931, lat=51.73661)  # near `plain`, minutes apart
    south = _refer(client, sql, lon=SOUTHEND[0], lat=SOUTHEND[1])
    coord = staff["coord_mid"]

    everything = _queue(client, coord)
    assert set(everything) == {plain, unplaced, urgent, away, late, twin}  # not Southend's
    assert next(iter(everything)) == urgent  # urgent first
    assert everything[unplaced]["place_text"] == '<img src=x onerror="alert(1)">'
    assert everything[plain]["team_name"] == "Mid Essex Outreach"
    assert everything[plain]["routing_reason"]
    assert set(_queue(client, coord, no_location="true")) == {unplaced}
    assert set(_queue(client, coord, urgent="true")) == {urgent}
    assert set(_queue(client, coord, out_of_area="true")) == {away}
    assert set(_queue(client, coord, past_sla="true")) == {late}
    assert {plain, twin} <= set(_queue(client, coord, possible_duplicate="true"))
    assert twin in everything[plain]["possible_duplicates"]
    assert set(_queue(client, coord, swep="true")) == set()
    switched = client.put("/v1/areas/E07000070/swep", json={"active": True}, headers=coord)
    assert switched.status_code == 200
    assert set(_queue(client, coord, swep="true")) == {plain, urgent, late, twin}
    assert set(_queue(client, coord, authority="E07000070", urgent="true")) == {urgent}
    assert set(_queue(client, coord, stage="received")) == {unplaced, away}
    assert set(_queue(client, staff["coord_south"])) == {south, unplaced, away}
    assert_problem(client.get("/v1/referral-queue", headers=staff["worker_mid"]), 403)
    audited = sql(
        "SELECT count(*) AS n FROM audit_log WHERE subject_type = 'referral_queue' "
        "AND username = 'coord_mid'"
    )[0]["n"]
    assert audited == 10  # one audit row per read of the queue


def test_the_queue_version_changes_when_a_referral_arrives(client, sql, staff):
    first = client.get("/v1/referral-queue/version", headers=staff["coord_mid"]).json()
    _text_only(client, sql)
    second = client.get("/v1/referral-queue/version", headers=staff["coord_mid"]).json()
    assert second["open_referrals"] == first["open_referrals"] + 1
    assert second["last_change"] != first["last_change"]
    assert_problem(client.get("/v1/referral-queue/version", headers=staff["worker_mid"]), 403)
    assert (
        sql("SELECT count(*) AS n FROM audit_log WHERE subject_type = 'referral_queue'")[0]["n"]
        == 0
    )


def test_weekly_series_and_export_counts_equal_the_tables(client, sql, staff):
    for lon in (0.4693, 0.4701, 0.4712):
        _refer(client, sql, lon=lon)
    _refer(client, sql, lon=SOUTHEND[0], lat=SOUTHEND[1])
    items = [contact(), contact(lon=SOUTHEND[0], lat=SOUTHEND[1])]
    client.post("/v1/contacts:batch", json={"items": items[:1]}, headers=staff["worker_mid"])
    client.post("/v1/contacts:batch", json={"items": items[1:]}, headers=staff["worker_south"])
    for who, code in (("coord_mid", "E07000070"), ("admin", None)):
        series = client.get("/v1/stats/weekly", headers=staff[who])
        assert series.status_code == 200, series.text
        weeks = series.json()["weeks"]
        assert len(weeks) >= 13
        where = "authority_code = $1" if code else "$1::text IS NULL"
        referrals = sql(f"SELECT count(*) AS n FROM referrals WHERE {where}", code)[0]["n"]
        contacts = sql(f"SELECT count(*) AS n FROM contacts WHERE {where}", code)[0]["n"]
        assert sum(w["referrals"] for w in weeks) == referrals
        assert sum(w["contacts"] for w in weeks) == contacts
        counts = client.get("/v1/exports/counts", headers=staff[who]).json()
        assert counts == {"referrals": referrals, "contacts": contacts}
        exported = client.get("/v1/exports/referrals.csv", headers=staff[who]).text
        assert len(list(csv.reader(io.StringIO(exported)))) - 1 == counts["referrals"]
    unknown = client.get(
        "/v1/stats/weekly", params={"authority": "E09999999"}, headers=staff["admin"]
    )
    assert_problem(unknown, 422)


def test_placement_and_forward_notes_are_erased_with_the_free_text(client, sql, staff, settings):
    from tests.integration.test_retention import NOW, retention

    away = _refer(client, sql, lon=LONDON[0], lat=LONDON[1])
    unplaced = _text_only(client, sql)
    client.put(
        f"/v1/referrals/{unplaced}/location",
        json={"lon": CHELMSFORD[0], "lat": CHELMSFORD[1], "note": "behind the library"},
        headers=staff["coord_mid"],
    )
    client.post(
        f"/v1/referrals/{unplaced}/outcome", json={"outcome": "not_found"}, headers=staff["admin"]
    )
    note = {"note": "Sent to the Westminster outreach service"}
    assert (
        client.post(
            f"/v1/referrals/{away}/forward", json=note, headers=staff["coord_mid"]
        ).status_code
        == 200
    )
    sql("UPDATE referrals SET closed_at = $1::timestamptz - interval '400 days'", NOW)
    retention(settings)
    events = sql(
        "SELECT kind, data FROM referral_events WHERE kind IN ('located', 'closed') "
        "AND referral_id = ANY($1::uuid[])",
        [away, unplaced],
    )
    kept = [json.loads(e["data"]) for e in events]
    assert len(kept) == 3
    assert all("note" not in d and "forwarded_to" not in d for d in kept), kept
    assert any(d.get("boundary_version_id") for d in kept)  # who and where-by-rule stay


def test_the_console_page_refuses_a_workers_token_and_serves_the_shell_otherwise(client, staff):
    assert client.get("/console", headers=staff["worker_mid"]).status_code == 403
    assert client.get("/console", headers=staff["coord_mid"]).status_code == 200
    assert client.get("/console", headers=staff["admin"]).status_code == 200
    shell = client.get("/console")  # the browser's own request: no token, no data
    assert shell.status_code == 200
    assert 'src="/static/build/console.js"' in shell.text
    forged = client.get("/console", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 200  # a bad token is no one: the page signs in itself
