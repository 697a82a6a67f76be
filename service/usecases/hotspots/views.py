"""Reading hotspots: the GeoJSON list with filters and one hotspot with its members.

Staff only (there is no public map). Anyone sees their teams' hotspots, coordinators those in
their authorities, admins all: the same rule in the list, one hotspot and the map tiles. A
hotspot's members are shown one by one only where the caller may see that referral or
contact; the others are counted. Every read is audited: the list as one row (with the
filters and how many came back), a hotspot with its members as one.
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


def _feature(row: dict[str, Any]) -> HotspotFeature:
    props = {k: v for k, v in row.items() if k not in ("id", "geometry")}
    props["hull"] = decode_geometry(row["hull"])
    return msgspec.convert(
        {"id": row["id"], "geometry": decode_geometry(row["geometry"]), "properties": props},
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
        **access.params(access.scope_of(user)),
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
        row = await repo.get(session, hotspot_id)
        if row is None or not access.sees(user, row):
            raise NotFoundError("no such hotspot in your area")
        members = await repo.members(session, hotspot_id)
        shown = [m for m in members if access.sees(user, m)]
        history = await repo.events(session, hotspot_id)
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="read",
            subject_type="hotspot",
            subject_id=str(hotspot_id),
            route=route,
            detail={"members_shown": len(shown), "members_hidden": len(members) - len(shown)},
        )
    return HotspotDetail(
        feature=_feature(row),
        members=[_member(m) for m in shown],
        hidden_members=len(members) - len(shown),
        history=[msgspec.convert(h, HotspotEventOut) for h in history],
    )
