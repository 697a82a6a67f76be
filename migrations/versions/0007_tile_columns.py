"""tiles: Web Mercator copies of referral and contact points, with GiST indexes

Vector tiles are cut in Web Mercator (EPSG:3857). A stored, generated copy of each point in
that projection lets a tile query find its points with the index on that copy and hand them to
ST_AsMVTGeom without transforming every point on every request (bench/tiles.py compares the
two: columns ``sql`` and ``4326``).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def _mercator() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "geom_mercator",
        Geometry(
            geometry_type="POINT",
            srid=3857,
            dimension=2,
            spatial_index=False,
            from_text="ST_GeomFromEWKT",
            name="geometry",
        ),
        sa.Computed("ST_Transform(geom, 3857)", persisted=True),
        nullable=True,
    )


def upgrade() -> None:
    for table in ("referrals", "contacts"):
        op.add_column(table, _mercator())
        op.create_index(
            f"ix_{table}_geom_mercator",
            table,
            ["geom_mercator"],
            unique=False,
            postgresql_using="gist",
        )


def downgrade() -> None:
    for table in ("contacts", "referrals"):
        op.drop_index(f"ix_{table}_geom_mercator", table_name=table, postgresql_using="gist")
        op.drop_column(table, "geom_mercator")
