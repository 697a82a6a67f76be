"""Exports: streamed CSV equal to the caller's scoped rows, audited once with the row count;
the snapshot return with small numbers suppressed and nationality for administrators only;
the command-line equivalents."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import math
import uuid
from collections import Counter
from decimal import Decimal

import pytest

from service.app import create_app
from service.cli import main as cli
from service.db.engine import positional
from service.db.exports import LIST_COLUMNS
from service.usecases.figures import exports
from tests.conftest import assert_problem, in_thread
from tests.integration.figures_data import END, FROM, START, TO, seed_world

PERIOD = {"from": FROM.isoformat(), "to": TO.isoformat()}
MID = ("E07000070", "E07000067", "E07000074")


@pytest.fixture
def world(staff, db_url):
    return seed_world(db_url)


def rows(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def references(sql, where, *args):
    found = sql(
        f"SELECT reference FROM referrals WHERE ({where}) "
        "AND received_at >= $1 AND received_at < $2",
        START,
        END,
        *args,
    )
    return sorted(r["reference"] for r in found)


def test_referral_exports_hold_exactly_the_rows_in_scope(client, staff, sql, world):
    mid, south = world.teams["Mid Essex Outreach"], world.teams["Southend Outreach"]
    expected = {
        "admin": references(sql, "true"),
        "worker_mid": references(sql, "team_id = $3", mid),
        "worker_south": references(sql, "team_id = $3", south),
        "coord_mid": references(
            sql, "authority_code = ANY($3::varchar[]) OR authority_code IS NULL", list(MID)
        ),
    }
    for who, want in expected.items():
        got = rows(client.get("/v1/exports/referrals.csv", params=PERIOD, headers=staff[who]))
        assert sorted(r["reference"] for r in got) == want, who
        assert want
    # oldest first, and the period's first moment is in, its end is out
    admin = rows(client.get("/v1/exports/referrals.csv", params=PERIOD, headers=staff["admin"]))
    received = [r["received_at"] for r in admin]
    assert received == sorted(received)
    assert received[0] == START.isoformat()
    assert END.isoformat() not in received


def test_a_worker_cannot_export_another_teams_rows(client, staff, sql, world):
    mid = world.teams["Mid Essex Outreach"]
    for path in ("/v1/exports/referrals.csv", "/v1/exports/contacts.csv"):
        asked = rows(client.get(path, params={"team": mid}, headers=staff["worker_south"]))
        assert asked == []
        everything = rows(client.get(path, headers=staff["worker_south"]))
        assert everything
        assert {r["team_id"] for r in everything} == {str(world.teams["Southend Outreach"])}


def test_contact_exports_follow_the_contact_scope(client, staff, sql, world):
    mid = world.teams["Mid Essex Outreach"]
    scoped = sql(
        "SELECT id FROM contacts WHERE authority_code = ANY($1::varchar[]) OR team_id = ANY($2)",
        ["E06000033"],
        [],
    )
    got = rows(client.get("/v1/exports/contacts.csv", headers=staff["coord_south"]))
    assert sorted(r["id"] for r in got) == sorted(str(r["id"]) for r in scoped)
    worker = rows(
        client.get("/v1/exports/contacts.csv", params=PERIOD, headers=staff["worker_mid"])
    )
    want = sql(
        "SELECT c.id, p.pseudonym FROM contacts c LEFT JOIN persons p ON p.id = c.person_id "
        "WHERE c.team_id = $1 AND c.observed_at >= $2 AND c.observed_at < $3",
        mid,
        START,
        END,
    )
    assert {(r["id"], r["person"]) for r in worker} == {
        (str(r["id"]), r["pseudonym"] or "") for r in want
    }
    assert "known_as" not in worker[0]


def test_each_export_is_audited_once_with_its_row_count(client, staff, sql, world):
    got = rows(client.get("/v1/exports/referrals.csv", params=PERIOD, headers=staff["coord_mid"]))
    audit = sql(
        "SELECT username, action, subject_type, route, detail FROM audit_log "
        "WHERE action = 'export'"
    )
    assert len(audit) == 1
    entry = audit[0]
    assert (entry["username"], entry["subject_type"]) == ("coord_mid", "referrals")
    assert entry["route"] == "/v1/exports/referrals.csv"
    detail = json.loads(entry["detail"])
    assert detail["rows"] == len(got)
    assert (detail["from"], detail["to"]) == (PERIOD["from"], PERIOD["to"])


def test_special_category_fields_only_when_asked_by_a_role_that_acts_on_them(
    client, staff, sql, world
):
    contact_id = sql(
        "SELECT id FROM contacts WHERE team_id = $1 ORDER BY observed_at LIMIT 1",
        world.teams["Mid Essex Outreach"],
    )[0]["id"]
    sql(
        "INSERT INTO contact_sensitive (contact_id, support_needs, health_notes) "
        "VALUES ($1, '[\"mental_health\", \"alcohol\"]', 'diabetic')",
        contact_id,
    )
    plain = rows(client.get("/v1/exports/contacts.csv", headers=staff["worker_mid"]))
    assert "support_needs" not in plain[0]
    assert "health_notes" not in plain[0]
    assert "diabetic" not in json.dumps(plain)
    full = rows(
        client.get(
            "/v1/exports/contacts.csv",
            params={"special_category": "true"},
            headers=staff["worker_mid"],
        )
    )
    row = next(r for r in full if r["id"] == str(contact_id))
    assert (row["support_needs"], row["health_notes"]) == ("mental_health;alcohol", "diabetic")
    denied = client.get(
        "/v1/exports/contacts.csv", params={"special_category": "true"}, headers=staff["admin"]
    )
    assert_problem(denied, 403)
    assert sql("SELECT count(*) AS n FROM audit_log WHERE action = 'export'")[0]["n"] == 2


def test_text_a_spreadsheet_would_run_is_defused(client, staff, world):
    got = rows(client.get("/v1/exports/referrals.csv", headers=staff["admin"]))
    formulas = [r["location_description"] for r in got if "HYPERLINK" in r["location_description"]]
    assert formulas
    assert all(text.startswith("'=") for text in formulas)
    notes = [
        r["notes"] for r in rows(client.get("/v1/exports/contacts.csv", headers=staff["admin"]))
    ]
    assert "'=cmd|' /C calc'!A0" in notes


def test_rows_leave_in_batches_from_a_cursor(settings, staff, sql, world, monkeypatch):
    """The export is written batch by batch (a chunk per batch after the header)."""
    monkeypatch.setattr(exports, "BATCH_ROWS", 7)
    total = sql("SELECT count(*) AS n FROM referrals")[0]["n"]
    user = exports.cli_user()
    seen: list[tuple[int, int]] = []

    async def collect():
        runtime = create_app(settings).state.runtime
        try:
            job = await exports.referrals_csv(
                runtime,
                user,
                exports.ExportFilter(),
                route="test",
                progress=lambda done, of: seen.append((done, of)),
            )
            return [chunk async for chunk in job.chunks]
        finally:
            await runtime.engine.dispose()
            await runtime.http.aclose()

    chunks = in_thread(asyncio.run, collect())
    assert len(chunks) == 1 + math.ceil(total / 7)
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert sum(chunk.count(b"SLT-") for chunk in chunks) == total


# Values that each need something of a CSV cell: a formula to defuse, a quote, a comma or a
# line break to quote, a float that prints as a whole number, a time without microseconds.
TRICKY_TEXT = [
    None,
    "",
    "plain",
    "=SUM(A1)",
    "+44 7700",
    "-2",
    "@here",
    "\tx",
    "\rx",
    "'quoted",
    "a,b",
    'say "hi"',
    "line\nbreak",
    '=a,"b"',
    "caf\u00e9 \u2615",
    "'=x",
    ",",
    '"',
]
TYPED = [
    ("text", TRICKY_TEXT),
    ("boolean", [True, False, None]),
    ("smallint", [0, -3, 32767, None]),
    ("integer", [7, -2147483648, None]),
    ("bigint", [9007199254740993, None]),
    ("numeric", [Decimal("51.123400"), Decimal("-0.000001"), Decimal("0.000000"), None]),
    ("uuid", [uuid.UUID(int=0), uuid.uuid4(), None]),
    ("double precision", [12.5, 10.0, 0.1, 1e-05, 123456.789, 0.0, -0.0, 1e300, None]),
    (
        "timestamptz",
        [
            dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 28, 23, 59, 59, 120000, tzinfo=dt.UTC),
            dt.datetime(2000, 2, 29, 0, 0, 0, 1, tzinfo=dt.UTC),
            dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            None,
        ],
    ),
]


@pytest.mark.parametrize(("kind", "values"), TYPED, ids=[kind for kind, _ in TYPED])
def test_the_database_writes_each_cell_as_the_app_would(sql, kind, values):
    """csv_cell() is the twin of exports.cell() and the csv module: the same line, byte for
    byte, for every kind of column an export has."""
    for value in values:
        line = sql(f"SELECT concat_ws(',', csv_cell($1::{kind}), 'x') || E'\\r\\n' AS l", value)
        expected = exports.encode_rows(
            [[value.astimezone(dt.UTC) if kind == "timestamptz" and value else value, "x"]]
        )
        assert line[0]["l"].encode() == expected, (kind, value)


def _python_export(sql, name, columns, **params):
    """The export as exports.encode_rows writes it from the rows of its query."""
    statement, names = positional(f"export_{name}")
    values = {
        "scope_all": True,
        "scope_coordinator": False,
        "scope_teams": [],
        "scope_codes": [],
        "start": exports.EARLIEST,
        "end": exports.LATEST,
        "authority": None,
        "team_id": None,
    } | params
    found = sql(statement, *(values[n] for n in names))
    as_python = [
        [json.loads(r[c]) if c in LIST_COLUMNS and r[c] is not None else r[c] for c in columns]
        for r in found
    ]
    return exports.encode_rows([columns]) + exports.encode_rows(as_python), len(found)


def test_an_export_is_byte_for_byte_what_the_app_would_write(client, staff, sql, world):
    mid = world.teams["Mid Essex Outreach"]
    sql(
        "UPDATE contacts SET notes = $1, accuracy_m = 10.0, offers_made = $3::jsonb, "
        "offers_accepted = '[]'::jsonb "
        "WHERE id IN (SELECT id FROM contacts WHERE team_id = $2 LIMIT 3)",
        '=HYPERLINK("x"),\nsecond line',
        mid,
        json.dumps(["=x", "a,b", None, 'say "hi"']),
    )
    changed = sql(
        "INSERT INTO contact_sensitive (contact_id, support_needs, health_notes) "
        "SELECT id, $3::jsonb, $1 FROM contacts WHERE team_id = $2 ORDER BY id LIMIT 2 "
        "ON CONFLICT (contact_id) DO UPDATE SET support_needs = EXCLUDED.support_needs, "
        "health_notes = EXCLUDED.health_notes RETURNING 1",
        'said "no",\r\nthen yes',
        mid,
        json.dumps(["-a", "b"]),
    )
    assert len(changed) == 2
    sql(
        "UPDATE referrals SET appearance = $1, accuracy_m = 25.0 "
        "WHERE id IN (SELECT id FROM referrals LIMIT 3)",
        '@tall, "red" coat',
    )
    worker = {"scope_all": False, "scope_teams": [mid]}
    cases = [
        ("referrals.csv", "admin", {}, exports.REFERRAL_COLUMNS, {}),
        ("contacts.csv", "admin", {}, exports.CONTACT_COLUMNS, {"special_category": False}),
        (
            "contacts.csv",
            "worker_mid",
            {"special_category": "true"},
            exports.CONTACT_COLUMNS + exports.SPECIAL_CATEGORY_COLUMNS,
            worker | {"special_category": True},
        ),
    ]
    for path, who, query, columns, params in cases:
        got = client.get(f"/v1/exports/{path}", params=query, headers=staff[who])
        assert got.status_code == 200, got.text
        expected, n = _python_export(sql, path.removesuffix(".csv"), columns, **params)
        assert n > 3
        assert got.content == expected, path


def _people_last_seen(sql):
    """Each person (survivor of merges) seen bedded down in the period, where last seen."""
    parent = {r["id"]: r["merged_into"] for r in sql("SELECT id, merged_into FROM persons")}

    def root(person_id):
        while parent[person_id] is not None:
            person_id = parent[person_id]
        return person_id

    last = {}
    for c in sql(
        "SELECT person_id, authority_code, observed_at, id FROM contacts "
        "WHERE bedded_down AND person_id IS NOT NULL AND authority_code IS NOT NULL "
        "AND observed_at >= $1 AND observed_at < $2",
        START,
        END,
    ):
        key = root(c["person_id"])
        if key not in last or (c["observed_at"], c["id"]) > last[key][0]:
            last[key] = ((c["observed_at"], c["id"]), c["authority_code"])
    people = {r["id"]: r for r in sql("SELECT id, gender, nationality_band FROM persons")}
    return [(code, people[person]) for person, (_, code) in last.items()]


def test_the_snapshot_return_counts_people_once_and_suppresses_small_numbers(
    client, staff, sql, world
):
    people = _people_last_seen(sql)
    totals = Counter(code for code, _ in people)
    males = Counter(code for code, p in people if p["gender"] == "male")
    body = client.get("/v1/exports/snapshot", params=PERIOD, headers=staff["admin"]).json()
    assert len(body["authorities"]) == 14
    for area in body["authorities"]:
        n = totals[area["code"]]
        assert area["total"] == (n if n >= 5 else "<5")
        assert area["gender"]["male"] in ("<5", males[area["code"]])
        for dimension in ("gender", "age_band", "nationality"):
            cells = area[dimension].values()
            assert all(v == "<5" or v >= 5 for v in cells)
            assert list(cells).count("<5") != 1
    assert max(totals.values()) >= 5  # something is shown exactly
    assert any(0 < n < 5 for n in totals.values())  # and something small is hidden
    uk = Counter(code for code, p in people if p["nationality_band"] == "uk")
    for area in body["authorities"]:
        assert area["nationality"]["uk"] in ("<5", uk[area["code"]])


def test_nationality_is_for_administrators_only(client, staff, world):
    coord = client.get("/v1/exports/snapshot", params=PERIOD, headers=staff["coord_mid"]).json()
    assert sorted(a["code"] for a in coord["authorities"]) == sorted(MID)
    assert all("nationality" not in a for a in coord["authorities"])
    text = client.get("/v1/exports/snapshot.csv", params=PERIOD, headers=staff["coord_mid"]).text
    assert "nationality" not in text
    assert "E06000033" not in text
    admin = client.get("/v1/exports/snapshot.csv", params=PERIOD, headers=staff["admin"]).text
    lines = list(csv.DictReader(io.StringIO(admin)))
    assert {r["band"] for r in lines if r["dimension"] == "nationality"} == {
        "uk",
        "eu",
        "non_eu",
        "not_known",
    }
    assert {r["count"] for r in lines} - {"<5"} <= {str(n) for n in range(5, 1000)}
    assert_problem(client.get("/v1/exports/snapshot", headers=staff["worker_mid"]), 403)


def test_bad_export_filters_are_problems_and_nothing_is_audited(client, staff, sql):
    for params in (
        {"authority": "E07999999"},
        {"team": 999999},
        {"from": "2025-02-02", "to": "2025-02-01"},
    ):
        assert_problem(
            client.get("/v1/exports/referrals.csv", params=params, headers=staff["admin"]), 422
        )
    assert sql("SELECT count(*) AS n FROM audit_log WHERE action = 'export'")[0]["n"] == 0


def test_the_command_line_writes_the_same_export_with_progress(
    client, staff, sql, world, db_url, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    output = tmp_path / "referrals.csv"
    args = ["export", "referrals", "--output", str(output), "--from", "2025-01-01"]
    assert in_thread(cli, [*args, "--to", "2025-03-31"]) == 0
    printed = capsys.readouterr()
    api = client.get("/v1/exports/referrals.csv", params=PERIOD, headers=staff["admin"]).text
    assert output.read_bytes().decode("utf-8") == api
    n = len(api.splitlines()) - 1
    assert f"exported {n} rows" in printed.out
    assert f"{n}/{n}" in printed.err  # the progress indicator's last line
    entry = sql("SELECT username, detail FROM audit_log WHERE route LIKE 'cli:%'")
    assert len(entry) == 1
    assert entry[0]["username"].startswith("cli:")
    assert json.loads(entry[0]["detail"])["rows"] == n
    snapshot = tmp_path / "snapshot.json"
    argv = ["export", "snapshot", "--output", str(snapshot), "--format", "json"]
    assert in_thread(cli, [*argv, "--from", "2025-01-01", "--to", "2025-03-31"]) == 0
    assert all("nationality" not in a for a in json.loads(snapshot.read_text())["authorities"])
    assert in_thread(cli, [*argv, "--nationality"]) == 0
    assert all("nationality" in a for a in json.loads(snapshot.read_text())["authorities"])
    assert (
        in_thread(
            cli,
            ["export", "contacts", "--output", str(tmp_path / "c.csv"), "--authority", "E07999999"],
        )
        == 2
    )
    assert not (tmp_path / "c.csv").exists()


def test_nationality_is_recorded_on_a_person_but_never_read_back(client, staff, sql):
    created = client.post(
        "/v1/persons",
        json={"known_as": "Ana", "nationality_band": "eu"},
        headers=staff["worker_mid"],
    )
    assert created.status_code == 201, created.text
    person = created.json()
    assert "nationality_band" not in person
    assert (
        sql("SELECT nationality_band FROM persons WHERE pseudonym = $1", person["pseudonym"])[0][
            "nationality_band"
        ]
        == "eu"
    )
    patched = client.patch(
        f"/v1/persons/{person['id']}",
        json={"nationality_band": "non_eu"},
        headers=staff["worker_mid"],
    )
    assert patched.status_code == 200, patched.text
    assert "nationality_band" not in patched.json()
    for who in ("worker_mid", "coord_mid", "admin"):
        read = client.get(f"/v1/persons/{person['id']}", headers=staff[who]).json()
        assert "non_eu" not in json.dumps(read)
    bad = client.patch(
        f"/v1/persons/{person['id']}",
        json={"nationality_band": "British"},
        headers=staff["worker_mid"],
    )
    assert_problem(bad, 400)
    assert (
        sql("SELECT nationality_band FROM persons WHERE id = $1", uuid.UUID(person["id"]))[0][
            "nationality_band"
        ]
        == "non_eu"
    )
