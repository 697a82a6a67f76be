"""geo.assignment: priority, coverage, capacity overflow, overrides, SWEP; no DB."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.assignment import (
    Assignment,
    AssignmentResult,
    Rule,
    Shift,
    ShiftPattern,
    SlotRef,
    Team,
    WorkItem,
    WorkKind,
    assign,
    shifts_from_pattern,
)

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
CHELMSFORD = "E07000070"
BASILDON = "E07000066"
COLCHESTER = "E07000071"
THURROCK = "E06000034"


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def shift(start_h: float, length_h: float = 4.0, capacity: int | None = None) -> Shift:
    return Shift(at(start_h), at(start_h + length_h), capacity)


def team(
    tid: str,
    codes: set[str],
    *,
    base: tuple[float, float] = (0.0, 0.0),
    cap: int = 5,
    starts_h: tuple[float, ...] = (6.0, 30.0, 54.0),
) -> Team:
    return Team(tid, frozenset(codes), base, cap, tuple(shift(h) for h in starts_h))


def item(
    iid: str,
    *,
    code: str = CHELMSFORD,
    loc: tuple[float, float] = (0.0, 0.0),
    received_h: float = -1.0,
    due_h: float | None = None,
    urgent: bool = False,
    activity: int = 0,
    pinned: str | None = None,
    kind: WorkKind = WorkKind.REFERRAL,
) -> WorkItem:
    return WorkItem(
        id=iid,
        kind=kind,
        location_bng=loc,
        authority_code=code,
        received_at=at(received_h),
        sla_due_at=None if due_h is None else at(due_h),
        urgent_safety=urgent,
        hotspot_activity_count=activity,
        pinned_team_id=pinned,
    )


def placed(result: AssignmentResult) -> dict[str, Assignment]:
    return result.by_item()


# --- priority -----------------------------------------------------------------


def test_urgent_item_jumps_the_queue() -> None:
    teams = [team("T", {CHELMSFORD}, cap=1)]
    items = [
        item("old", received_h=-48, due_h=2),
        item("urgent", received_h=0, urgent=True),
    ]
    out = placed(assign(items, teams, now=NOW))
    assert (out["urgent"].shift_index, out["urgent"].rule) == (0, Rule.COVERING_TEAM)
    assert out["urgent"].rank == 0
    assert (out["old"].shift_index, out["old"].rule) == (1, Rule.OVERFLOW_NEXT_SHIFT)


def test_urgent_referral_kind_counts_as_urgent() -> None:
    teams = [team("T", {CHELMSFORD}, cap=1)]
    items = [item("a", due_h=1), item("b", kind=WorkKind.URGENT_REFERRAL)]
    out = placed(assign(items, teams, now=NOW))
    assert out["b"].urgent
    assert out["b"].shift_index == 0
    assert out["a"].shift_index == 1


def test_sla_due_time_orders_items_earliest_first() -> None:
    teams = [team("T", {CHELMSFORD}, cap=1, starts_h=(1, 25, 49, 73))]
    items = [item("late", due_h=30), item("none"), item("soon", due_h=10), item("mid", due_h=20)]
    out = placed(assign(items, teams, now=NOW, horizon_shifts=4))
    assert [out[i].shift_index for i in ("soon", "mid", "late", "none")] == [0, 1, 2, 3]


def test_hotspot_activity_then_id_break_ties() -> None:
    teams = [team("T", {CHELMSFORD}, cap=1, starts_h=(1, 25, 49))]
    items = [
        item("h-quiet", kind=WorkKind.HOTSPOT, activity=2, received_h=-5),
        item("h-busy-b", kind=WorkKind.HOTSPOT, activity=9, received_h=-5),
        item("h-busy-a", kind=WorkKind.HOTSPOT, activity=9, received_h=-5),
    ]
    result = assign(items, teams, now=NOW)
    assert [a.item_id for a in result.assignments] == ["h-busy-a", "h-busy-b", "h-quiet"]
    assert [a.shift_index for a in result.assignments] == [0, 1, 2]


def test_result_does_not_depend_on_input_order() -> None:
    teams = [team("A", {CHELMSFORD}, cap=2), team("B", {CHELMSFORD}, base=(9e3, 0), cap=1)]
    items = [item(f"i{k}", due_h=k % 4, activity=k % 3, received_h=-(k % 5)) for k in range(12)]
    shuffled = items[:]
    random.Random(4).shuffle(shuffled)
    assert assign(items, teams, now=NOW) == assign(shuffled, teams[::-1], now=NOW)


# --- SWEP -----------------------------------------------------------------------


def test_swep_raises_priority_in_that_authority() -> None:
    teams = [team("T", {CHELMSFORD, BASILDON}, cap=1)]
    items = [item("cold", code=CHELMSFORD, due_h=300), item("due", code=BASILDON, due_h=2)]
    normal = placed(assign(items, teams, now=NOW))
    assert normal["due"].shift_index == 0
    assert normal["cold"].shift_index == 1
    swep = placed(assign(items, teams, now=NOW, swep_authorities=frozenset({CHELMSFORD})))
    assert swep["cold"].swep
    assert not swep["due"].swep
    assert swep["cold"].shift_index == 0
    assert swep["due"].shift_index == 1


def test_swep_does_not_outrank_urgent() -> None:
    teams = [team("T", {CHELMSFORD, BASILDON}, cap=1)]
    items = [item("cold", code=CHELMSFORD, due_h=1), item("urgent", code=BASILDON, urgent=True)]
    out = placed(assign(items, teams, now=NOW, swep_authorities=frozenset({CHELMSFORD})))
    assert out["urgent"].shift_index == 0
    assert out["cold"].shift_index == 1


def test_swep_shortens_the_sla() -> None:
    teams = [team("T", {CHELMSFORD}, starts_h=(10,))]
    items = [item("r", received_h=-1, due_h=14 * 24), item("no-due", received_h=-2)]
    plain = placed(assign(items, teams, now=NOW))
    assert plain["r"].due_at == at(14 * 24)
    assert plain["r"].within_sla is True
    assert plain["no-due"].due_at is None
    assert plain["no-due"].within_sla is None

    swep = frozenset({CHELMSFORD})
    short = placed(assign(items, teams, now=NOW, swep_authorities=swep, swep_sla_hours=6))
    assert short["r"].due_at == at(-1 + 6)
    assert short["no-due"].due_at == at(-2 + 6)
    assert short["r"].within_sla is False  # the shift starts 10 h from now
    longer = placed(assign(items, teams, now=NOW, swep_authorities=swep, swep_sla_hours=48))
    assert longer["r"].due_at == at(-1 + 48)
    assert longer["r"].within_sla is True


def test_swep_never_extends_an_earlier_sla() -> None:
    teams = [team("T", {CHELMSFORD})]
    out = placed(
        assign(
            [item("r", received_h=-1, due_h=1)],
            teams,
            now=NOW,
            swep_authorities=frozenset({CHELMSFORD}),
            swep_sla_hours=24,
        )
    )
    assert out["r"].due_at == at(1)


# --- coverage and capacity ---------------------------------------------------------


def test_nearest_covering_team_with_room_is_chosen() -> None:
    teams = [
        team("far", {CHELMSFORD}, base=(10_000.0, 0.0)),
        team("near", {CHELMSFORD}, base=(3_000.0, 4_000.0)),
        team("other-area", {COLCHESTER}, base=(1.0, 1.0)),
    ]
    out = placed(assign([item("r", loc=(0.0, 0.0))], teams, now=NOW))["r"]
    assert (out.team_id, out.rule, out.shift_index) == ("near", Rule.COVERING_TEAM, 0)
    assert out.distance_m == pytest.approx(5_000.0)
    assert out.covering_team_ids == ("near", "far")
    assert out.full_slots == ()


def test_capacity_used_and_left_are_reported() -> None:
    teams = [team("T", {CHELMSFORD}, cap=3)]
    result = assign([item("a", due_h=1), item("b", due_h=2)], teams, now=NOW)
    out = placed(result)
    assert (out["a"].used_visits, out["a"].left_visits, out["a"].capacity_visits) == (1, 2, 3)
    assert (out["b"].used_visits, out["b"].left_visits) == (2, 1)
    first = next(ld for ld in result.loads if ld.shift_index == 0)
    assert (first.team_id, first.used_visits, first.left_visits) == ("T", 2, 1)


def test_per_shift_capacity_overrides_team_default() -> None:
    t = Team("T", frozenset({CHELMSFORD}), (0, 0), 5, (shift(1, capacity=1), shift(25)))
    out = placed(assign([item("a", due_h=1), item("b", due_h=2)], [t], now=NOW))
    assert (out["a"].shift_index, out["a"].capacity_visits) == (0, 1)
    assert (out["b"].shift_index, out["b"].capacity_visits) == (1, 5)


def test_full_team_overflows_to_its_next_shift_when_that_is_sooner() -> None:
    teams = [
        team("home", {CHELMSFORD}, base=(0, 0), cap=1, starts_h=(2, 26)),
        team("neighbour", {CHELMSFORD}, base=(20_000, 0), cap=1, starts_h=(50,)),
    ]
    out = placed(assign([item("a", due_h=1), item("b", due_h=2)], teams, now=NOW))
    assert (out["a"].team_id, out["a"].rule) == ("home", Rule.COVERING_TEAM)
    assert (out["b"].team_id, out["b"].shift_index) == ("home", 1)
    assert out["b"].rule is Rule.OVERFLOW_NEXT_SHIFT
    assert out["b"].full_slots == (SlotRef("home", 0, at(2)),)


def test_full_team_overflows_to_neighbouring_team_when_that_is_sooner() -> None:
    teams = [
        team("home", {CHELMSFORD}, base=(0, 0), cap=1, starts_h=(2, 26)),
        team("neighbour", {CHELMSFORD, BASILDON}, base=(20_000, 0), cap=1, starts_h=(3,)),
    ]
    out = placed(assign([item("a", due_h=1), item("b", due_h=2)], teams, now=NOW))
    assert (out["b"].team_id, out["b"].shift_index) == ("neighbour", 0)
    assert out["b"].rule is Rule.OVERFLOW_OTHER_TEAM
    assert out["b"].full_slots == (SlotRef("home", 0, at(2)),)
    assert out["b"].covering_team_ids == ("home", "neighbour")
    assert "overflow_other_team" in out["b"].explain()


def test_overflow_tie_on_time_prefers_the_home_team() -> None:
    teams = [
        team("home", {CHELMSFORD}, base=(0, 0), cap=1, starts_h=(2, 26)),
        team("neighbour", {CHELMSFORD}, base=(20_000, 0), cap=1, starts_h=(26,)),
    ]
    out = placed(assign([item("a", due_h=1), item("b", due_h=2)], teams, now=NOW))
    assert (out["b"].team_id, out["b"].rule) == ("home", Rule.OVERFLOW_NEXT_SHIFT)


def test_all_full_is_returned_with_every_full_slot() -> None:
    teams = [team("T", {CHELMSFORD}, cap=1, starts_h=(2, 26))]
    result = assign([item("a", due_h=1), item("b", due_h=2), item("c", due_h=3)], teams, now=NOW)
    out = placed(result)
    assert out["c"].rule is Rule.ALL_FULL
    assert not out["c"].assigned
    assert out["c"].team_id is None
    assert out["c"].full_slots == (SlotRef("T", 0, at(2)), SlotRef("T", 1, at(26)))
    assert result.unassigned == (out["c"],)


def test_item_no_team_covers_is_returned_with_a_reason() -> None:
    teams = [team("T", {CHELMSFORD})]
    result = assign([item("ok"), item("lost", code=THURROCK)], teams, now=NOW)
    assert len(result.assignments) == 2
    lost = placed(result)["lost"]
    assert lost.rule is Rule.NO_COVERING_TEAM
    assert (lost.team_id, lost.shift, lost.authority_code) == (None, None, THURROCK)
    assert result.unassigned == (lost,)


def test_covering_team_without_upcoming_shifts_overflows_or_reports() -> None:
    idle = team("idle", {CHELMSFORD}, base=(0, 0), starts_h=(-10,))  # shift already over
    busy = team("busy", {CHELMSFORD}, base=(50_000, 0), starts_h=(5,))
    out = placed(assign([item("r")], [idle, busy], now=NOW))["r"]
    assert (out.team_id, out.rule) == ("busy", Rule.OVERFLOW_OTHER_TEAM)
    alone = placed(assign([item("r")], [idle], now=NOW))["r"]
    assert alone.rule is Rule.ALL_FULL


def test_shift_in_progress_serves_now_and_horizon_limits_shifts() -> None:
    teams = [team("T", {CHELMSFORD}, cap=1, starts_h=(-1, 20, 44, 68))]
    items = [item(f"i{k}", due_h=k) for k in range(5)]
    out = placed(assign(items, teams, now=NOW, horizon_shifts=3))
    assert out["i0"].serve_at == NOW
    assert out["i1"].serve_at == at(20)
    assert out["i3"].rule is Rule.ALL_FULL
    assert out["i4"].rule is Rule.ALL_FULL


# --- coordinator overrides --------------------------------------------------------


def test_pinned_team_is_kept_even_outside_its_coverage() -> None:
    teams = [
        team("local", {CHELMSFORD}, base=(0, 0)),
        team("colchester", {COLCHESTER}, base=(40_000, 0)),
    ]
    out = placed(assign([item("r", pinned="colchester")], teams, now=NOW))["r"]
    assert (out.team_id, out.rule, out.shift_index) == ("colchester", Rule.PINNED_OVERRIDE, 0)


def test_pinned_item_waits_for_its_team_rather_than_moving() -> None:
    teams = [
        team("pinned", {CHELMSFORD}, base=(0, 0), cap=1, starts_h=(2, 40)),
        team("other", {CHELMSFORD}, base=(1, 0), cap=5, starts_h=(3,)),
    ]
    items = [item("urgent", urgent=True, pinned="pinned"), item("p", due_h=1, pinned="pinned")]
    out = placed(assign(items, teams, now=NOW))
    assert (out["p"].team_id, out["p"].shift_index) == ("pinned", 1)
    assert out["p"].rule is Rule.PINNED_OVERRIDE
    assert out["p"].full_slots == (SlotRef("pinned", 0, at(2)),)


def test_pinned_team_full_or_unknown_is_reported_not_reassigned() -> None:
    teams = [team("small", {CHELMSFORD}, cap=1, starts_h=(2,)), team("big", {CHELMSFORD})]
    items = [
        item("first", due_h=1, pinned="small"),
        item("second", due_h=2, pinned="small"),
        item("ghost", pinned="disbanded"),
    ]
    out = placed(assign(items, teams, now=NOW))
    assert out["first"].team_id == "small"
    assert (out["second"].rule, out["second"].team_id) == (Rule.PINNED_TEAM_FULL, None)
    assert (out["ghost"].rule, out["ghost"].team_id) == (Rule.PINNED_TEAM_UNKNOWN, None)


def test_a_pinned_shift_is_used_when_it_has_room_and_reported_when_full() -> None:
    teams = [team("pinned", {CHELMSFORD}, cap=1, starts_h=(2, 26, 50))]
    later = replace(item("later", pinned="pinned"), pinned_shift_start=at(26))
    out = placed(assign([later], teams, now=NOW))["later"]
    assert (out.rule, out.shift_index, out.full_slots) == (Rule.PINNED_OVERRIDE, 1, ())
    rival = replace(item("rival", urgent=True, pinned="pinned"), pinned_shift_start=at(26))
    out = placed(assign([later, rival], teams, now=NOW))
    assert (out["rival"].shift_index, out["later"].shift_index) == (1, 0)
    assert out["later"].full_slots == (SlotRef("pinned", 1, at(26)),)


# --- validation -------------------------------------------------------------------


def test_invalid_inputs_are_rejected() -> None:
    teams = [team("T", {CHELMSFORD})]
    with pytest.raises(ValueError, match="unique"):
        assign([item("a"), item("a")], teams, now=NOW)
    with pytest.raises(ValueError, match="unique"):
        assign([], [*teams, *teams], now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        assign([], teams, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="before it starts"):
        assign([], [Team("X", frozenset(), (0, 0), 1, (Shift(at(2), at(1)),))], now=NOW)


# --- shift patterns -----------------------------------------------------------------


def test_shift_pattern_follows_weekdays_and_daylight_saving() -> None:
    pattern = ShiftPattern(clock(22, 0), 480, weekdays=frozenset({4, 5}))  # Fri, Sat 22:00
    # Friday 28 March 2025, 23:00 UTC: the Friday shift is under way; BST starts on Sunday.
    shifts = shifts_from_pattern(pattern, now=datetime(2025, 3, 28, 23, tzinfo=UTC), count=3)
    assert [s.start for s in shifts] == [
        datetime(2025, 3, 28, 22, tzinfo=UTC),
        datetime(2025, 3, 29, 22, tzinfo=UTC),
        datetime(2025, 4, 4, 21, tzinfo=UTC),
    ]
    assert all(s.end - s.start == timedelta(hours=8) for s in shifts)


def test_shift_pattern_skips_ended_shifts() -> None:
    pattern = ShiftPattern(clock(6, 0), 60, capacity_visits=4)
    shifts = shifts_from_pattern(pattern, now=datetime(2025, 1, 6, 7, 30, tzinfo=UTC), count=2)
    assert [s.start.day for s in shifts] == [7, 8]
    assert shifts[0].capacity_visits == 4


# --- properties ------------------------------------------------------------------------

CODES = (CHELMSFORD, BASILDON, COLCHESTER, THURROCK)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[WorkItem], list[Team]]:
    n_teams = draw(st.integers(0, 4))
    teams = []
    for k in range(n_teams):
        codes = draw(st.sets(st.sampled_from(CODES[:3]), max_size=3))
        starts = draw(st.lists(st.integers(-30, 80), max_size=4))
        base = (draw(st.integers(0, 5)) * 1000.0, draw(st.integers(0, 5)) * 1000.0)
        teams.append(team(f"t{k}", codes, base=base, cap=draw(st.integers(0, 3)), starts_h=starts))
    pins = [None, None, None, "nope", *(t.id for t in teams)]
    items = []
    for k in range(draw(st.integers(0, 30))):
        items.append(
            item(
                f"i{k}",
                code=draw(st.sampled_from(CODES)),
                loc=(draw(st.integers(0, 5)) * 1000.0, draw(st.integers(0, 5)) * 1000.0),
                received_h=-draw(st.integers(0, 100)),
                due_h=draw(st.one_of(st.none(), st.integers(-10, 100))),
                urgent=draw(st.booleans()),
                activity=draw(st.integers(0, 5)),
                pinned=draw(st.sampled_from(pins)),
            )
        )
    return items, teams


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.sets(st.sampled_from(CODES)))
def test_every_item_appears_exactly_once_and_capacity_holds(
    scenario: tuple[list[WorkItem], list[Team]], swep: set[str]
) -> None:
    items, teams = scenario
    result = assign(items, teams, now=NOW, swep_authorities=frozenset(swep))
    ids = [a.item_id for a in result.assignments]
    assert sorted(ids) == sorted(i.id for i in items)
    assert [a.rank for a in result.assignments] == list(range(len(items)))

    per_slot: dict[tuple[str, int], int] = {}
    for a in result.assignments:
        if a.assigned:
            assert a.team_id is not None
            assert a.shift_index is not None
            key = (a.team_id, a.shift_index)
            per_slot[key] = per_slot.get(key, 0) + 1
        else:
            assert (a.team_id, a.shift) == (None, None)
    for load in result.loads:
        assert 0 <= load.used_visits <= load.capacity_visits
        assert load.used_visits == per_slot.pop((load.team_id, load.shift_index), 0)
        assert load.shift.end > NOW
    assert per_slot == {}


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_reasons_agree_with_the_final_state(scenario: tuple[list[WorkItem], list[Team]]) -> None:
    items, teams = scenario
    result = assign(items, teams, now=NOW)
    by_id = {i.id: i for i in items}
    team_by_id = {t.id: t for t in teams}
    free = {(ld.team_id, ld.shift_index) for ld in result.loads if ld.left_visits > 0}
    covering = {c: {t.id for t in teams if c in t.authority_codes} for c in CODES}
    for a in result.assignments:
        wi = by_id[a.item_id]
        if wi.pinned_team_id is not None:
            assert a.rule in {Rule.PINNED_OVERRIDE, Rule.PINNED_TEAM_FULL, Rule.PINNED_TEAM_UNKNOWN}
            assert a.team_id in {None, wi.pinned_team_id}
            assert (a.rule is Rule.PINNED_TEAM_UNKNOWN) == (wi.pinned_team_id not in team_by_id)
            continue
        assert (a.rule is Rule.NO_COVERING_TEAM) == (not covering[wi.authority_code])
        if a.assigned:
            assert a.team_id in covering[wi.authority_code]
        if a.rule is Rule.ALL_FULL:  # nothing covering had room, and nothing freed up later
            assert not {s for s in free if s[0] in covering[wi.authority_code]}
        if a.rule in {Rule.OVERFLOW_NEXT_SHIFT, Rule.OVERFLOW_OTHER_TEAM}:
            home = a.covering_team_ids[0]
            assert (a.rule is Rule.OVERFLOW_NEXT_SHIFT) == (a.team_id == home)
            if any(ld.team_id == home for ld in result.loads):  # its next shift was full
                assert a.full_slots[0].team_id == home
                assert a.full_slots[0].shift_index == 0


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_single_team_serves_in_priority_order(scenario: tuple[list[WorkItem], list[Team]]) -> None:
    items, _ = scenario
    only = team("solo", set(CODES), cap=2, starts_h=(1, 25, 49))
    unpinned = [
        WorkItem(i.id, i.kind, i.location_bng, i.authority_code, i.received_at, i.sla_due_at)
        for i in items
    ]
    result = assign(unpinned, [only], now=NOW)
    served = [a.serve_at for a in result.assignments if a.assigned]
    assert served == sorted(served)
    seen_unassigned = False
    for a in result.assignments:
        seen_unassigned = seen_unassigned or not a.assigned
        assert not (seen_unassigned and a.assigned)


def test_five_hundred_items_fourteen_teams_is_fast() -> None:
    rng = random.Random(7)
    codes = [f"E07{k:06d}" for k in range(14)]
    teams = [
        team(f"t{k}", {codes[k], codes[(k + 1) % 14]}, base=(k * 5e3, 0), cap=12) for k in range(14)
    ]
    items = [
        item(
            f"i{k}",
            code=rng.choice(codes),
            loc=(rng.uniform(0, 7e4), rng.uniform(0, 3e4)),
            due_h=rng.uniform(0, 300),
            urgent=rng.random() < 0.05,
        )
        for k in range(500)
    ]
    # Speed is measured by bench/assignment.py, never asserted here (the machine is shared).
    result = assign(items, teams, now=NOW, swep_authorities=frozenset(codes[:3]))
    assert len(result.assignments) == 500
