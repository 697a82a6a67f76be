"""PostGIS, boundary versions, authorities (with subdivided parts), teams, SWEP.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def geom(kind: str, srid: int) -> Geometry:
    return Geometry(kind, srid=srid, spatial_index=False)


def bng_copy(kind: str, source: str) -> sa.Column:
    return sa.Column(
        f"{source}_bng" if source != "geom" else "geom_bng",
        geom(kind, 27700),
        sa.Computed(f"ST_Transform({source}, 27700)", persisted=True),
        nullable=True,
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "boundary_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("approximate", sa.Boolean, server_default=sa.text("false"), nullable=False),
        sa.Column("is_current", sa.Boolean, server_default=sa.text("false"), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_boundary_versions"),
    )
    op.create_index(
        "uq_boundary_versions_current",
        "boundary_versions",
        ["is_current"],
        unique=True,
        postgresql_where=sa.text("is_current"),
    )
    op.create_table(
        "authorities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(9), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON", 4326), nullable=False),
        bng_copy("MULTIPOLYGON", "geom"),
        sa.PrimaryKeyConstraint("id", name="pk_authorities"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["boundary_versions.id"],
            ondelete="CASCADE",
            name="fk_authorities_version_id_boundary_versions",
        ),
        sa.UniqueConstraint("version_id", "code", name="uq_authorities_version_id_code"),
        sa.CheckConstraint(
            "kind IN ('district', 'unitary', 'metropolitan', 'london_borough', "
            "'council_area', 'other')",
            name="ck_authorities_kind",
        ),
    )
    op.create_index("ix_authorities_geom", "authorities", ["geom"], postgresql_using="gist")
    op.create_index("ix_authorities_geom_bng", "authorities", ["geom_bng"], postgresql_using="gist")
    op.create_table(
        "authority_parts",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("authority_id", sa.Integer, nullable=False),
        sa.Column("geom", geom("POLYGON", 4326), nullable=False),
        bng_copy("POLYGON", "geom"),
        sa.PrimaryKeyConstraint("id", name="pk_authority_parts"),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            ondelete="CASCADE",
            name="fk_authority_parts_authority_id_authorities",
        ),
    )
    op.create_index("ix_authority_parts_geom", "authority_parts", ["geom"], postgresql_using="gist")
    op.create_index(
        "ix_authority_parts_geom_bng", "authority_parts", ["geom_bng"], postgresql_using="gist"
    )
    op.create_index("ix_authority_parts_authority_id", "authority_parts", ["authority_id"])
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("base", geom("POINT", 4326), nullable=False),
        bng_copy("POINT", "base"),
        sa.Column("shift_capacity", sa.Integer, nullable=False),
        sa.Column("shift_start", sa.Time, nullable=False),
        sa.Column("shift_end", sa.Time, nullable=False),
        sa.Column("active", sa.Boolean, server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.UniqueConstraint("name", name="uq_teams_name"),
        sa.CheckConstraint("shift_capacity >= 0", name="ck_teams_shift_capacity"),
    )
    op.create_index("ix_teams_base_bng", "teams", ["base_bng"], postgresql_using="gist")
    op.create_table(
        "team_areas",
        sa.Column("team_id", sa.Integer, nullable=False),
        sa.Column("authority_code", sa.String(9), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "authority_code", name="pk_team_areas"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], ondelete="CASCADE", name="fk_team_areas_team_id_teams"
        ),
    )
    op.create_index("ix_team_areas_authority_code", "team_areas", ["authority_code"])
    op.create_table(
        "swep_states",
        sa.Column("authority_code", sa.String(9), nullable=False),
        sa.Column("active", sa.Boolean, server_default=sa.text("false"), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("changed_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("authority_code", name="pk_swep_states"),
    )


def downgrade() -> None:
    for table in (
        "swep_states",
        "team_areas",
        "teams",
        "authority_parts",
        "authorities",
        "boundary_versions",
    ):
        op.drop_table(table)
