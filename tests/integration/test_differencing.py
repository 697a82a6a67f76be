"""No count under 5 can be worked out by adding and subtracting answers (issue 13, item 2).

For a caller outside an area (``coord_south`` and ``worker_south``, for Mid Essex data), seed
referrals and contacts (cells and authorities with 1 to 4 records and with 5 to 8), then ask
every combination the API allows over a bounded set: ``GET /v1/stats`` for whole months,
unions of months and arbitrary days, each filter, both audiences; ``GET /v1/tiles`` at zooms
8 to 14 over every tile holding a record, for whole months, unions and arbitrary instants.

Each exact number returned is a known sum over the seeded records (which records each answer
counts is worked out here from the seed, and checked against the number). Records the caller
may see are known anyway and taken out. Records that every answer treats alike form an
*atom*; a set of atoms whose total is 1 to 4 must not be in the rational span of the answers
(row reduction with fractions), or the caller could derive it exactly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import mapbox_vector_tile
import pytest

from geo.tiles import EARTH_HALF_CIRCUMFERENCE_M as HALF
from geo.tiles import TileAddress, tile_for_lonlat
from service import access
from tests.conftest import in_thread, run_sql
from tests.integration.figures_data import CONTACT_SQL, REFERRAL_SQL

LONDON = ZoneInfo("Europe/London")
M0, M1, M2 = dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)
CHELMSFORD, BRAINTREE, MALDON = "E07000070", "E07000067", "E07000074"
SOUTHEND, ROCHFORD = "E06000033", "E07000075"
CENTRES = {
    CHELMSFORD: (0.479, 51.736),
    BRAINTREE: (0.553, 51.878),
    MALDON: (0.677, 51.731),
    SOUTHEND: (0.714, 51.538),
    ROCHFORD: (0.707, 51.582),
}
TEAM_OF = {
    CHELMSFORD: "Mid Essex Outreach",
    BRAINTREE: "Mid Essex Outreach",
    MALDON: "Mid Essex Outreach",
    SOUTHEND: "Southend Outreach",
    ROCHFORD: "Southend Outreach",
}
# (kind, authority, sibling cell?, month, how many): Chelmsford's two z14 cells share a z13
# parent; the month after holds one more in Chelmsford so that unions of months differ.
PLAN = [
    ("referral", CHELMSFORD, 0, M1, 6),
    ("referral", CHELMSFORD, 1, M1, 2),
    ("referral", CHELMSFORD, 0, M2, 1),
    ("referral", BRAINTREE, 0, M1, 3),
    ("referral", MALDON, 0, M1, 6),
    ("referral", SOUTHEND, 0, M1, 4),
    ("referral", ROCHFORD, 0, M1, 2),
    ("contact", CHELMSFORD, 0, M1, 5),
    ("contact", CHELMSFORD, 1, M1, 1),
    ("contact", CHELMSFORD, 0, M0, 1),
    ("contact", BRAINTREE, 0, M1, 7),
    ("contact", MALDON, 0, M1, 2),
    ("contact", SOUTHEND, 0, M1, 5),
    ("contact", ROCHFORD, 0, M1, 2),
]
CALLERS = ("coord_south", "worker_south")


@dataclass(frozen=True)
class Record:
    kind: str
    authority: str
    team_id: int
    at: dt.datetime
    lon: float
    lat: float


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    x = math.radians(lon) * 6378137.0
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
    return x, y


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return math.degrees(x / 6378137.0), math.degrees(
        2 * math.atan(math.exp(y / 6378137.0)) - math.pi / 2
    )


def _cell_centre(code: str, sibling: int) -> tuple[float, float]:
    """The centre of the z14 cell holding the authority's centre (or of its sibling)."""
    tile = tile_for_lonlat(*CENTRES[code], 14)
    x = tile.x ^ sibling
    size = 2 * HALF / (1 << 14)
    return _lonlat(-HALF + (x + 0.5) * size, HALF - (tile.y + 0.5) * size)


def _moment(first: dt.date, i: int) -> dt.datetime:
    """A distinct moment in the month starting on ``first`` (day 3 + 2i, at 10:17)."""
    day = first + dt.timedelta(days=3 + 2 * i)
    return dt.datetime.combine(day, dt.time(10, 17), LONDON).astimezone(dt.UTC)


def seed(db_url: str) -> list[Record]:
    async def go() -> list[Record]:
        conn = await asyncpg.connect(db_url)
        try:
            teams = {r["name"]: r["id"] for r in await conn.fetch("SELECT id, name FROM teams")}
            workers = {
                r["username"]: r["id"] for r in await conn.fetch("SELECT id, username FROM users")
            }
            records = []
            n = 0
            for kind, code, sibling, month, count in PLAN:
                lon0, lat0 = _cell_centre(code, sibling)
                for i in range(count):
                    n += 1
                    lon, lat = lon0 + 0.0004 * (i % 3), lat0 + 0.0003 * (i // 3)
                    at = _moment(month, i)
                    team = teams[TEAM_OF[code]]
                    record = Record(kind, code, team, at, lon, lat)
                    records.append(record)
                    if kind == "referral":
                        await conn.fetchval(REFERRAL_SQL, *_referral_row(n, record))
                    else:
                        worker = workers[
                            "worker_south" if code in (SOUTHEND, ROCHFORD) else "worker_mid"
                        ]
                        await conn.execute(
                            CONTACT_SQL,
                            uuid.uuid4(),
                            team,
                            worker,
                            at,
                            lat,
                            lon,
                            code,
                            None,
                            False,
                            f"note {n}",
                        )
            return records
        finally:
            await conn.close()

    return in_thread(asyncio.run, go())


def _referral_row(n: int, r: Record) -> tuple[Any, ...]:
    """Open, never searched: every one breaches its SLA, nothing is closed or found."""
    return (
        f"SLT-D{n:05d}",
        "assigned",
        None,
        None,
        r.authority,
        r.team_id,
        r.at,
        r.at - dt.timedelta(hours=1),
        r.at + dt.timedelta(hours=12),
        r.at + dt.timedelta(days=14),
        r.lat,
        r.lon,
        "male",
        "26_35",
        False,
        f"doorway {n}",
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), LONDON).astimezone(dt.UTC)


def _month_end(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def _periods() -> list[dict[str, str]]:
    """Whole months, unions of months, arbitrary days, an unfinished month, the default."""

    def days(a: dt.date, b: dt.date) -> dict[str, str]:
        return {"from": a.isoformat(), "to": b.isoformat()}

    last = {m: _month_end(m) - dt.timedelta(days=1) for m in (M0, M1, M2)}
    today = dt.datetime.now(LONDON).date()
    return [
        days(M0, last[M0]),
        days(M1, last[M1]),
        days(M2, last[M2]),
        days(M0, last[M1]),
        days(M1, last[M2]),
        days(M0, last[M2]),
        days(M1, M1 + dt.timedelta(days=14)),
        days(M1 + dt.timedelta(days=15), last[M1]),
        days(M1 + dt.timedelta(days=5), M1 + dt.timedelta(days=5)),
        days(today.replace(day=1), today),
        {},
    ]


def _windows() -> list[tuple[dt.datetime, dt.datetime]]:
    """Tile windows: whole months, unions of months and arbitrary instants."""
    at = lambda d, h=0, m=0: dt.datetime.combine(d, dt.time(h, m), LONDON).astimezone(dt.UTC)  # noqa: E731
    months = [(_midnight(m), _midnight(_month_end(m))) for m in (M0, M1, M2)]
    return [
        *months,
        (months[0][0], months[1][1]),
        (months[1][0], months[2][1]),
        (at(M1 + dt.timedelta(days=6), 12, 34), at(M1 + dt.timedelta(days=11), 3, 21)),
        (months[1][0], at(M1 + dt.timedelta(days=15))),
        (at(M1 + dt.timedelta(days=15)), months[2][0] + dt.timedelta(days=3)),
    ]


class Answers:
    """Exact answers, each as (kind, the set of records counted, the number given)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, frozenset[int], int]] = []

    def add(self, kind: str, members: set[int], value: Any, where: str) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            assert len(members) == value, f"the test's model is wrong for {where}: {value}"
            self.items.append((kind, frozenset(members), value))


def _stats_answers(client, headers, records, teams, answers: Answers) -> None:  # type: ignore[no-untyped-def]
    mid, south = teams["Mid Essex Outreach"], teams["Southend Outreach"]
    filters = [
        {},
        {"authority": CHELMSFORD},
        {"authority": BRAINTREE},
        {"authority": ROCHFORD},
        {"team": mid},
        {"team": south},
        {"team": mid, "authority": CHELMSFORD},
    ]
    for period, extra, audience in itertools.product(_periods(), filters, ("staff", "public")):
        params = {**period, **extra, "audience": audience}
        response = client.get("/v1/stats", params=params, headers=headers)
        if response.status_code == 400:  # refused: nothing learnt
            continue
        assert response.status_code == 200, response.text
        body = response.json()
        start = dt.datetime.fromisoformat(body["period"]["start"])
        end = dt.datetime.fromisoformat(body["period"]["end"])
        for group, field in (("authorities", "code"), ("teams", "team_id")):
            for row in body[group]:
                where = f"stats {params} {row[field]}"
                members = {
                    i
                    for i, r in enumerate(records)
                    if start <= r.at < end
                    and (r.authority if field == "code" else r.team_id) == row[field]
                    and extra.get("team") in (None, r.team_id)
                    and extra.get("authority") in (None, r.authority)
                }
                referrals = {i for i in members if records[i].kind == "referral"}
                contacts = members - referrals
                answers.add("referral", referrals, row["referrals_received"], where)
                answers.add("referral", referrals, row["sla_breaches"], where)
                answers.add("contact", contacts, row["contacts"], where)


def _tiles_for(records: list[Record]) -> set[TileAddress]:
    return {tile_for_lonlat(r.lon, r.lat, z) for r in records for z in range(8, 15)}


def _tile_answers(client, headers, records, hidden, answers: Answers) -> None:  # type: ignore[no-untyped-def]
    tiles = sorted(_tiles_for(records), key=lambda t: (t.z, t.x, t.y))
    for (since, until), tile in itertools.product(_windows(), tiles):
        query = {
            "layers": "referrals,contacts",
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
        response = client.get(
            f"/v1/tiles/{tile.z}/{tile.x}/{tile.y}.mvt", params=query, headers=headers
        )
        if response.status_code == 400:
            continue
        assert response.status_code == 200, response.text
        layers = mapbox_vector_tile.decode(response.content)
        for name, kind in (("referral_cells", "referral"), ("contact_cells", "contact")):
            for feature in layers.get(name, {}).get("features", []):
                props = feature["properties"]
                if "month" in props:
                    first = dt.date.fromisoformat(props["month"] + "-01")
                    lo, hi = _midnight(first), _midnight(_month_end(first))
                else:
                    lo, hi = since, until
                members = {
                    i
                    for i in _inside(feature["geometry"], tile, records)
                    if i in hidden
                    and records[i].kind == kind
                    and lo <= records[i].at < hi
                    and props.get("authority", records[i].authority) == records[i].authority
                }
                answers.add(kind, members, props.get("count"), f"tile {tile} {query} {props}")


def _inside(geometry: dict[str, Any], tile: TileAddress, records: list[Record]) -> set[int]:
    """The records inside a cell's square (decoded with y up, 4096 units a tile)."""
    ring = geometry["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    size = 2 * HALF / (1 << tile.z)
    x0, y0 = -HALF + tile.x * size, HALF - (tile.y + 1) * size
    found = set()
    for i, r in enumerate(records):
        x, y = _mercator(r.lon, r.lat)
        px, py = (x - x0) / size * 4096, (y - y0) / size * 4096
        if min(xs) <= px < max(xs) and min(ys) <= py < max(ys):
            found.add(i)
    return found


def _rref(rows: list[list[Fraction]]) -> list[tuple[int, list[Fraction]]]:
    """Reduced row echelon form: (pivot column, row) pairs."""
    basis: list[tuple[int, list[Fraction]]] = []
    for row in rows:
        row = _reduce(row, basis)
        pivot = next((j for j, v in enumerate(row) if v), None)
        if pivot is None:
            continue
        row = [v / row[pivot] for v in row]
        basis = [(p, [a - b[pivot] * c for a, c in zip(b, row, strict=True)]) for p, b in basis]
        basis.append((pivot, row))
    return basis


def _reduce(row: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    row = list(row)
    for pivot, b in basis:
        if row[pivot]:
            factor = row[pivot]
            row = [a - factor * c for a, c in zip(row, b, strict=True)]
    return row


def derivable_small_groups(
    answers: list[frozenset[int]], hidden: list[int]
) -> list[tuple[int, ...]]:
    """Groups of hidden records (unions of atoms) with 1 to 4 records in the span."""
    signature: dict[int, tuple[int, ...]] = {
        i: tuple(k for k, members in enumerate(answers) if i in members) for i in hidden
    }
    atoms: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, sig in signature.items():
        atoms[sig].append(i)
    keys = list(atoms)
    matrix = [
        [Fraction(1 if a in members else 0) for a in (atoms[k][0] for k in keys)]
        for members in set(answers)
    ]
    basis = _rref(matrix)
    small = [j for j, k in enumerate(keys) if len(atoms[k]) < 5]
    found = []
    for size in range(1, 5):
        for combo in itertools.combinations(small, size):
            total = sum(len(atoms[keys[j]]) for j in combo)
            if not 1 <= total <= 4:
                continue
            vector = [Fraction(1 if j in combo else 0) for j in range(len(keys))]
            if not any(_reduce(vector, basis)):
                found.append(tuple(i for j in combo for i in atoms[keys[j]]))
    return found


def test_the_reduction_finds_a_difference():
    """The checker itself: {0,1,2} given exactly is small; with {0,1} it also gives {2}; 10
    records and 5 of them leave 5, which is not small."""
    assert derivable_small_groups([frozenset({0, 1, 2})], [0, 1, 2]) == [(0, 1, 2)]
    assert (2,) in derivable_small_groups([frozenset({0, 1, 2}), frozenset({0, 1})], [0, 1, 2])
    many = list(range(8))
    assert derivable_small_groups([frozenset(many), frozenset(many[:6])], many)  # 2 left
    ten = list(range(10))
    assert not derivable_small_groups([frozenset(ten), frozenset(ten[:5])], ten)


@pytest.mark.parametrize("who", CALLERS)
def test_no_small_count_can_be_derived_from_the_answers(client, staff, db_url, who):
    records = seed(db_url)
    teams = {r["name"]: r["id"] for r in run_sql(db_url, "SELECT id, name FROM teams")}
    if who == "coord_south":  # as tests/conftest.py STAFF makes them
        scope = access.Scope(coordinator=True, authority_codes=(SOUTHEND,))
    else:
        scope = access.Scope(team_ids=(teams["Southend Outreach"],))
    hidden = {i for i, r in enumerate(records) if not access.may_see(scope, r.authority, r.team_id)}
    assert len(hidden) < len(records)  # some records are the caller's own

    answers = Answers()
    _stats_answers(client, staff[who], records, teams, answers)
    _tile_answers(client, staff[who], records, hidden, answers)
    assert len(answers.items) > 20  # the API did answer something

    leaks = []
    for kind in ("referral", "contact"):
        mine = sorted(i for i in hidden if records[i].kind == kind)
        sets = [members & set(mine) for k, members, _ in answers.items if k == kind]
        for group in derivable_small_groups(sets, mine):
            where = sorted(
                {(records[i].authority, records[i].at.date().isoformat()) for i in group}
            )
            leaks.append(f"{kind}: {len(group)} record(s) derivable exactly: {where}")
    assert not leaks, "\n".join(leaks)
