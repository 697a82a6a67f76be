"""Storing an incremental pass's placements (``service.db.assignments.put_assignments``, one
statement over arrays): each item's assignment is inserted or replaced, and its skipped shifts
(``assignment_skips``) become exactly its new ``reasons.full_slots``, whoever else is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.db import assignments as repo
from service.db.engine import transaction
from tests.conftest import make_settings, with_runtime

MONDAY = dt.datetime(2026, 11, 30, 19, tzinfo=dt.UTC)


def _slot(team: int, day: int) -> dict[str, Any]:
    return {"team_id": team, "shift_index": day, "shift_start": MONDAY + dt.timedelta(days=day)}


def _row(
    item_id: str, run_id: int, team: int, day: int, skipped: list[dict[str, Any]], priority: str
) -> dict[str, Any]:
    start = MONDAY + dt.timedelta(days=day)
    return {
        "item_kind": "referral", "item_id": item_id, "work_kind": "referral",
        "authority_code": "E07000070", "team_id": team, "shift_start": start,
        "shift_end": start + dt.timedelta(hours=5), "shift_index": day, "rule": "covering_team",
        "priority": priority, "urgent": False, "swep": False, "due_at": None, "serve_at": start,
        "within_sla": True, "reasons": {"full_slots": skipped}, "inputs": {"kind": "referral"},
        "computed_at": MONDAY, "run_id": run_id,
    }  # fmt: skip


def test_a_second_placement_replaces_the_assignment_and_exactly_its_skips(sql, db_url):
    [a, b] = [t["id"] for t in sql("SELECT id FROM teams ORDER BY id LIMIT 2")]

    async def store(runtime):  # type: ignore[no-untyped-def]
        async with transaction(runtime.sessions) as session:
            run_id = await repo.add_run(
                session,
                {"trigger": "test", "requested_by": None, "started_at": MONDAY,
                 "finished_at": MONDAY, "duration_ms": 0.0, "items": 2, "assigned": 2,
                 "unassigned": 0, "overflowed": 0, "pinned": 0, "swep_authorities": []},
            )  # fmt: skip
            await repo.put_assignments(
                session,
                [
                    _row("one", run_id, a, 2, [_slot(a, 0), _slot(a, 1)], "p1"),
                    _row("two", run_id, b, 0, [_slot(a, 0)], "p2"),
                ],
            )
            # "one" moves: it now skipped a's second shift and b's first, no longer a's first
            await repo.put_assignments(
                session, [_row("one", run_id, b, 1, [_slot(a, 1), _slot(b, 0)], "p0")]
            )

    with_runtime(make_settings(db_url), store)
    assigned = sql("SELECT item_id, team_id, shift_start, priority FROM assignments ORDER BY 1")
    assert [(r["item_id"], r["team_id"], r["shift_start"], r["priority"]) for r in assigned] == [
        ("one", b, MONDAY + dt.timedelta(days=1), "p0"),
        ("two", b, MONDAY, "p2"),
    ]
    skips = sql(
        "SELECT item_id, team_id, shift_start, priority FROM assignment_skips ORDER BY 1, 2, 3"
    )
    assert [(r["item_id"], r["team_id"], r["shift_start"], r["priority"]) for r in skips] == [
        ("one", a, MONDAY + dt.timedelta(days=1), "p0"),  # kept, with the new priority
        ("one", b, MONDAY, "p0"),  # new
        ("two", a, MONDAY, "p2"),  # another item's: untouched
    ]
