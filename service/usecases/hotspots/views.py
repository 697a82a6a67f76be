"""Reading hotspots: the GeoJSON list with filters and one hotspot with its members.

Staff only (there is no public map). Anyone sees their teams' hotspots, coordinators those in
their authorities, admins all: the same rule in the list, one hotspot and the map tiles. A
hotspot's members are shown one by one only where the caller may see that referral or
contact; the others are counted. Every read is audited: the list as one row (with the
filters and how many came back), a hotspot with its members as one.

A hotspot is clustered from *all* its members, so its outline, centre and time span would
show where and when members the caller may not see were recorded (another team's contacts in
an authority two teams share). What a caller gets is therefore computed from the members
they may see (``service/db/sql/hotspots_seen.sql``, one definition for the list, one hotspot
and the tile layer):

* every member visible (and always for admins): the stored summary, exact, as before;
* any member hidden: ``geometry`` is the centre of the 1 km British National Grid square
  holding the centroid of the *visible* members (``null`` when none is visible; the tile
  layer then leaves the hotspot out), ``hull`` is ``null``, ``first_activity_at`` and
  ``last_activity_at`` are the visible members' earliest and latest, truncated to the UTC
  day (``null`` when none is visible), and the per-kind counts (core, referrals, contacts,
  bedded down) count visible members only;
* the filters (``bbox``, ``window_days``, tile ``since``/``until``) compare those values, or
  the visible members' exact times, never the stored ones: a binary search over filters
  finds nothing the answer does not show;
* a retired hotspot no longer knows its members, so for anyone but an admin all of them
  count as hidden.

Nothing shown is a function of a hidden member's position or time. What remains is the
number: ``member_count`` is the total and ``hidden_members`` the members not shown (the
same number the detail view always gave). That count is kept on purpose: the hotspot is the
caller's to visit (its team or authority is theirs), and how many people to expect there is
what a visit needs; it says nothing about where or when those members were recorded, only
that they exist, which the hotspot's existence (at least ``min_samples`` points) says anyway.
It does change when a hidden member joins or leaves, as any count does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from service import access
from service.access import StaffUser
from service.db import audit
from service.db import hotspots as repo
from service.db.engine import transaction
from service.exceptions import NotFoundError
from service.runtime import Runtime
from service.schemas.geojson import decode_geometry
from service.schemas.hotspots import (
    HotspotCollection,
    HotspotDetail,
    HotspotEventOut,
    HotspotFeature,
    HotspotMemberOut,
)


class HotspotFilter(msgspec.Struct, frozen=True, kw_only=True):
    bbox: tuple[float, float, float, float] | None = None
    authority: str | None = None
    team: int | None = None
    layer: str | None = None
    window_days: float | None = None
    min_size: int = 1
    include_retired: bool = False
    limit: int = 500


def _geometry(text: str | None) -> Any:
    return None if text is None else decode_geometry(text)


def _feature(row: dict[str, Any]) -> HotspotFeature:
    props = {k: v for k, v in row.items() if k not in ("id", "geometry")}
    props["hull"] = _geometry(row["hull"])
    return msgspec.convert(
        {"id": row["id"], "geometry": _geometry(row["geometry"]), "properties": props},
        HotspotFeature,
        from_attributes=True,
    )


async def list_hotspots(
    runtime: Runtime, user: StaffUser, flt: HotspotFilter, *, route: str
) -> HotspotCollection:
    w, s, e, n = flt.bbox or (None, None, None, None)
    since = (
        dt.datetime.now(dt.UTC) - dt.timedelta(days=flt.window_days)
        if flt.window_days is not None
        else None
    )
    params = {
        "statuses": ["active", "retired"] if flt.include_retired else ["active"],
        "layer": flt.layer,
        "authority": flt.authority,
        "team": flt.team,
        "min_size": flt.min_size,
        "active_since": since,
        "bbox_w": w,
        "bbox_s": s,
        "bbox_e": e,
        "bbox_n": n,
        "limit": flt.limit,
        **access.params_of(user),
    }
    async with transaction(runtime.sessions) as session:
        rows = await repo.list_hotspots(session, params)
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="list",
            subject_type="hotspots",
            subject_id="*",
            route=route,
            detail={"filters": msgspec.structs.asdict(flt), "returned": len(rows)},
        )
    return HotspotCollection(features=[_feature(r) for r in rows])


def _member(row: dict[str, Any]) -> HotspotMemberOut:
    kind = row["kind"]
    href = f"/v1/referrals/{row['id']}" if kind == "referral" else f"/v1/contacts/{row['id']}"
    return msgspec.convert({**row, "href": href}, HotspotMemberOut, from_attributes=True)


async def read_hotspot(
    runtime: Runtime, user: StaffUser, hotspot_id: int, *, route: str
) -> HotspotDetail:
    async with transaction(runtime.sessions) as session:
        row = await repo.get(session, hotspot_id, access.params_of(user))
        if row is None:
            raise NotFoundError("no such hotspot in your area")
        members = await repo.members(session, hotspot_id)
        shown = [m for m in members if access.sees(user, m)]
        hidden = int(row["hidden_members"])
        history = await repo.events(session, hotspot_id)
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="read",
            subject_type="hotspot",
            subject_id=str(hotspot_id),
            route=route,
            detail={"members_shown": len(shown), "members_hidden": hidden},
        )
    return HotspotDetail(
        feature=_feature(row),
        members=[_member(m) for m in shown],
        hidden_members=hidden,
        history=[msgspec.convert(h, HotspotEventOut) for h in history],
    )
