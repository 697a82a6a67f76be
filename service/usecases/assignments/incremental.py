"""Incremental assignment: a new or changed item moves only the items it displaces.

The full run (:func:`.runs.run`) places every open item greedily in priority order: each takes
the shift it prefers most among those with room when its turn comes. Its result depends only on
the items' priorities, their preferences and the shifts' capacities, so one change can be
applied to the stored result without replaying it:

* **removing** an item (closed, merged, changed) frees its place on shift *s* from its priority
  on. The first later item that skipped *s* because it was full (``assignment_skips``, in
  priority order) and prefers it takes it; that frees *its* old place from *its* priority on,
  and so on: a chain through distinct shifts that ends when nobody wants the freed place;
* **inserting** an item places it with the room each shift has at its priority (the items ahead
  of it, counted on ``(team_id, shift_start, priority)``). If that puts a shift over capacity,
  its last item in priority order is displaced and placed again at its own priority; that may
  overfill another shift, and so on: again at most one move per shift.

A change is a removal then an insertion (of the item as it is now); a burst is one change after
another, in one transaction under the same advisory lock as full runs: all its removals first,
on the database, then all its insertions on a :class:`_Board` of the placed items of the teams
they meet, written together at the end (each step is exact, so the order does not matter). Items
moved by a chain are placed again as they were stored (``assignments.inputs``), so a chain never
meets an item whose new data it has not yet been told about: each step turns the greedy result
of the stored inputs into that of the stored inputs with one item changed. The work is bounded
by the shifts (teams x horizon) and their capacity, not by the number of open items. Team, shift
and rule of every item equal a full run's (``tests/integration/test_incremental_assignment.py``
checks it on random sequences). Where they may differ, by design: ``reasons.full_slots`` of an
item that did not move may miss or keep a shift of the *same* serve time as its own that filled
or emptied later (it never prefers one); ``used_visits`` of an item on a shift counts the items
ahead of it when it was placed; and ``serve_at`` of a shift under way is the time it was
computed.

A full run is the reference and is made instead when there is none yet, when the teams, SWEP or
settings differ from the last full run's (``inputs_digest``) or a shift has started or ended
since (``next_boundary_at``): those change every item's options.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from geo.assignment import Assignment, Team, WorkItem, candidate_team_ids, place, priority_key
from service.db import assignments as repo
from service.db.engine import transaction
from service.runtime import Runtime
from service.schemas.assignments import AssignmentRun
from service.settings import Settings
from service.usecases.assignments.runs import (
    STALE_OVERRIDE,
    alert_todays_run_sheets,
    assignment_row,
    count_rules,
    geo_team,
    hotspot_item,
    inputs_digest,
    item_from_inputs,
    item_key,
    move_referrals,
    referral_item,
    run,
    split_item,
)

log = logging.getLogger(__name__)

Slot = tuple[int, dt.datetime]
PAGE = 16
"""Skipping items read at a time while looking for the one that takes a freed place."""


@dataclass
class _Board:
    """The items placed on the shifts of the teams a burst's insertions meet, in priority order,
    read once (one query a set of teams): insertions count, place and displace here with no
    query a step, and what they change is written at the end in one pipelined round
    (:meth:`_Pass.flush`). Under a flood of new items this turns three round trips an item
    into a share of two a burst. Removals stay on the database: they follow
    ``assignment_skips``, which the board does not hold."""

    slots: dict[Slot, list[tuple[str, str]]] = field(default_factory=dict)
    """(priority, item key) of each shift's items, sorted: the priorities are unique."""
    at: dict[str, tuple[Slot, str]] = field(default_factory=dict)
    teams: set[int] = field(default_factory=set)

    def add(self, slot: Slot, priority: str, key: str) -> None:
        insort(self.slots.setdefault(slot, []), (priority, key))
        self.at[key] = (slot, priority)

    def take(self, key: str) -> None:
        found = self.at.pop(key, None)
        if found is not None:
            slot, priority = found
            entries = self.slots[slot]
            del entries[bisect_left(entries, (priority, key))]

    def ahead(self, slot: Slot, priority: str) -> int:
        """Items of the shift before ``priority``: ``assignment_slot_use`` on the board."""
        return bisect_left(self.slots.get(slot, ()), (priority, ""))


@dataclass
class _Pass:
    """One incremental pass: the inputs shared by every step, and what it wrote."""

    session: AsyncSession
    settings: Settings
    now: dt.datetime
    run_id: int
    team_rows: dict[int, dict[str, Any]]
    teams: dict[str, Team]
    swep: frozenset[str]
    written: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    steps: int = 0
    known: dict[str, WorkItem | None] = field(default_factory=dict)
    """The changed items as open work now (with their pins), or None when they are not."""
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The active overrides of the changed items."""
    unassigned: set[str] = field(default_factory=set)
    board: _Board | None = None
    """Set once the burst's removals are done: its insertions then run on it."""
    unsaved: dict[str, tuple[dict[str, Any], WorkItem]] = field(default_factory=dict)
    """Assignments the board changed, with their items, until :meth:`flush`."""

    async def prepare(self, keys: set[str]) -> None:
        """Read the changed items, their pins and whether they are placed, a few queries for
        the whole burst rather than three for each item (a flood of referrals is mostly new
        items with nothing stored). Items a chain moves are read from ``assignments.inputs``
        and never from here; these rows stay as read, since nothing in the pass changes them."""
        by_kind: dict[str, list[str]] = {}
        for key in keys:
            kind, item_id = split_item(key)
            by_kind.setdefault(kind, []).append(item_id)
        for kind, ids in by_kind.items():
            overrides = await repo.overrides_of_many(self.session, kind, ids)
            placed = await repo.assigned_ids(self.session, kind, ids)
            if kind == "referral":
                rows = await repo.referral_items(self.session, [uuid.UUID(i) for i in ids])
            else:
                since = self.now - dt.timedelta(days=self.settings.assignment_hotspot_window_days)
                rows = await repo.hotspot_items(
                    self.session,
                    [int(i) for i in ids],
                    layers=self.settings.assignment_hotspot_layers,
                    since=since,
                )
            found = {str(r["id"]).lower(): r for r in rows}
            build = referral_item if kind == "referral" else hotspot_item
            for item_id in ids:
                key, row, override = (
                    item_key(kind, item_id),
                    found.get(item_id),
                    overrides.get(item_id),
                )
                self.known[key] = None if row is None else build(row, override, self.team_rows)
                if override is not None:
                    self.pins[key] = override
                if item_id not in placed:
                    self.unassigned.add(key)

    async def stored_item(self, key: str) -> tuple[WorkItem, dict[str, Any]] | None:
        """The item as the stored result placed it, and its stored assignment."""
        row = await repo.stored_assignment(self.session, *split_item(key))
        return None if row is None else (item_from_inputs(key, row["inputs"]), row)

    def priority(self, item: WorkItem) -> str:
        return priority_key(
            item, swep_authorities=self.swep, swep_sla_hours=self.settings.swep_sla_hours
        )[0]

    async def evaluate(self, item: WorkItem) -> Assignment:
        """Where the full run puts the item, given the items stored ahead of it."""
        self.steps += 1
        teams = [
            self.teams[t] for t in candidate_team_ids(item, self.teams.values()) if t in self.teams
        ]
        slots = [(int(t.id), s.start) for t in teams for s in t.shifts]
        priority = self.priority(item)
        if self.board is None:
            used = await repo.slot_use(self.session, slots, priority)
        else:
            await self.load({int(t.id) for t in teams})
            used = {slot: self.board.ahead(slot, priority) for slot in slots}
        return place(
            item,
            teams,
            now=self.now,
            used_before={(str(t), s): n for (t, s), n in used.items()},
            swep_authorities=self.swep,
            swep_sla_hours=self.settings.swep_sla_hours,
            horizon_shifts=self.settings.assignment_horizon_shifts,
        )

    async def write(self, a: Assignment, item: WorkItem) -> Slot | None:
        row = assignment_row(a, item, run_id=self.run_id, computed_at=self.now)
        self.written[a.item_id] = row
        slot = None if a.team_id is None or a.shift is None else (int(a.team_id), a.shift.start)
        if self.board is None:
            await repo.put_assignment(self.session, row)
            return slot
        self.board.take(a.item_id)
        if slot is not None:
            self.board.add(slot, row["priority"], a.item_id)
        self.unsaved[a.item_id] = (row, item)
        return slot

    async def load(self, team_ids: set[int]) -> None:
        """Put the stored items of these teams' shifts on the board (those not yet there)."""
        assert self.board is not None
        missing = sorted(team_ids - self.board.teams)
        if not missing:
            return
        self.board.teams.update(missing)
        for row in await repo.placed_on(self.session, missing):
            key = item_key(row["item_kind"], row["item_id"])
            if key not in self.board.at and key not in self.unsaved:
                self.board.add((row["team_id"], row["shift_start"]), row["priority"], key)

    async def flush(self) -> None:
        await repo.put_assignments(self.session, [row for row, _ in self.unsaved.values()])
        self.unsaved.clear()

    def capacity(self, slot: Slot) -> int:
        team = self.teams[str(slot[0])]
        shift = next((s for s in team.shifts if s.start == slot[1]), None)
        if shift is None or shift.capacity_visits is None:
            return team.capacity_visits_per_shift
        return shift.capacity_visits

    # --- removal: a freed place goes to the first item that skipped it and prefers it --------

    async def remove(self, key: str) -> None:
        if key in self.unassigned:  # nothing stored to take (a new item)
            return
        old = await repo.take_assignment(self.session, *split_item(key))
        self.written.pop(key, None)
        if old is not None and old["team_id"] is not None:
            await self.free((old["team_id"], old["shift_start"]), old["priority"])

    async def free(self, slot: Slot, after: str) -> None:
        pending: list[tuple[Slot, str]] = [(slot, after)]
        while pending:
            slot, after = pending.pop()
            moved = await self._first_taker(slot, after)
            if moved is not None:
                pending.append(moved)

    async def _first_taker(self, slot: Slot, after: str) -> tuple[Slot, str] | None:
        """Re-place, in priority order, the items after ``after`` that skipped ``slot`` until
        one takes it; the place it left (and its priority), if it had one."""
        cursor = after
        while page := await repo.skipping(self.session, *slot, cursor, limit=PAGE):
            for row in page:
                stored = await self.stored_item(item_key(row["item_kind"], row["item_id"]))
                if stored is None:
                    continue
                item, old = stored
                new = await self.write(await self.evaluate(item), item)
                if new == slot:
                    if old["team_id"] is None:
                        return None
                    return (old["team_id"], old["shift_start"]), row["priority"]
            cursor = page[-1]["priority"]
        return None

    # --- insertion: an overfull shift displaces its last item, which is placed again ---------

    async def insert(self, key: str) -> None:
        item = self.known[key]
        if item is None:
            self.removed.add(key)
            return
        slot = await self.write(await self.evaluate(item), item)
        await self.displace_from(slot)

    async def displace_from(self, slot: Slot | None) -> None:
        """On the board: while the shift is over capacity, its last item is placed again."""
        assert self.board is not None
        while slot is not None:
            entries = self.board.slots.get(slot, [])
            if len(entries) <= self.capacity(slot):
                return
            key = entries[-1][1]
            if key in self.unsaved:
                item = self.unsaved[key][1]
            else:
                stored = await self.stored_item(key)
                if stored is None:
                    return
                item = stored[0]
            slot = await self.write(await self.evaluate(item), item)


def _digest_ok(base: dict[str, Any] | None, digest: str, now: dt.datetime) -> bool:
    if base is None or base["inputs_digest"] != digest:
        return False
    boundary = base["next_boundary_at"]
    return boundary is None or now < boundary


async def _apply(
    runtime: Runtime,
    keys: set[str],
    *,
    trigger: str,
    requested_by: str | None,
    now: dt.datetime | None,
) -> AssignmentRun | None:
    settings = runtime.settings
    async with transaction(runtime.sessions) as session:
        await repo.lock_runs(session)
        # the pass begins when its turn comes, as a full run does: its record never overlaps
        # the run it waited for, and shift boundaries are judged at the time it places
        now = now or dt.datetime.now(dt.UTC)
        team_rows = {r["id"]: r for r in await repo.active_teams(session)}
        swep = await repo.swep_authorities(session)
        digest = inputs_digest(team_rows.values(), swep, settings)
        if not _digest_ok(await repo.latest_full_run(session), digest, now):
            return None
        run_id = await repo.add_run(
            session,
            {
                "trigger": trigger[:200],
                "requested_by": requested_by,
                "started_at": now,
                "finished_at": now,
                "duration_ms": 0.0,
                "items": 0,
                "assigned": 0,
                "unassigned": 0,
                "overflowed": 0,
                "pinned": 0,
                "swep_authorities": sorted(swep),
                "incremental": True,
                "inputs_digest": digest,
            },
        )
        teams = [
            geo_team(r, now=now, horizon_shifts=settings.assignment_horizon_shifts)
            for r in team_rows.values()
        ]
        step = _Pass(session, settings, now, run_id, team_rows, {t.id: t for t in teams}, swep)
        await step.prepare(keys)
        # Every step turns the greedy result of one set of items into that of the set with one
        # item changed, so the burst's removals may all come first, then its insertions.
        for key in sorted(keys):
            await step.remove(key)
        step.board = _Board()
        for key in sorted(keys):
            await step.insert(key)
        await step.flush()
        await _tidy(session, step)
        finished = dt.datetime.now(dt.UTC)
        duration_ms = max(0.0, (finished - now).total_seconds() * 1000)
        counts = count_rules([r["rule"] for r in step.written.values()])
        await repo.finish_run(
            session, run_id, finished_at=finished, duration_ms=duration_ms, counts=counts
        )
        log.debug("incremental assignment %s: %d keys, %d steps", trigger, len(keys), step.steps)
        return msgspec.convert(
            {
                "id": run_id,
                "trigger": trigger[:200],
                "requested_by": requested_by,
                "started_at": now,
                "finished_at": finished,
                "duration_ms": duration_ms,
                "swep_authorities": sorted(swep),
                **counts,
            },
            AssignmentRun,
        )


async def _tidy(session: AsyncSession, step: _Pass) -> None:
    """Referrals follow their new team (alerting a team whose run-sheet for today gains one,
    as a full run does); overrides of items no longer open are released."""
    written = list(step.written.values())
    await move_referrals(session, written)
    await alert_todays_run_sheets(session, step.settings, written, now=step.now)
    stale = [step.pins[key]["id"] for key in step.removed if key in step.pins]
    await repo.release_overrides(session, stale, by=STALE_OVERRIDE)


async def apply(
    runtime: Runtime,
    keys: set[str] | frozenset[str],
    *,
    trigger: str,
    requested_by: str | None = None,
    now: dt.datetime | None = None,
) -> AssignmentRun:
    """Place these items (new, changed or gone) incrementally, or make a full run when the
    stored assignments cannot be built on (see the module docstring)."""
    done = await _apply(runtime, set(keys), trigger=trigger, requested_by=requested_by, now=now)
    if done is None:
        done = await run(runtime, trigger=trigger, requested_by=requested_by, now=now)
    return done
