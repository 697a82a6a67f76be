"""A seeded, random but reproducible world for figures and exports: referrals (with searches
and outcomes), persons (some merged) and contacts over several authorities and teams, with
large and small numbers, rows on the period's edges and rows outside it.

Inserted straight into the tables (not through the API) so that times can be anywhere."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import asyncpg

from tests.conftest import in_thread

LONDON = ZoneInfo("Europe/London")
FROM = dt.date(2025, 1, 1)
TO = dt.date(2025, 3, 31)
START = dt.datetime.combine(FROM, dt.time(0), LONDON).astimezone(dt.UTC)
END = dt.datetime.combine(TO + dt.timedelta(days=1), dt.time(0), LONDON).astimezone(dt.UTC)
# authority code -> (team name, referrals in the period (roughly), where)
PLACES = {
    "E07000070": ("Mid Essex Outreach", 40, (51.736, 0.479)),  # Chelmsford
    "E07000067": ("Mid Essex Outreach", 3, (51.878, 0.553)),  # Braintree: small
    "E06000033": ("Southend Outreach", 25, (51.538, 0.714)),  # Southend-on-Sea
    "E07000071": ("Colchester and Tendring Outreach", 8, (51.889, 0.901)),  # Colchester
}
OUTCOMES = (
    "found_engaged",
    "found_accommodated",
    "found_declined",
    "already_known",
    "found_not_rough_sleeping",
    "not_found",
    "insufficient_information",
    "out_of_area_forwarded",
    "duplicate_merged",
)
WEIGHTS = (8, 3, 2, 4, 1, 10, 2, 1, 1)
NATIONALITIES = ("uk", "eu", "non_eu", "unknown")
GENDERS = ("male", "female", "non_binary", "unknown", "prefer_not_to_say")
AGES = ("under_18", "18_25", "26_35", "36_45", "46_55", "56_65", "over_65", "unknown")


@dataclass
class World:
    referral_ids: list[uuid.UUID]
    contact_ids: list[uuid.UUID]
    person_ids: list[uuid.UUID]
    teams: dict[str, int]


def _moment(rng: random.Random) -> dt.datetime:
    """Mostly inside the period, some before and after it."""
    span = (END - START).total_seconds()
    return START + dt.timedelta(seconds=rng.uniform(-0.15 * span, 1.1 * span))


def _referral(rng, n, code, team_id, received):  # type: ignore[no-untyped-def]
    lat, lon = PLACES[code][2] if code else (51.5, 1.5)
    outcome = rng.choices(OUTCOMES, WEIGHTS)[0] if rng.random() < 0.7 else None
    closed_at = received + dt.timedelta(hours=rng.uniform(1, 500)) if outcome else None
    return (
        f"SLT-{n:06d}",
        "closed" if outcome else rng.choice(("received", "assigned", "attempted")),
        outcome,
        closed_at,
        code,
        team_id,
        received,
        received - dt.timedelta(hours=rng.uniform(0, 12)),
        received + dt.timedelta(hours=rng.uniform(8, 30)) if team_id else None,
        received + dt.timedelta(days=14),
        lat + rng.uniform(-0.01, 0.01),
        lon + rng.uniform(-0.01, 0.01),
        rng.choice(GENDERS[:4]),
        rng.choice(AGES),
        rng.random() < 0.1,
        f'=HYPERLINK("x") by the bins {n}' if n % 7 == 0 else f"doorway {n}",
    )


REFERRAL_SQL = """
INSERT INTO referrals (reference, status, outcome, closed_at, authority_code, team_id,
    received_at, seen_at, next_shift_due_at, outcome_due_at, geom, gender, age_band, urgent,
    location_description, status_token_hash, token_salt, fingerprint, source, seen_exact,
    seen_time_band, location_quality, people_count, immediate_danger, appears_under_18,
    self_referral, routing_reason)
VALUES ($1::varchar, $2, $3, $4, $5, $6, $7, $8, $9, $10, ST_SetSRID(ST_MakePoint($12, $11), 4326),
    $13, $14, $15, $16, '\\x00', '\\x00', md5($1::text), 'web', true, 'night', 'pin', 1, false,
    false, false, 'test')
RETURNING id
"""
ATTEMPT_SQL = """
INSERT INTO referral_attempts (id, referral_id, worker_id, attempted_at, found)
VALUES ($1, $2, $3, $4, $5)
"""
PERSON_SQL = """
INSERT INTO persons (id, pseudonym, gender, age_band, nationality_band, team_id, known_as)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
CONTACT_SQL = """
INSERT INTO contacts (id, content_hash, team_id, worker_id, observed_at, geom, authority_code,
    person_id, bedded_down, contact_type, engagement, notes)
VALUES ($1::uuid, md5($1::uuid::text), $2, $3, $4, ST_SetSRID(ST_MakePoint($6, $5), 4326),
    $7, $8, $9, 'street_outreach', 'engaged', $10)
"""


async def _seed(url: str, seed: int, worker_id: int) -> World:
    rng = random.Random(seed)
    conn = await asyncpg.connect(url)
    try:
        teams = {r["name"]: r["id"] for r in await conn.fetch("SELECT id, name FROM teams")}
        referral_ids = await _referrals(conn, rng, teams, worker_id)
        person_ids = await _persons(conn, rng, teams)
        contact_ids = await _contacts(conn, rng, teams, worker_id, person_ids)
        # merge a few records (chains included): their contacts count for the survivor
        for child, parent in ((1, 0), (2, 1), (5, 4), (9, 8)):
            await conn.execute(
                "UPDATE persons SET merged_into = $2 WHERE id = $1",
                person_ids[child],
                person_ids[parent],
            )
    finally:
        await conn.close()
    return World(referral_ids, contact_ids, person_ids, teams)


async def _referrals(conn, rng, teams, worker_id) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    ids: list[uuid.UUID] = []
    n = 0
    plan = [(code, name, count) for code, (name, count, _) in PLACES.items()]
    plan.append((None, None, 4))  # unrouted: outside every authority
    for code, team_name, count in plan:
        team_id = teams[team_name] if team_name else None
        moments = [_moment(rng) for _ in range(int(count * 1.25))]
        if code == "E07000070":
            moments += [START, END, END - dt.timedelta(microseconds=1)]  # the edges
        for received in moments:
            n += 1
            row = _referral(rng, n, code, team_id, received)
            ids.append(await conn.fetchval(REFERRAL_SQL, *row))
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                at = received + dt.timedelta(hours=rng.uniform(0.5, 60))
                await conn.execute(
                    ATTEMPT_SQL, uuid.uuid4(), ids[-1], worker_id, at, rng.random() < 0.4
                )
    return ids


async def _persons(conn, rng, teams) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(36):
        code = rng.choice(list(PLACES))
        person_id = uuid.uuid4()
        await conn.execute(
            PERSON_SQL,
            person_id,
            f"P-T{i:05d}",
            rng.choice(GENDERS),
            rng.choice(AGES),
            rng.choice(NATIONALITIES),
            teams[PLACES[code][0]],
            f"Person {i}",
        )
        ids.append(person_id)
    return ids


async def _contacts(conn, rng, teams, worker_id, person_ids) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(260):
        code = rng.choice([*PLACES, "E07000070", "E06000033", None])
        team_name = PLACES[code][0] if code else "Mid Essex Outreach"
        lat, lon = PLACES[code][2] if code else (51.5, 1.5)
        person = rng.choice(person_ids) if rng.random() < 0.85 else None
        when = _moment(rng)
        if i % 9 == 0:  # long history: a year and six years before
            when -= dt.timedelta(days=rng.choice((365, 6 * 365)))
        contact_id = uuid.uuid4()
        await conn.execute(
            CONTACT_SQL,
            contact_id,
            teams[team_name],
            worker_id,
            when,
            lat + rng.uniform(-0.01, 0.01),
            lon + rng.uniform(-0.01, 0.01),
            code,
            person,
            rng.random() < 0.6,
            "=cmd|' /C calc'!A0" if i % 11 == 0 else f"note {i}",
        )
        ids.append(contact_id)
    return ids


def seed_world(db_url: str, *, seed: int = 7) -> World:
    """Insert the world; the searches and contacts are recorded by ``worker_mid``."""

    async def go() -> World:
        conn = await asyncpg.connect(db_url)
        try:
            worker_id = await conn.fetchval("SELECT id FROM users WHERE username = 'worker_mid'")
        finally:
            await conn.close()
        return await _seed(db_url, seed, worker_id)

    return in_thread(asyncio.run, go())
