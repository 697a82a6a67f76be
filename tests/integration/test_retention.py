"""Retention applies every row of the schedule, to what is due and to nothing else.

For each row of ``service.retention_schedule.SCHEDULE`` a record just older and one just
younger than its period are seeded (timestamps set with SQL); a run with every *other* period
out of reach must change exactly the old record's columns of that row. Every personal column
of the schema must be in the schedule or in its kept list.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec
import pytest

from service.retention_schedule import KEPT, PERSONAL_TABLES, RULES, SCHEDULE, Rule
from service.runtime import build_runtime
from service.usecases.operations.retention import RETENTION_LOCK, run_retention
from tests.conftest import in_thread, make_settings
from tests.integration.test_referrals import alert

NOW = dt.datetime.now(dt.UTC)
FAR = 100_000  # days: a period no seeded record reaches
PERIOD_SETTINGS = sorted({rule.setting for rule in SCHEDULE if rule.setting})


@pytest.fixture
def settings(db_url):
    # No background assignment runs: they would change referrals while the test compares.
    return make_settings(db_url, assignment_auto_recompute=False)


def retention(settings, now=NOW, *, dry_run=False, while_locked=False):
    """Run retention; with ``while_locked``, while another session holds its lock."""

    async def go():
        runtime = build_runtime(settings)
        holder = await asyncpg.connect(settings.asyncpg_dsn) if while_locked else None
        try:
            if holder is not None:
                await holder.execute("SELECT pg_advisory_lock($1)", RETENTION_LOCK)
            return await run_retention(runtime, now=now, dry_run=dry_run)
        finally:
            if holder is not None:
                await holder.close()
            await runtime.engine.dispose()
            await runtime.http.aclose()

    return in_thread(asyncio.run, go())


def only(settings, rule: Rule):
    """Settings under which only ``rule`` (and rows sharing its period) can apply."""
    periods = {name: FAR for name in PERIOD_SETTINGS if name != rule.setting}
    return msgspec.structs.replace(settings, **periods)


# --- seeding ---------------------------------------------------------------------------------


class World:
    """Seeds records whose timestamps are set with SQL; keys: table -> primary key."""

    def __init__(self, client, sql):
        self.client, self.sql = client, sql
        self.team = sql("SELECT id FROM teams ORDER BY id LIMIT 1")[0]["id"]
        self.worker = sql(
            "INSERT INTO users (username, display_name, password_hash, role) "
            "VALUES ($1, 'W', 'x', 'worker') RETURNING id",
            f"w-{uuid.uuid4().hex[:8]}",
        )[0]["id"]

    def referral(self, *, received=None, closed=None, attempt=False) -> dict[str, Any]:
        body = alert(
            appearance=str(uuid.uuid4()),
            clothing="Red coat",
            belongings="Blue rucksack",
            postcode="CM1 1AA",
            referrer={"email": "r@example.org", "consent_to_contact": True, "wants_update": True},
        )
        reference = self.client.post("/v1/referrals", json=body).json()["reference"]
        rid = self.sql("SELECT id FROM referrals WHERE reference = $1", reference)[0]["id"]
        if received is not None:
            self.sql("UPDATE referrals SET received_at = $2 WHERE id = $1", rid, received)
            self.sql("UPDATE referral_events SET at = $2 WHERE referral_id = $1", rid, received)
        keys: dict[str, Any] = {"referrals": rid, "referrer_contacts": rid}
        # the acknowledgement waiting for its sender holds a copy of the address
        keys["outbox_messages"] = self.sql(
            "SELECT id FROM outbox_messages WHERE referral_id = $1", rid
        )[0]["id"]
        if attempt:
            keys["referral_attempts"] = self.sql(
                "INSERT INTO referral_attempts (id, referral_id, worker_id, attempted_at, found, "
                "geom, note) VALUES (gen_random_uuid(), $1, $2, $3, false, "
                "ST_SetSRID(ST_MakePoint(0.4701, 51.7371), 4326), 'Looked behind the bank') "
                "RETURNING id",
                rid,
                self.worker,
                (closed or NOW) - dt.timedelta(days=1),
            )[0]["id"]
        if closed is not None:
            self.sql(
                "UPDATE referrals SET status = 'closed', outcome = 'not_found', closed_at = $2, "
                "received_at = LEAST(received_at, $2) WHERE id = $1",
                rid,
                closed,
            )
        return keys

    def person(self, *, created=None) -> uuid.UUID:
        return self.sql(
            "INSERT INTO persons (pseudonym, known_as, consent_status, nationality_band, "
            "team_id, created_at) VALUES ($1, 'Dave', 'given', 'eu', $2, $3) RETURNING id",
            f"P-{uuid.uuid4().hex[:8]}",
            self.team,
            created or NOW,
        )[0]["id"]

    def contact(self, *, observed, person=None) -> dict[str, Any]:
        cid = self.sql(
            "INSERT INTO contacts (id, content_hash, team_id, worker_id, observed_at, geom, "
            "accuracy_m, authority_code, person_id, bedded_down, contact_type, engagement, "
            "outcome, notes) VALUES (gen_random_uuid(), md5(random()::text), $1, $2, $3, "
            "ST_SetSRID(ST_MakePoint(0.4693, 51.7366), 4326), 8, 'E07000070', $4, true, "
            "'street_outreach', 'engaged', 'accepted SWEP bed', 'Talked for 10 minutes') "
            "RETURNING id",
            self.team,
            self.worker,
            observed,
            person,
        )[0]["id"]
        self.sql(
            "INSERT INTO contact_sensitive (contact_id, support_needs, health_notes) "
            "VALUES ($1, '[\"alcohol\"]', 'asthma')",
            cid,
        )
        return {"contacts": cid, "contact_sensitive": cid}

    def hotspot(self, *, last, status="retired") -> dict[str, Any]:
        hid = self.sql(
            "INSERT INTO hotspots (layer, status, centroid, hull, member_count, core_count, "
            "referral_count, contact_count, bedded_down_count, first_activity_at, "
            "last_activity_at, retired_at) VALUES ('all_contacts', $1, "
            "ST_SetSRID(ST_MakePoint(0.4693, 51.7366), 4326), "
            "ST_Buffer(ST_SetSRID(ST_MakePoint(0.4693, 51.7366), 4326), 0.001), "
            "4, 3, 0, 4, 4, $2, $2, $3) RETURNING id",
            status,
            last,
            last if status == "retired" else None,
        )[0]["id"]
        return {"hotspots": hid}

    def finished_message(self, *, at) -> dict[str, Any]:
        mid = self.sql(
            "INSERT INTO outbox_messages (message_key, recipient_key, template, channel, state, "
            "team_id, address, params, sent_at, updated_at) VALUES ($1, 'team:1', "
            "'urgent_referral', 'email', 'sent', $2, 'team@example.org', "
            '\'{"reference": "ESX-1"}\', $3, $3) RETURNING id',
            f"urgent_referral:{uuid.uuid4()}",
            self.team,
            at,
        )[0]["id"]
        return {"outbox_messages": mid}

    def stored_reply(self, *, created) -> dict[str, Any]:
        key = str(uuid.uuid4())
        self.sql(
            "INSERT INTO idempotent_responses (user_id, key, request_hash, status_code, body, "
            "created_at) VALUES ($1, $2, 'h', 200, '\\x7b7d', $3)",
            self.worker,
            key,
            created,
        )
        return {"idempotent_responses": (self.worker, key)}

    def counter(self, *, expires) -> dict[str, Any]:
        key = str(uuid.uuid4())
        self.sql(
            "INSERT INTO kv_store (namespace, key, value, expires_at) VALUES ('t', $1, 'v', $2)",
            key,
            expires,
        )
        return {"kv_store": ("t", key)}


def _dormant(world: World, at: dt.datetime) -> dict[str, Any]:
    person = world.person(created=at - dt.timedelta(days=30))
    world.contact(observed=at, person=person)  # its last contact
    world.contact(observed=at - dt.timedelta(days=10), person=person)
    merged = world.person(created=at - dt.timedelta(days=20))
    world.sql("UPDATE persons SET merged_into = $1 WHERE id = $2", person, merged)
    return {"persons": (person, merged)}


def _linked_contact(world: World, at: dt.datetime) -> dict[str, Any]:
    return world.contact(observed=at, person=world.person())


#: How to seed a record that is due ``at`` (the record's clock for the row stands at ``at``).
SEEDS: dict[str, Callable[[World, dt.datetime], dict[str, Any]]] = {
    "stale_referrals": lambda w, at: w.referral(received=at),
    "referrer_contacts_closed": lambda w, at: w.referral(closed=at),
    "referrer_contacts_open": lambda w, at: w.referral(received=at),
    "referral_free_text": lambda w, at: w.referral(closed=at),
    "referral_positions": lambda w, at: w.referral(closed=at),
    "attempt_notes": lambda w, at: w.referral(closed=at, attempt=True),
    "attempt_positions": lambda w, at: w.referral(closed=at, attempt=True),
    "unlinked_contact_notes": lambda w, at: w.contact(observed=at),
    "contact_notes": _linked_contact,
    "contact_positions": lambda w, at: w.contact(observed=at),
    "hotspot_outlines": lambda w, at: w.hotspot(last=at),
    "dormant_persons": _dormant,
    "finished_messages": lambda w, at: w.finished_message(at=at),
    "stored_replies": lambda w, at: w.stored_reply(created=at),
    "expired_counters": lambda w, at: w.counter(expires=at),
}

#: Columns a row may change besides its own: bookkeeping.
ALSO_CHANGES = {
    "stale_referrals": {("referrals", "updated_at")},
    "unlinked_contact_notes": {("contacts", "notes_erased_at")},
    "contact_notes": {("contacts", "notes_erased_at")},
    "dormant_persons": {("persons", "updated_at")},
    # a message waiting for the deleted address is cancelled (it has nobody to go to)
    **{
        name: {("outbox_messages", c) for c in ("state", "last_error", "updated_at")}
        for name in ("referrer_contacts_open", "referrer_contacts_closed")
    },
}

PRIMARY_KEYS = {
    "referrals": ("id",),
    "referrer_contacts": ("referral_id",),
    "referral_attempts": ("id",),
    "contacts": ("id",),
    "contact_sensitive": ("contact_id",),
    "persons": ("id",),
    "hotspots": ("id",),
    "idempotent_responses": ("user_id", "key"),
    "kv_store": ("namespace", "key"),
    "outbox_messages": ("id",),
}


def snapshot(sql) -> dict[tuple[str, str], dict[str, Any]]:
    """Every row of the tables retention touches, by table and primary key."""
    rows = {}
    for table, pk in PRIMARY_KEYS.items():
        for record in sql(f"SELECT to_jsonb(t) AS row FROM {table} t"):
            row = json.loads(record["row"])
            rows[(table, str(tuple(str(row[c]) for c in pk)))] = row
    return rows


def changes(before, after) -> set[tuple[str, str, str]]:
    """``(table, key, column)`` of every changed value; ``*`` for a row added or deleted."""
    changed = {(t, k, "*") for (t, k) in before.keys() ^ after.keys()}
    for key in before.keys() & after.keys():
        changed |= {(*key, c) for c in before[key] if before[key][c] != after[key][c]}
    return changed


def key_of(table: str, value: Any) -> str:
    values = value if isinstance(value, tuple) else (value,)
    return str(tuple(str(v) for v in values))


def allowed(rule: Rule, keys: dict[str, Any]) -> set[tuple[str, str, str]]:
    """What the row may change in the records seeded as ``keys``."""
    columns = set(rule.qualified_columns()) | ALSO_CHANGES.get(rule.name, set())
    out = set()
    for table, column in columns:
        if table not in keys:
            continue
        values = keys[table] if table == "persons" else (keys[table],)
        for value in values:
            out.add((table, key_of(table, value), column))
            out.add((table, key_of(table, value), "*"))  # deleted rows
    return out


# --- every row of the schedule -----------------------------------------------------------------


def test_every_row_of_the_schedule_is_tested():
    assert set(SEEDS) == {rule.name for rule in SCHEDULE}


@pytest.mark.parametrize("rule", SCHEDULE, ids=lambda rule: rule.name)
def test_a_row_changes_what_is_older_than_its_period_and_nothing_else(rule, client, sql, settings):
    world = World(client, sql)
    run_settings = only(settings, rule)
    cutoff = NOW - dt.timedelta(days=rule.days(run_settings) or 0)
    old = SEEDS[rule.name](world, cutoff - dt.timedelta(days=1))
    SEEDS[rule.name](world, cutoff + dt.timedelta(days=1))  # young: untouched
    before = snapshot(sql)

    report = retention(run_settings)

    changed = changes(before, snapshot(sql))
    # Rows with the same period (positions, free text) may act on the same records too.
    same_period = [r for r in SCHEDULE if r == rule or (rule.setting and r.setting == rule.setting)]
    assert report.ran
    assert {name for name, n in report.counts.items() if n} <= {r.name for r in same_period}
    assert report.counts[rule.name] == (2 if rule.name == "dormant_persons" else 1)
    may_change = set().union(*(allowed(r, old) for r in same_period))
    assert changed - may_change == set(), "changed more than the row's columns of the old record"
    own = set(rule.qualified_columns())
    assert {(t, c) for t, _, c in changed} & (own | {(t, "*") for t, _ in own}), changed
    CHECKS.get(rule.name, lambda *_: None)(sql, old)
    assert retention(run_settings).counts[rule.name] == 0  # nothing twice


def _stale_closed(sql, keys):
    rid = keys["referrals"]
    row = sql("SELECT status, outcome, closed_at FROM referrals WHERE id = $1", rid)[0]
    assert (row["status"], row["outcome"]) == ("closed", "closed_no_activity")
    events = sql(
        "SELECT actor FROM referral_events WHERE referral_id = $1 AND kind = 'closed'", rid
    )
    assert [e["actor"] for e in events] == ["retention"]
    feed = sql("SELECT kind, data FROM changes WHERE entity_id = $1 ORDER BY id", str(rid))
    assert feed[-1]["kind"] == "referral_closed"
    assert json.loads(feed[-1]["data"]) == {"outcome": "closed_no_activity"}


def _on_grid(sql, table, key, column="geom"):
    row = sql(
        f"SELECT ST_X(ST_Transform({column}, 27700)) AS x, "
        f"ST_Y(ST_Transform({column}, 27700)) AS y FROM {table} WHERE id = $1",
        key,
    )[0]
    assert abs(row["x"] % 1000 - 500) < 0.01, row
    assert abs(row["y"] % 1000 - 500) < 0.01, row


def _coarse_referral(sql, keys):
    _on_grid(sql, "referrals", keys["referrals"])
    row = sql("SELECT accuracy_m, authority_code FROM referrals WHERE id = $1", keys["referrals"])
    assert row[0]["accuracy_m"] >= 708
    assert row[0]["authority_code"] == "E07000070"  # the authority stays


def _free_text_erased(sql, keys):
    row = sql(
        "SELECT location_description, appearance, clothing, belongings, postcode "
        "FROM referrals WHERE id = $1",
        keys["referrals"],
    )[0]
    assert set(row.values()) == {None}


def _contact_erased(sql, keys):
    row = sql(
        "SELECT c.notes, c.outcome, s.health_notes, s.support_needs, c.notes_erased_at "
        "FROM contacts c LEFT JOIN contact_sensitive s ON s.contact_id = c.id WHERE c.id = $1",
        keys["contacts"],
    )[0]
    assert row["notes_erased_at"] is not None
    assert [row["notes"], row["outcome"], row["health_notes"], row["support_needs"]] == [None] * 4


def _reduced(sql, keys):
    for person in keys["persons"]:
        row = sql(
            "SELECT known_as, consent_status, nationality_band, pseudonym, gender, age_band "
            "FROM persons WHERE id = $1",
            person,
        )[0]
        assert (row["known_as"], row["consent_status"], row["nationality_band"]) == (
            None,
            "unknown",
            "unknown",
        )
        assert row["pseudonym"].startswith("P-")


def _hotspot_coarse(sql, keys):
    _on_grid(sql, "hotspots", keys["hotspots"], "centroid")
    area = sql(
        "SELECT ST_Area(ST_Transform(hull, 27700)) AS a FROM hotspots WHERE id = $1",
        keys["hotspots"],
    )[0]["a"]
    assert area == pytest.approx(1_000_000, rel=1e-3)


def _outbox_copy_gone(sql, keys):
    row = sql(
        "SELECT address, params, state FROM outbox_messages WHERE id = $1", keys["outbox_messages"]
    )[0]
    assert row["address"] is None
    assert "token" not in json.loads(row["params"])
    assert row["state"] == "cancelled"


CHECKS = {
    "referrer_contacts_open": _outbox_copy_gone,
    "referrer_contacts_closed": _outbox_copy_gone,
    "stale_referrals": _stale_closed,
    "referral_free_text": _free_text_erased,
    "referral_positions": _coarse_referral,
    "attempt_positions": lambda sql, k: _on_grid(sql, "referral_attempts", k["referral_attempts"]),
    "unlinked_contact_notes": _contact_erased,
    "contact_notes": _contact_erased,
    "contact_positions": lambda sql, k: _on_grid(sql, "contacts", k["contacts"]),
    "hotspot_outlines": _hotspot_coarse,
    "dormant_persons": _reduced,
}


def test_activity_keeps_a_referral_open(client, sql, settings):
    world = World(client, sql)
    old = NOW - dt.timedelta(days=200)
    searched = world.referral(received=old, attempt=True)["referrals"]  # attempt: yesterday
    contacted = world.referral(received=old)["referrals"]
    world.contact(observed=NOW - dt.timedelta(days=5))
    sql("UPDATE contacts SET referral_id = $1", contacted)
    report = retention(only(settings, RULES["stale_referrals"]))
    assert report.counts["stale_referrals"] == 0
    assert {r["status"] for r in sql("SELECT status FROM referrals")} == {"assigned"}
    assert retention(settings, NOW + dt.timedelta(days=61)).counts["stale_referrals"] == 2
    assert searched != contacted


def test_an_active_hotspot_keeps_its_outline(client, sql, settings):
    World(client, sql).hotspot(last=NOW - dt.timedelta(days=800), status="active")
    assert retention(settings).counts["hotspot_outlines"] == 0


# --- the whole schedule: dry run, figures, the command -------------------------------------------


def seed_everything(client, sql) -> None:
    world = World(client, sql)
    for rule in SCHEDULE:
        days = rule.default_days() or 0
        SEEDS[rule.name](world, NOW - dt.timedelta(days=days + 1))
        SEEDS[rule.name](world, NOW - dt.timedelta(days=days - 1))


def test_a_dry_run_changes_nothing_and_counts_what_a_run_changes(client, sql, settings):
    seed_everything(client, sql)
    before = snapshot(sql)
    feed = sql("SELECT count(*) AS n FROM changes")[0]["n"]
    dry = retention(settings, dry_run=True)
    assert dry.ran
    assert dry.dry_run
    assert changes(before, snapshot(sql)) == set()
    assert sql("SELECT count(*) AS n FROM changes")[0]["n"] == feed
    real = retention(settings)
    assert not real.dry_run
    assert real.counts == dry.counts
    assert all(real.counts[rule.name] > 0 for rule in SCHEDULE), real.counts
    assert changes(before, snapshot(sql))


def test_figures_of_a_past_period_are_the_same_after_retention(client, sql, settings, staff):
    seed_everything(client, sql)
    World(client, sql).referral(closed=NOW - dt.timedelta(days=1100))
    start = (NOW - dt.timedelta(days=1200)).date()
    query = {"from": start.isoformat(), "to": (start + dt.timedelta(days=360)).isoformat()}

    def figures():
        response = client.get("/v1/stats", params=query, headers=staff["admin"])
        assert response.status_code == 200, response.text
        return response.json() | {"generated_at": None}

    before = figures()
    essex = {r["code"]: r for r in before["authorities"]}["E07000070"]
    assert (essex["referrals_received"], essex["contacts"]) == (1, 4)
    assert essex["verified_bedded_down_people"] == 2
    report = retention(settings)
    assert report.counts["dormant_persons"] > 0
    assert report.counts["contact_positions"] > 0
    assert figures() == before


def test_the_retention_command_reports_counts_per_row(client, sql, db_url, monkeypatch, capsys):
    from service.cli import main

    world = World(client, sql)
    world.referral(closed=NOW - dt.timedelta(days=45))
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    assert in_thread(main, ["retention", "run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing changed" in out
    assert any(
        line.split()[:3] == ["referrer_contacts_closed", "delete", "1"] for line in out.splitlines()
    )
    assert sql("SELECT count(*) AS n FROM referrer_contacts")[0]["n"] == 1
    assert in_thread(main, ["retention", "run"]) == 0
    out = capsys.readouterr().out
    assert len([line for line in out.splitlines() if line.startswith("  ")]) == len(SCHEDULE)
    assert sql("SELECT count(*) AS n FROM referrer_contacts")[0]["n"] == 0


def test_a_run_while_another_holds_the_lock_does_nothing(client, sql, settings):
    World(client, sql).referral(closed=NOW - dt.timedelta(days=45))
    report = retention(settings, while_locked=True)
    assert not report.ran
    assert report.counts == {}
    assert sql("SELECT count(*) AS n FROM referrer_contacts")[0]["n"] == 1
    assert retention(settings).counts["referrer_contacts_closed"] == 1  # the lock is released


# --- every personal column has a rule or a reason ------------------------------------------------

COLUMNS_SQL = (
    "SELECT table_name, column_name FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name = ANY($1::text[])"
)


def test_every_personal_column_is_in_the_schedule_or_kept_for_a_reason(sql):
    tables = {"referrals", "referrer_contacts", "contacts", "contact_sensitive", "persons"}
    assert tables <= set(PERSONAL_TABLES)
    in_schema = {(r["table_name"], r["column_name"]) for r in sql(COLUMNS_SQL, PERSONAL_TABLES)}
    scheduled = {qc for rule in SCHEDULE for qc in rule.qualified_columns()}
    kept = {(table, column) for table, columns in KEPT.items() for column in columns}
    personal = {(t, c) for (t, c) in scheduled if t in PERSONAL_TABLES}
    assert in_schema - personal - kept == set(), "columns with no retention decision"
    assert (personal | kept) - in_schema == set(), "decisions about columns that do not exist"
    assert personal & kept == set(), "a column both scheduled and kept"
