"""Wire types for areas, lookups, teams and health."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from service.schemas.geojson import Geometry

Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90, description="WGS84 latitude")]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180, description="WGS84 longitude")]
LocalTime = Annotated[
    dt.time,
    msgspec.Meta(
        # Litestar documents ``time`` as an ISO 8601 duration; it is a clock time, no offset.
        extra_json_schema={
            "description": "Local time of day in Europe/London, HH:MM:SS",
            "extra": {"format": None, "pattern": r"^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"},
        }
    ),
]


class AreaProperties(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    kind: str
    boundary_version: int
    boundary_label: str
    approximate: bool
    attribution: str | None
    """The licence statement to show with these boundaries (ONS: Open Government Licence v3)."""
    team_ids: list[int]
    swep_active: bool
    """Severe Weather Emergency Protocol is on: everyone sleeping rough is offered a bed."""


class AreaFeature(msgspec.Struct, frozen=True, kw_only=True, tag="Feature"):
    id: str
    geometry: Geometry
    properties: AreaProperties


class AreaCollection(msgspec.Struct, frozen=True, kw_only=True, tag="FeatureCollection"):
    features: list[AreaFeature]


class AuthorityRef(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    kind: str


class TeamRef(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    distance_m: float


class AreaLookup(msgspec.Struct, frozen=True, kw_only=True):
    authority: AuthorityRef
    also_on_boundary_of: list[AuthorityRef]
    boundary_version: int | None
    approximate: bool
    attribution: str | None
    """The licence statement to show with the boundaries used (ONS: Open Government Licence)."""
    teams: list[TeamRef]


class Team(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    base_lon: float
    base_lat: float
    shift_capacity: int
    shift_start: LocalTime
    shift_end: LocalTime
    active: bool
    covers: list[str]


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"]


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ready"]
    database: Literal["ok"]
    migration: str
    boundary_version: int | None
