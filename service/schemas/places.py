"""Wire types for the gazetteer search (``GET /v1/places/search``)."""

from __future__ import annotations

import msgspec

from service.schemas.areas import AuthorityRef
from service.vocabularies import GazetteerKind


class PlaceResult(msgspec.Struct, frozen=True, kw_only=True):
    """One gazetteer entry: a postcode, a town or village, a street or another named place."""

    kind: GazetteerKind
    name: str
    """The postcode (``CM1 1AA``) or the name as the gazetteer spells it."""
    context: str | None
    """Where it is, for telling names apart (the town of a street); ``None`` for postcodes."""
    lon: float
    lat: float
    accuracy_m: float
    """How far from the point the place may extend (a postcode's addresses, a town's size)."""
    authority: AuthorityRef | None
    """The Greater Essex authority covering the point (``None`` outside them)."""


class PlaceSearch(msgspec.Struct, frozen=True, kw_only=True):
    """Search answers come from the imported gazetteer only, never from anyone's reports."""

    query: str
    results: list[PlaceResult]
    gazetteer_loaded: bool
    note: str | None
    """Why there can be no answers (no gazetteer imported), or ``None``."""
