"""gazetteer (postcodes, OS Open Names), how referrals were located, boundary attribution

* ``gazetteer_postcodes`` and ``gazetteer_names``: the imported ONS Postcode Directory (or
  Code-Point Open) and OS Open Names, searched by prefix (btree ``text_pattern_ops``) and by
  trigram distance (``pg_trgm`` GiST, nearest first). ``pg_trgm`` is a trusted extension:
  the database owner may create it without being a superuser.
* ``referrals.located_by`` and ``referrals.location_accuracy_m``: how the position was found
  (``pin``, ``postcode``, ``place``, ``coordinator``) and how far off it may be. Added with
  ``IF NOT EXISTS``: the triage work (issue 16) may add the same columns.
* ``boundary_versions.attribution``: the licence statement a boundary version needs shown.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

LOCATED_BY = ("pin", "postcode", "place", "coordinator")
KINDS = ("postcode", "place", "street", "other")


def _point() -> Geometry:
    return Geometry("POINT", srid=4326, spatial_index=False)


def _located_by_check() -> None:
    listed = ", ".join(f"'{v}'" for v in LOCATED_BY)
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ck_referrals_located_by')
            THEN
                ALTER TABLE referrals ADD CONSTRAINT ck_referrals_located_by
                    CHECK (located_by IS NULL OR located_by IN ({listed}));
            END IF;
        END $$
        """
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column("boundary_versions", sa.Column("attribution", sa.Text(), nullable=True))

    op.execute("ALTER TABLE referrals ADD COLUMN IF NOT EXISTS located_by text")
    op.execute("ALTER TABLE referrals ADD COLUMN IF NOT EXISTS location_accuracy_m real")
    op.execute(
        "UPDATE referrals SET located_by = 'pin', location_accuracy_m = accuracy_m "
        "WHERE located_by IS NULL AND geom IS NOT NULL"
    )
    _located_by_check()

    op.create_table(
        "gazetteer_postcodes",
        sa.Column("postcode", sa.Text(), nullable=False),
        sa.Column("postcode_key", sa.Text(), nullable=False),
        sa.Column("authority_code", sa.String(9), nullable=True),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("accuracy_m", sa.REAL(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("postcode_key", name="pk_gazetteer_postcodes"),
    )
    op.create_index(
        "ix_gazetteer_postcodes_postcode_key_prefix",
        "gazetteer_postcodes",
        ["postcode_key"],
        postgresql_ops={"postcode_key": "text_pattern_ops"},
    )
    op.create_index(
        "ix_gazetteer_postcodes_postcode_prefix",
        "gazetteer_postcodes",
        ["postcode"],
        postgresql_ops={"postcode": "text_pattern_ops"},
    )
    op.create_table(
        "gazetteer_names",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.Column("local_type", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("postcode_district", sa.Text(), nullable=True),
        sa.Column("authority_code", sa.String(9), nullable=True),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("accuracy_m", sa.REAL(), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gazetteer_names"),
        sa.CheckConstraint(
            "kind IN ({})".format(", ".join(f"'{k}'" for k in KINDS)),
            name=op.f("ck_gazetteer_names_kind"),
        ),
    )
    op.create_index("ix_gazetteer_names_name_key", "gazetteer_names", ["name_key"])
    op.create_index(
        "ix_gazetteer_names_search_key_prefix",
        "gazetteer_names",
        ["search_key"],
        postgresql_ops={"search_key": "text_pattern_ops"},
    )
    op.create_index(
        "ix_gazetteer_names_name_key_trgm",
        "gazetteer_names",
        ["name_key"],
        postgresql_using="gist",
        postgresql_ops={"name_key": "gist_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_table("gazetteer_names")
    op.drop_table("gazetteer_postcodes")
    op.execute("ALTER TABLE referrals DROP CONSTRAINT IF EXISTS ck_referrals_located_by")
    op.execute("ALTER TABLE referrals DROP COLUMN IF EXISTS location_accuracy_m")
    op.execute("ALTER TABLE referrals DROP COLUMN IF EXISTS located_by")
    op.drop_column("boundary_versions", "attribution")
