"""Wire types for hotspots: GeoJSON features with per-layer counts, members and history."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from service.schemas.geojson import Geometry, Point
from service.vocabularies import HotspotEventKind, HotspotLayer, HotspotStatus, MemberKind


class HotspotProperties(msgspec.Struct, frozen=True, kw_only=True):
    layer: HotspotLayer
    status: HotspotStatus
    member_count: int
    core_count: int
    referral_count: int
    contact_count: int
    bedded_down_count: int
    """Counts of the members you may see when some are hidden (``hidden_members`` > 0)."""
    first_activity_at: dt.datetime | None
    """When some members are hidden: of the visible members, to the UTC day."""
    last_activity_at: dt.datetime | None
    authority_code: str | None
    team_id: int | None
    successor_id: int | None
    hull: Geometry | None
    """The convex hull of the members (a Point or LineString when they are collinear);
    ``null`` when some members are hidden from you."""
    hidden_members: int
    """Members outside your scope: counted in ``member_count``, nothing else shows them."""


class HotspotFeature(msgspec.Struct, frozen=True, kw_only=True, tag="Feature"):
    id: int
    geometry: Point | None
    """The centroid of the members; when some are hidden from you, the centre of the 1 km
    grid square holding the centroid of those you may see (``null`` if you see none)."""
    properties: HotspotProperties


class HotspotCollection(msgspec.Struct, frozen=True, kw_only=True, tag="FeatureCollection"):
    features: list[HotspotFeature]


class HotspotMemberOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: MemberKind
    id: uuid.UUID
    core: bool
    at: dt.datetime
    """When the person was seen (referral) or the contact took place."""
    lon: float
    lat: float
    reference: str | None = None
    status: str | None = None
    urgent: bool | None = None
    bedded_down: bool | None = None
    contact_type: str | None = None
    engagement: str | None = None
    href: str


class HotspotEventOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: HotspotEventKind
    related: list[int]
    at: dt.datetime
    run_id: int | None


class HotspotDetail(msgspec.Struct, frozen=True, kw_only=True):
    feature: HotspotFeature
    members: list[HotspotMemberOut]
    hidden_members: int
    """Members outside your scope (another team's contacts): counted, not shown."""
    history: list[HotspotEventOut]


class LayerRunOut(msgspec.Struct, frozen=True, kw_only=True):
    points: int
    hotspots: int
    born: int
    retired: int
    splits: int
    merges: int


class RecomputeOut(msgspec.Struct, frozen=True, kw_only=True):
    ran: bool
    reason: str
    run_id: int | None
    duration_ms: float
    layers: dict[str, LayerRunOut]
