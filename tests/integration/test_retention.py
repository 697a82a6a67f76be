"""Retention deletes what it must and nothing else."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg

from service.runtime import build_runtime
from service.usecases.operations.retention import RETENTION_LOCK, run_retention
from tests.conftest import in_thread
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

NOW = dt.datetime.now(dt.UTC)


def retention(settings, now=NOW, *, while_locked=False):
    """Run retention; with ``while_locked``, while another session holds its lock."""

    async def go():
        runtime = build_runtime(settings)
        holder = await asyncpg.connect(settings.asyncpg_dsn) if while_locked else None
        try:
            if holder is not None:
                await holder.execute("SELECT pg_advisory_lock($1)", RETENTION_LOCK)
            return await run_retention(runtime, now=now)
        finally:
            if holder is not None:
                await holder.close()
            await runtime.engine.dispose()
            await runtime.http.aclose()

    return in_thread(asyncio.run, go())


def make_referral(client, sql, *, closed_days_ago=None):
    receipt = client.post(
        "/v1/referrals",
        json=alert(
            appearance=str(uuid.uuid4()),
            referrer={"email": "r@example.org", "consent_to_contact": True},
        ),
    ).json()
    if closed_days_ago is not None:
        sql(
            "UPDATE referrals SET status = 'closed', outcome = 'not_found', "
            "closed_at = now() - make_interval(days => $2) WHERE reference = $1",
            receipt["reference"],
            closed_days_ago,
        )
    return receipt["reference"]


def contacts_of(sql):
    return {
        r["reference"]
        for r in sql(
            "SELECT r.reference FROM referrer_contacts c JOIN referrals r ON r.id = c.referral_id"
        )
    }


def test_referrer_details_go_30_days_after_closure_and_not_before(client, sql, settings):
    old = make_referral(client, sql, closed_days_ago=31)
    recent = make_referral(client, sql, closed_days_ago=29)
    still_open = make_referral(client, sql)
    report = retention(settings)
    assert report.ran
    assert report.referrer_contacts_deleted == 1
    assert contacts_of(sql) == {recent, still_open}
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 3  # referrals themselves stay
    assert old not in contacts_of(sql)


def test_notes_of_old_unlinked_contacts_are_erased(client, sql, settings, staff):
    person = sql("INSERT INTO persons (pseudonym) VALUES ('P-TEST01') RETURNING id")[0]["id"]
    old_day = (NOW - dt.timedelta(days=400)).isoformat()
    unlinked = contact(observed_at=old_day, health_notes="asthma", support_needs=["alcohol"])
    linked = contact(observed_at=old_day, person_id=str(person))
    fresh = contact()
    client.post(
        "/v1/contacts:batch", json={"items": [unlinked, linked, fresh]}, headers=staff["worker_mid"]
    )
    report = retention(settings)
    assert report.contact_notes_erased == 1
    rows = {
        str(r["id"]): r
        for r in sql(
            "SELECT c.id, c.notes, c.notes_erased_at, s.health_notes, s.support_needs "
            "FROM contacts c LEFT JOIN contact_sensitive s ON s.contact_id = c.id"
        )
    }
    assert rows[unlinked["id"]]["notes"] is None
    assert rows[unlinked["id"]]["health_notes"] is None
    assert rows[unlinked["id"]]["notes_erased_at"] is not None
    assert rows[linked["id"]]["notes"] == "Talked for 10 minutes"
    assert rows[fresh["id"]]["notes"] == "Talked for 10 minutes"
    assert retention(settings).contact_notes_erased == 0  # nothing twice


def test_the_retention_command_reports_counts(client, sql, db_url, monkeypatch, capsys):
    from service.cli import main

    make_referral(client, sql, closed_days_ago=45)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    assert in_thread(main, ["retention", "run"]) == 0
    assert "1 referrer contact details deleted" in capsys.readouterr().out
    assert contacts_of(sql) == set()


def test_housekeeping_drops_old_replies_and_expired_counters_only(sql, settings):
    user = sql(
        "INSERT INTO users (username, display_name, password_hash, role) "
        "VALUES ('keeper', 'Keeper', 'x', 'worker') RETURNING id"
    )[0]["id"]
    for key, age_days in (("old", 8), ("recent", 6)):
        sql(
            "INSERT INTO idempotent_responses (user_id, key, request_hash, status_code, body, "
            "created_at) VALUES ($1, $2, 'h', 200, '\\x7b7d', $3)",
            user,
            key,
            NOW - dt.timedelta(days=age_days),
        )
    for key, expires_at in (
        ("gone", NOW - dt.timedelta(seconds=1)),
        ("live", NOW.replace(year=NOW.year + 1)),
        ("forever", None),
    ):
        sql(
            "INSERT INTO kv_store (namespace, key, value, expires_at) VALUES ('t', $1, 'v', $2)",
            key,
            expires_at,
        )
    report = retention(settings)
    assert report.idempotent_responses_deleted == 1
    assert report.rate_limit_entries_deleted == 1
    assert {r["key"] for r in sql("SELECT key FROM idempotent_responses")} == {"recent"}
    assert {r["key"] for r in sql("SELECT key FROM kv_store")} == {"live", "forever"}


def test_a_run_while_another_holds_the_lock_does_nothing(client, sql, settings):
    make_referral(client, sql, closed_days_ago=45)
    report = retention(settings, while_locked=True)
    assert not report.ran
    assert report.referrer_contacts_deleted == 0
    assert len(contacts_of(sql)) == 1
    assert retention(settings).referrer_contacts_deleted == 1  # the lock is gone with its holder
