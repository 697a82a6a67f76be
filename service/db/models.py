"""SQLAlchemy 2 / GeoAlchemy2 models. The schema itself is built by the Alembic migrations;
a test checks that these models and the migrations agree.

Geometry is stored in SRID 4326 for the API and copied to British National Grid (27700) in a
generated column for metric work; both carry GiST indexes.
"""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def geometry(kind: str, srid: int) -> Geometry:
    """A geometry column type; indexes are declared explicitly, not by GeoAlchemy2."""
    return Geometry(kind, srid=srid, spatial_index=False)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BoundaryVersion(Base):
    """One loaded set of authority boundaries; exactly one is current."""

    __tablename__ = "boundary_versions"
    __table_args__ = (
        Index(
            "uq_boundary_versions_current",
            "is_current",
            unique=True,
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    approximate: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_current: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Authority(Base):
    """A local authority's boundary in one boundary version."""

    __tablename__ = "authorities"
    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        CheckConstraint(
            "kind IN ('district', 'unitary', 'metropolitan', "
            "'london_borough', 'council_area', 'other')",
            name="kind",
        ),
        Index("ix_authorities_geom", "geom", postgresql_using="gist"),
        Index("ix_authorities_geom_bng", "geom_bng", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("boundary_versions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    geom = mapped_column(geometry("MULTIPOLYGON", 4326), nullable=False)
    geom_bng = mapped_column(
        geometry("MULTIPOLYGON", 27700), Computed("ST_Transform(geom, 27700)", persisted=True)
    )


class AuthorityPart(Base):
    """``ST_Subdivide``d pieces of each boundary: fast point-in-polygon in SQL (as mapit)."""

    __tablename__ = "authority_parts"
    __table_args__ = (
        Index("ix_authority_parts_geom", "geom", postgresql_using="gist"),
        Index("ix_authority_parts_geom_bng", "geom_bng", postgresql_using="gist"),
        Index("ix_authority_parts_authority_id", "authority_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id", ondelete="CASCADE"))
    geom = mapped_column(geometry("POLYGON", 4326), nullable=False)
    geom_bng = mapped_column(
        geometry("POLYGON", 27700), Computed("ST_Transform(geom, 27700)", persisted=True)
    )


class Team(Base):
    """An outreach team: where it starts from, when it goes out, how many visits a shift."""

    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint("shift_capacity >= 0", name="shift_capacity"),
        Index("ix_teams_base_bng", "base_bng", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    base = mapped_column(geometry("POINT", 4326), nullable=False)
    base_bng = mapped_column(
        geometry("POINT", 27700), Computed("ST_Transform(base, 27700)", persisted=True)
    )
    shift_capacity: Mapped[int] = mapped_column(Integer)
    shift_start: Mapped[dt.time] = mapped_column(Time)
    shift_end: Mapped[dt.time] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class TeamArea(Base):
    """Which authorities (by ONS code, stable across boundary versions) a team covers."""

    __tablename__ = "team_areas"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    authority_code: Mapped[str] = mapped_column(String(9), primary_key=True, index=True)


class SwepState(Base):
    """Severe Weather Emergency Protocol, switched on per authority."""

    __tablename__ = "swep_states"

    authority_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    changed_by: Mapped[str | None] = mapped_column(String(200))
