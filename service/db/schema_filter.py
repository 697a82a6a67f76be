"""Which database objects belong to our schema, for Alembic's autogenerate and comparison."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import alembic_helpers


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Skip PostGIS's own tables (``spatial_ref_sys``, topology, tiger…): they are not ours."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    keep = alembic_helpers.include_object(obj, name, type_, reflected, compare_to)  # type: ignore[no-untyped-call]
    return bool(keep)
