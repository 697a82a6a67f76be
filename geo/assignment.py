"""Which outreach team visits each open work item, on which shift, and why.

:func:`assign` is pure: items, teams with their upcoming shifts, the SWEP state
and ``now`` in, one :class:`Assignment` per item out, with the rule that decided
it and the numbers behind it. Nothing is ever dropped: an item no team can take
is returned unassigned with its reason.

Priority (who gets capacity first), most important first:

1. urgent: ``urgent_safety`` or kind ``URGENT_REFERRAL``;
2. SWEP is on in the item's authority (Severe Weather Emergency Protocol);
3. effective SLA due time, earliest first; items without a due time last.
   Under SWEP the due time is brought forward to at most ``swep_sla_hours``
   after the item was received;
4. hotspot activity count, highest first;
5. received time, oldest first; then id (deterministic tie-break).

Placement of one item, in priority order:

* pinned (coordinator override): the pinned team's earliest shift with room,
  whatever it covers (``PINNED_OVERRIDE``); or the shift named by
  ``pinned_shift_start`` when it is offered and has room (otherwise the earliest
  with room, the named one reported as skipped); never moved to another team
  (``PINNED_TEAM_FULL`` / ``PINNED_TEAM_UNKNOWN`` otherwise);
* no team covers the authority: ``NO_COVERING_TEAM``;
* the *home* team is the covering team whose base is nearest (straight-line
  BNG; ties by id). If its next shift has room: ``COVERING_TEAM``;
* otherwise overflow to the slot that serves the item soonest, among the home
  team's later shifts and every shift of the other covering teams
  (``OVERFLOW_NEXT_SHIFT`` or ``OVERFLOW_OTHER_TEAM``); ties go to the home team,
  then the nearer base, then team id. The full slots skipped are reported (the
  home team's next shift, and any full covering shift served no later);
* no covering slot has room within the horizon: ``ALL_FULL``.

A shift is "served" at its start, or at ``now`` if it is already under way.
Each team offers its first ``horizon_shifts`` shifts that have not ended.

>>> now = datetime(2025, 1, 6, 12, tzinfo=UTC)
>>> assign([], [], now=now)
AssignmentResult(assignments=(), loads=())
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "Assignment",
    "AssignmentResult",
    "Rule",
    "Shift",
    "ShiftPattern",
    "SlotLoad",
    "SlotRef",
    "Team",
    "WorkItem",
    "WorkKind",
    "assign",
    "candidate_team_ids",
    "next_boundary",
    "place",
    "priority_key",
    "shifts_from_pattern",
]


class WorkKind(StrEnum):
    """What kind of open work an item is."""

    URGENT_REFERRAL = "urgent_referral"
    REFERRAL = "referral"
    HOTSPOT = "hotspot"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One open item to visit: a (possibly urgent) referral or a hotspot.

    ``location_bng`` is (easting, northing) in metres; ``authority_code`` is the
    ONS code of the authority covering the location; datetimes are tz-aware.
    """

    id: str
    kind: WorkKind
    location_bng: tuple[float, float]
    authority_code: str
    received_at: datetime
    sla_due_at: datetime | None = None
    urgent_safety: bool = False
    hotspot_activity_count: int = 0
    pinned_team_id: str | None = None
    pinned_shift_start: datetime | None = None
    """With ``pinned_team_id``: the pinned team's shift starting then, if it has room."""

    @property
    def urgent(self) -> bool:
        """Urgent safety flag set, or an urgent referral."""
        return self.urgent_safety or self.kind is WorkKind.URGENT_REFERRAL


@dataclass(frozen=True, slots=True)
class Shift:
    """One shift of a team; ``capacity_visits`` overrides the team's default."""

    start: datetime
    end: datetime
    capacity_visits: int | None = None


@dataclass(frozen=True, slots=True)
class Team:
    """An outreach team, the authorities it covers and its upcoming shifts."""

    id: str
    authority_codes: frozenset[str]
    base_bng: tuple[float, float]
    capacity_visits_per_shift: int
    shifts: tuple[Shift, ...] = ()


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """A weekly rule for shifts: on ``weekdays`` (Monday is 0) at local ``start_local``.

    Rural teams that go out every few days list only those weekdays.
    """

    start_local: time
    duration_minutes: int
    weekdays: frozenset[int] = frozenset(range(7))
    timezone: str = "Europe/London"
    capacity_visits: int | None = None


def shifts_from_pattern(pattern: ShiftPattern, *, now: datetime, count: int) -> tuple[Shift, ...]:
    """The next ``count`` shifts of ``pattern`` that have not ended at ``now``, in UTC.

    Local times follow daylight saving (``Europe/London`` by default).

    >>> p = ShiftPattern(time(6, 0), 240, weekdays=frozenset({0, 3}))  # Mon, Thu 06:00
    >>> [s.start.isoformat() for s in
    ...  shifts_from_pattern(p, now=datetime(2025, 3, 27, 9, tzinfo=UTC), count=3)]
    ['2025-03-27T06:00:00+00:00', '2025-03-31T05:00:00+00:00', '2025-04-03T05:00:00+00:00']
    >>> shifts_from_pattern(ShiftPattern(time(6), 60, weekdays=frozenset()), now=datetime.now(UTC),
    ...                     count=2)
    ()
    """
    if pattern.duration_minutes <= 0:
        raise ValueError("duration_minutes must be positive")
    tz = ZoneInfo(pattern.timezone)
    day: date = now.astimezone(tz).date() - timedelta(days=1)
    found: list[Shift] = []
    for _ in range(8 * count + 8 if pattern.weekdays else 0):
        if len(found) >= count:
            break
        if day.weekday() in pattern.weekdays:
            start = datetime.combine(day, pattern.start_local, tzinfo=tz).astimezone(UTC)
            end = start + timedelta(minutes=pattern.duration_minutes)
            if end > now:
                found.append(Shift(start, end, pattern.capacity_visits))
        day += timedelta(days=1)
    return tuple(found)


class Rule(StrEnum):
    """The rule that decided an item's placement."""

    COVERING_TEAM = "covering_team"
    """The nearest covering team's next shift."""
    PINNED_OVERRIDE = "pinned_override"
    """A coordinator pinned the item to this team."""
    OVERFLOW_NEXT_SHIFT = "overflow_next_shift"
    """The nearest covering team's next shift was full: a later shift of it."""
    OVERFLOW_OTHER_TEAM = "overflow_other_team"
    """The nearest covering team could not serve it as soon: another covering team."""
    NO_COVERING_TEAM = "no_covering_team"
    """No team covers the item's authority."""
    ALL_FULL = "all_full"
    """Every shift of every covering team within the horizon is full."""
    PINNED_TEAM_UNKNOWN = "pinned_team_unknown"
    """The pinned team is not among the teams given."""
    PINNED_TEAM_FULL = "pinned_team_full"
    """Every shift of the pinned team within the horizon is full."""


ASSIGNED_RULES = frozenset(
    {Rule.COVERING_TEAM, Rule.PINNED_OVERRIDE, Rule.OVERFLOW_NEXT_SHIFT, Rule.OVERFLOW_OTHER_TEAM}
)


@dataclass(frozen=True, slots=True)
class SlotRef:
    """One shift of one team; ``shift_index`` 0 is the team's next shift."""

    team_id: str
    shift_index: int
    shift_start: datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one item goes and why; the capacity numbers count this item.

    ``rank`` is the item's position in the priority order (0 is served first);
    ``due_at`` is the effective SLA due time (after SWEP); ``within_sla`` says
    whether ``serve_at`` is no later than ``due_at`` (None when either is
    unknown); ``full_slots`` are the shifts skipped because they were full;
    ``covering_team_ids`` lists the teams covering the authority, nearest first.
    """

    item_id: str
    rule: Rule
    authority_code: str
    rank: int
    urgent: bool
    swep: bool
    due_at: datetime | None
    team_id: str | None = None
    shift: Shift | None = None
    shift_index: int | None = None
    serve_at: datetime | None = None
    within_sla: bool | None = None
    distance_m: float | None = None
    capacity_visits: int | None = None
    used_visits: int | None = None
    full_slots: tuple[SlotRef, ...] = ()
    covering_team_ids: tuple[str, ...] = ()
    priority: str = ""
    """The item's sort key (:func:`priority_key`): ``rank`` is its position among all items."""

    @property
    def assigned(self) -> bool:
        """True when the item has a team and a shift."""
        return self.rule in ASSIGNED_RULES

    @property
    def left_visits(self) -> int | None:
        """Capacity left on the chosen shift right after this item was placed."""
        if self.capacity_visits is None or self.used_visits is None:
            return None
        return self.capacity_visits - self.used_visits

    def explain(self) -> str:
        """A one-line, human-readable account of the decision."""
        head = f"{self.item_id} [{self.authority_code}] {self.rule.value}"
        if not self.assigned:
            return f"{head}; covering teams: {', '.join(self.covering_team_ids) or 'none'}"
        start = self.shift.start.isoformat() if self.shift else "?"
        skipped = f"; skipped full: {len(self.full_slots)}" if self.full_slots else ""
        return (
            f"{head} -> {self.team_id} shift {self.shift_index} ({start}), "
            f"{self.used_visits}/{self.capacity_visits} used{skipped}"
        )


@dataclass(frozen=True, slots=True)
class SlotLoad:
    """Final load of one team's shift after assignment."""

    team_id: str
    shift_index: int
    shift: Shift
    capacity_visits: int
    used_visits: int

    @property
    def left_visits(self) -> int:
        """Visits still free on this shift."""
        return self.capacity_visits - self.used_visits


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    """Every item exactly once, in priority order, and the load of every shift."""

    assignments: tuple[Assignment, ...]
    loads: tuple[SlotLoad, ...]

    def by_item(self) -> dict[str, Assignment]:
        """Assignments keyed by item id."""
        return {a.item_id: a for a in self.assignments}

    @property
    def unassigned(self) -> tuple[Assignment, ...]:
        """Items that got no team, each with its reason."""
        return tuple(a for a in self.assignments if not a.assigned)


# --- internals --------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    team: Team
    index: int
    shift: Shift
    capacity: int
    serve_at: datetime
    used: int = 0

    @property
    def has_room(self) -> bool:
        return self.used < self.capacity

    def ref(self) -> SlotRef:
        return SlotRef(self.team.id, self.index, self.shift.start)


@dataclass(frozen=True, slots=True)
class _Ranked:
    item: WorkItem
    rank: int
    swep: bool
    due_at: datetime | None
    priority: str = ""


@dataclass(slots=True)
class _State:
    teams: dict[str, Team]
    slots: dict[str, list[_Slot]]
    covering: dict[str, list[Team]] = field(default_factory=dict)


def _team_slots(team: Team, *, now: datetime, horizon_shifts: int) -> list[_Slot]:
    upcoming = sorted((s for s in team.shifts if s.end > now), key=lambda s: s.start)
    slots = []
    for index, shift in enumerate(upcoming[:horizon_shifts]):
        if shift.end <= shift.start:
            raise ValueError(f"team {team.id}: shift ends before it starts")
        cap = (
            team.capacity_visits_per_shift
            if shift.capacity_visits is None
            else shift.capacity_visits
        )
        if cap < 0:
            raise ValueError(f"team {team.id}: negative capacity")
        slots.append(_Slot(team, index, shift, cap, max(shift.start, now)))
    return slots


def _build_state(teams: Sequence[Team], *, now: datetime, horizon_shifts: int) -> _State:
    by_id = {t.id: t for t in teams}
    if len(by_id) != len(teams):
        raise ValueError("team ids must be unique")
    state = _State(
        by_id, {t.id: _team_slots(t, now=now, horizon_shifts=horizon_shifts) for t in teams}
    )
    for team in sorted(teams, key=lambda t: t.id):
        for code in team.authority_codes:
            state.covering.setdefault(code, []).append(team)
    return state


_NO_DUE = "9" * 20


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(t: datetime) -> str:
    return f"{(t - _EPOCH) // timedelta(microseconds=1) + 10**17:020d}"


def priority_key(
    item: WorkItem, *, swep_authorities: frozenset[str], swep_sla_hours: float
) -> tuple[str, bool, datetime | None]:
    """The item's sort key (a string that sorts like the priority order, byte by byte, so a
    database can order and compare it with ``COLLATE "C"``), whether SWEP applies, and the
    effective due time.

    >>> t = datetime(2025, 1, 6, 12, tzinfo=UTC)
    >>> a = WorkItem("referral:a", WorkKind.REFERRAL, (0.0, 0.0), "E1", t, sla_due_at=t)
    >>> b = replace(a, id="referral:b", urgent_safety=True, sla_due_at=None)
    >>> key = lambda i: priority_key(i, swep_authorities=frozenset(), swep_sla_hours=12)[0]
    >>> key(b) < key(a)  # urgent first, whatever the due time
    True
    >>> key(a) < key(replace(a, id="referral:c", sla_due_at=None))  # no due time: last
    True
    """
    swep = item.authority_code in swep_authorities
    due = item.sla_due_at
    if swep:
        swep_due = item.received_at + timedelta(hours=swep_sla_hours)
        due = swep_due if due is None else min(due, swep_due)
    klass = 0 if item.urgent else 1 if swep else 2
    activity = 10**9 - max(0, min(item.hotspot_activity_count, 10**9 - 1))
    key = "|".join(
        (
            str(klass),
            _NO_DUE if due is None else _micros(due),
            f"{activity:010d}",
            _micros(item.received_at),
            item.id,
        )
    )
    return key, swep, due


def _rank_items(
    items: Sequence[WorkItem], *, swep_authorities: frozenset[str], swep_sla_hours: float
) -> list[_Ranked]:
    if len({i.id for i in items}) != len(items):
        raise ValueError("item ids must be unique")
    keyed = [
        (
            *priority_key(item, swep_authorities=swep_authorities, swep_sla_hours=swep_sla_hours),
            item,
        )
        for item in items
    ]
    keyed.sort(key=lambda k: k[0])
    return [
        _Ranked(item, rank, swep, due, key) for rank, (key, swep, due, item) in enumerate(keyed)
    ]


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _unplaced(
    r: _Ranked,
    rule: Rule,
    *,
    full_slots: tuple[SlotRef, ...] = (),
    covering_team_ids: tuple[str, ...] = (),
) -> Assignment:
    return Assignment(
        item_id=r.item.id,
        rule=rule,
        authority_code=r.item.authority_code,
        rank=r.rank,
        urgent=r.item.urgent,
        swep=r.swep,
        due_at=r.due_at,
        full_slots=full_slots,
        covering_team_ids=covering_team_ids,
        priority=r.priority,
    )


def _place(
    r: _Ranked,
    rule: Rule,
    slot: _Slot,
    *,
    full_slots: tuple[SlotRef, ...] = (),
    covering_team_ids: tuple[str, ...] = (),
) -> Assignment:
    slot.used += 1
    return replace(
        _unplaced(r, rule, full_slots=full_slots, covering_team_ids=covering_team_ids),
        team_id=slot.team.id,
        shift=slot.shift,
        shift_index=slot.index,
        serve_at=slot.serve_at,
        within_sla=None if r.due_at is None else slot.serve_at <= r.due_at,
        distance_m=_distance_m(slot.team.base_bng, r.item.location_bng),
        capacity_visits=slot.capacity,
        used_visits=slot.used,
    )


def _assign_pinned(r: _Ranked, state: _State, team_id: str) -> Assignment:
    team = state.teams.get(team_id)
    if team is None:
        return _unplaced(r, Rule.PINNED_TEAM_UNKNOWN)
    slots = state.slots[team.id]
    wanted = r.item.pinned_shift_start
    named = next((s for s in slots if s.shift.start == wanted and s.has_room), None)
    free = named or next((s for s in slots if s.has_room), None)
    if free is None:
        return _unplaced(r, Rule.PINNED_TEAM_FULL, full_slots=tuple(s.ref() for s in slots))
    skipped = tuple(
        s.ref()
        for s in slots
        if s is not free and (s.index < free.index or s.shift.start == wanted)
    )
    return _place(r, Rule.PINNED_OVERRIDE, free, full_slots=() if named else skipped)


def _overflow_choice(ranked: list[Team], state: _State) -> _Slot | None:
    order = {t.id: k for k, t in enumerate(ranked)}  # home team first, then by distance
    options = [s for t in ranked for s in state.slots[t.id] if s.has_room]
    if not options:
        return None
    return min(options, key=lambda s: (s.serve_at, order[s.team.id], s.index))


def _assign_covered(r: _Ranked, state: _State) -> Assignment:
    loc = r.item.location_bng
    covering = state.covering.get(r.item.authority_code, [])
    ranked = sorted(covering, key=lambda t: (_distance_m(t.base_bng, loc), t.id))
    ids = tuple(t.id for t in ranked)
    if not ranked:
        return _unplaced(r, Rule.NO_COVERING_TEAM)
    home_slots = state.slots[ranked[0].id]
    if home_slots and home_slots[0].has_room:
        return _place(r, Rule.COVERING_TEAM, home_slots[0], covering_team_ids=ids)
    chosen = _overflow_choice(ranked, state)
    every = [s for t in ranked for s in state.slots[t.id]]
    if chosen is None:
        return _unplaced(
            r, Rule.ALL_FULL, full_slots=tuple(s.ref() for s in every), covering_team_ids=ids
        )
    first = home_slots[0] if home_slots else None
    skipped = tuple(
        s.ref() for s in every if not s.has_room and (s is first or s.serve_at <= chosen.serve_at)
    )
    rule = Rule.OVERFLOW_NEXT_SHIFT if chosen.team is ranked[0] else Rule.OVERFLOW_OTHER_TEAM
    return _place(r, rule, chosen, full_slots=skipped, covering_team_ids=ids)


def assign(
    items: Iterable[WorkItem],
    teams: Iterable[Team],
    *,
    now: datetime,
    swep_authorities: frozenset[str] = frozenset(),
    swep_sla_hours: float = 12.0,
    horizon_shifts: int = 3,
) -> AssignmentResult:
    """Assign every item to a team's shift, or say why not (see the module docstring).

    ``now`` must be timezone-aware; shifts that ended by ``now`` are ignored and
    each team offers at most ``horizon_shifts`` upcoming shifts. Items in an
    authority listed in ``swep_authorities`` are raised above every non-urgent
    item and due within ``swep_sla_hours`` of being received.

    >>> now = datetime(2025, 1, 6, 12, tzinfo=UTC)
    >>> item = WorkItem("r1", WorkKind.REFERRAL, (570000.0, 207000.0), "E06000034", now)
    >>> assign([item], [], now=now).assignments[0].explain()
    'r1 [E06000034] no_covering_team; covering teams: none'
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if horizon_shifts < 1 or swep_sla_hours < 0:
        raise ValueError("horizon_shifts must be >= 1 and swep_sla_hours >= 0")
    team_list = list(teams)
    state = _build_state(team_list, now=now, horizon_shifts=horizon_shifts)
    ranked = _rank_items(
        list(items), swep_authorities=swep_authorities, swep_sla_hours=swep_sla_hours
    )
    out = []
    for r in ranked:
        pinned = r.item.pinned_team_id
        out.append(
            _assign_covered(r, state) if pinned is None else _assign_pinned(r, state, pinned)
        )
    loads = tuple(
        SlotLoad(s.team.id, s.index, s.shift, s.capacity, s.used)
        for t in sorted(team_list, key=lambda t: t.id)
        for s in state.slots[t.id]
    )
    return AssignmentResult(tuple(out), loads)


def candidate_team_ids(item: WorkItem, teams: Iterable[Team]) -> frozenset[str]:
    """The teams whose shifts the item may take: its pinned team, or those covering it."""
    if item.pinned_team_id is not None:
        return frozenset({item.pinned_team_id})
    return frozenset(t.id for t in teams if item.authority_code in t.authority_codes)


def place(
    item: WorkItem,
    teams: Iterable[Team],
    *,
    now: datetime,
    used_before: dict[tuple[str, datetime], int],
    swep_authorities: frozenset[str] = frozenset(),
    swep_sla_hours: float = 12.0,
    horizon_shifts: int = 3,
) -> Assignment:
    """Where :func:`assign` puts ``item`` when the items before it in the priority order have
    taken ``used_before[(team id, shift start)]`` visits of each shift: the step of one item,
    for incremental assignment (``rank`` is 0: a position needs every item).

    >>> now = datetime(2025, 1, 6, 12, tzinfo=UTC)
    >>> shift = Shift(now, now + timedelta(hours=4))
    >>> team = Team("t", frozenset({"E1"}), (0.0, 0.0), 1, (shift,))
    >>> item = WorkItem("r", WorkKind.REFERRAL, (3.0, 4.0), "E1", now)
    >>> place(item, [team], now=now, used_before={}).rule.value
    'covering_team'
    >>> place(item, [team], now=now, used_before={("t", now): 1}).rule.value
    'all_full'
    """
    state = _build_state(list(teams), now=now, horizon_shifts=horizon_shifts)
    for slots in state.slots.values():
        for slot in slots:
            slot.used = used_before.get((slot.team.id, slot.shift.start), 0)
    key, swep, due = priority_key(
        item, swep_authorities=swep_authorities, swep_sla_hours=swep_sla_hours
    )
    ranked = _Ranked(item, 0, swep, due, key)
    pinned = item.pinned_team_id
    return (
        _assign_covered(ranked, state) if pinned is None else _assign_pinned(ranked, state, pinned)
    )


def next_boundary(
    teams: Iterable[Team], *, now: datetime, horizon_shifts: int = 3
) -> datetime | None:
    """The first time after ``now`` at which a shift offered to :func:`assign` starts or
    ends: until then the slots, and the order in which they serve, stay as they are.

    >>> now = datetime(2025, 1, 6, 12, tzinfo=UTC)
    >>> shift = Shift(now + timedelta(hours=1), now + timedelta(hours=5))
    >>> next_boundary([Team("t", frozenset(), (0.0, 0.0), 1, (shift,))], now=now)
    datetime.datetime(2025, 1, 6, 13, 0, tzinfo=datetime.timezone.utc)
    """
    times = [
        t
        for team in teams
        for slot in _team_slots(team, now=now, horizon_shifts=horizon_shifts)
        for t in (slot.shift.start, slot.shift.end)
        if t > now
    ]
    return min(times, default=None)
