"""Who may see what: the one visibility rule for every kind of subject.

Every record about the work carries where it is (``authority_code``, ``None`` when it lies
outside Greater Essex or has no location yet) and which team holds it (``team_id``, ``None``
when no team does). A member of staff sees a record when

* they are an administrator (everything, but special-category fields only where
  :data:`SPECIAL_CATEGORY_ROLES` says), or
* the record belongs to one of their teams (for a coordinator, also the teams that work only
  inside their authorities: ``StaffUser.area_team_ids``), or
* they are a coordinator and the record lies in one of their authorities, or is *unrouted*
  (no authority and no team: a referral that waits for a coordinator to place it).

The rule exists twice in form and once in substance: :func:`may_see` for Python checks and the
SQL function ``staff_may_see(scope_all, scope_coordinator, scope_teams, scope_codes,
authority_code, team_id)`` (migration 0009, inlined by the planner so indexes still serve) that
every scoped query in ``service/db/`` calls with :func:`params`.
``tests/integration/test_access.py`` proves the two agree on every combination, and the
authorization matrix compares every read path's answer with :func:`may_see`.

Subjects and how they map onto the rule:

============================  =============================================================
referral, contact, hotspot     their own ``authority_code`` and ``team_id``
assignment                     the item's ``authority_code`` and the assigned ``team_id``
change-feed entry              the changed referral's or contact's ``authority_code``, the
                               entry's ``team_id`` (the team whose feed it is)
tile feature, export row       the referral, contact or hotspot it shows
person                         their owning team (``authority_code`` ``None``), or any
                               contact of theirs the caller may see
run-sheet                      a team's sheet is open to :func:`may_read_team`; each visit on
                               it is shown only when its referral or hotspot is visible
figure                         exact where :func:`exact_figures` says, suppressed elsewhere
audit log                      administrators only
============================  =============================================================
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import msgspec

SPECIAL_CATEGORY_ROLES = frozenset({"worker", "coordinator"})
"""Roles that act on special-category data (health, support needs) and so may read it."""

REFERRER_CONTACT_ROLES = frozenset({"coordinator", "admin"})
"""Roles that may read a referrer's contact details (to ask for more or tell the outcome)."""


class StaffUser(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in member of staff and what they may see."""

    id: int
    username: str
    role: str
    team_ids: tuple[int, ...] = ()
    authority_codes: tuple[str, ...] = ()
    area_team_ids: tuple[int, ...] = ()
    """For a coordinator, the teams that work only inside their authorities
    (:func:`teams_within`, computed in SQL when the user is loaded): all those teams' work
    is theirs to see, even a record that lies outside every authority."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """What one caller may see, in the terms of the rule."""

    everything: bool = False
    coordinator: bool = False
    team_ids: tuple[int, ...] = ()
    authority_codes: tuple[str, ...] = ()


NOBODY = Scope()


def scope_of(user: StaffUser) -> Scope:
    """The caller's scope.

    >>> scope_of(StaffUser(id=1, username="c", role="coordinator", team_ids=(3,),
    ...                    authority_codes=("E07000070",)))
    Scope(everything=False, coordinator=True, team_ids=(3,), authority_codes=('E07000070',))
    >>> scope_of(StaffUser(id=2, username="w", role="worker", team_ids=(4,),
    ...                    authority_codes=("E07000070",), area_team_ids=(5,)))
    Scope(everything=False, coordinator=False, team_ids=(4,), authority_codes=())
    >>> scope_of(StaffUser(id=3, username="c", role="coordinator", team_ids=(4,),
    ...                    area_team_ids=(5,))).team_ids
    (4, 5)
    """
    coordinator = user.role == "coordinator"
    return Scope(
        everything=user.is_admin,
        coordinator=coordinator,
        team_ids=tuple(sorted({*user.team_ids, *(user.area_team_ids if coordinator else ())})),
        authority_codes=tuple(sorted(user.authority_codes)) if coordinator else (),
    )


def may_see(scope: Scope, authority_code: str | None, team_id: int | None) -> bool:
    """The rule (see the module docstring); ``staff_may_see`` in SQL is the same.

    >>> coord = Scope(coordinator=True, authority_codes=("A",))
    >>> may_see(coord, "A", 9), may_see(coord, "B", 9), may_see(coord, None, None)
    (True, False, True)
    >>> may_see(coord, None, 9)  # out of area and held by a team: that team's business
    False
    >>> worker = Scope(team_ids=(9,))
    >>> may_see(worker, "B", 9), may_see(worker, None, None), may_see(worker, "A", 8)
    (True, False, False)
    """
    if scope.everything:
        return True
    if team_id is not None and team_id in scope.team_ids:
        return True
    if not scope.coordinator:
        return False
    if authority_code is None:
        return team_id is None
    return authority_code in scope.authority_codes


def may_see_row(scope: Scope, row: Mapping[str, Any]) -> bool:
    """:func:`may_see` for a row with ``authority_code`` and ``team_id``."""
    return may_see(scope, row["authority_code"], row["team_id"])


def sees(user: StaffUser, row: Mapping[str, Any]) -> bool:
    """:func:`may_see_row` for a signed-in member of staff."""
    return may_see_row(scope_of(user), row)


def params(scope: Scope) -> dict[str, Any]:
    """The parameters every ``staff_may_see(:scope_all, :scope_coordinator, :scope_teams,
    :scope_codes, <authority>, <team>)`` call in ``service/db/`` reads."""
    return {
        "scope_all": scope.everything,
        "scope_coordinator": scope.coordinator,
        "scope_teams": list(scope.team_ids),
        "scope_codes": list(scope.authority_codes),
    }


def teams_within(
    authority_codes: Collection[str], covers: Mapping[int, Collection[str]]
) -> frozenset[int]:
    """The teams that work only inside these authorities (and cover at least one): a
    coordinator's ``area_team_ids``. ``service/db/sql/user_get.sql`` computes the same.

    >>> covers = {1: ["A", "B"], 2: ["B", "C"], 3: []}
    >>> sorted(teams_within(("A", "B"), covers))
    [1]
    >>> teams_within((), covers)
    frozenset()
    """
    codes = set(authority_codes)
    return frozenset(team for team, areas in covers.items() if areas and set(areas) <= codes)


def may_see_person(
    scope: Scope, team_id: int | None, contacts: Iterable[Mapping[str, Any]]
) -> bool:
    """A person is seen by whoever may see their owning team's work, and by whoever may see
    any contact recorded with them (``service.db.persons.SCOPE_SQL``).

    >>> coord = Scope(coordinator=True, authority_codes=("A",), team_ids=(1,))
    >>> may_see_person(coord, 1, []), may_see_person(coord, 2, [])
    (True, False)
    >>> may_see_person(coord, 2, [{"authority_code": "A", "team_id": 2}])
    True
    """
    if scope.everything or (team_id is not None and team_id in scope.team_ids):
        return True
    return any(may_see_row(scope, c) for c in contacts)


def params_of(user: StaffUser) -> dict[str, Any]:
    """:func:`params` of the caller's scope: what every scoped query reads."""
    return params(scope_of(user))


def may_read_team(scope: Scope, team_id: int, covers: Collection[str]) -> bool:
    """Whether the caller may open a team's run-sheet at all: admins, the team's members, and
    coordinators of an authority the team covers. What the sheet shows is still filtered
    visit by visit with :func:`may_see`.

    >>> may_read_team(Scope(coordinator=True, authority_codes=("A",)), 5, ["A", "B"])
    True
    >>> may_read_team(Scope(team_ids=(4,)), 5, ["A"])
    False
    """
    if scope.everything or team_id in scope.team_ids:
        return True
    return scope.coordinator and bool(set(covers) & set(scope.authority_codes))


class FigureScope(msgspec.Struct, frozen=True, kw_only=True):
    """Which rows of the figures this caller sees exactly; the others are suppressed."""

    everything: bool = False
    authority_codes: frozenset[str] = frozenset()
    team_ids: frozenset[int] = frozenset()

    def authority(self, code: str) -> bool:
        return self.everything or code in self.authority_codes

    def team(self, team_id: int) -> bool:
        return self.everything or team_id in self.team_ids


def exact_figures(user: StaffUser, *, public: bool) -> FigureScope:
    """Exact figures for what the caller sees whole: a coordinator's own authorities, and
    the teams in their scope (their own, and those working only inside their authorities).
    Never for a wide (public) audience.

    >>> coord = StaffUser(id=1, username="c", role="coordinator", authority_codes=("A", "B"),
    ...                   area_team_ids=(1,))
    >>> e = exact_figures(coord, public=False)
    >>> sorted(e.authority_codes), sorted(e.team_ids)
    (['A', 'B'], [1])
    >>> worker = StaffUser(id=2, username="w", role="worker", team_ids=(2,))
    >>> e = exact_figures(worker, public=False)
    >>> sorted(e.authority_codes), sorted(e.team_ids)
    ([], [2])
    >>> exact_figures(StaffUser(id=3, username="a", role="admin"), public=True).everything
    False
    """
    if public:
        return FigureScope()
    scope = scope_of(user)
    if scope.everything:
        return FigureScope(everything=True)
    return FigureScope(
        authority_codes=frozenset(scope.authority_codes), team_ids=frozenset(scope.team_ids)
    )
