"""access rule: staff_may_see(), the one visibility rule every scoped query calls

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

The Python twin is ``service.access.may_see``; tests/integration/test_access.py checks that
the two agree on every combination. A plain SQL function with one expression, IMMUTABLE and
not STRICT, is inlined by the planner, so ``team_id = ANY(...)`` and
``authority_code = ANY(...)`` still use their indexes (which is also why it is not wrapped in
COALESCE: it may answer NULL, which means no; write ``IS NOT TRUE`` for "hidden").
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION staff_may_see(
    scope_all boolean, scope_coordinator boolean, scope_teams integer[], scope_codes text[],
    authority_code text, team_id integer
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT scope_all
        OR team_id = ANY(scope_teams)
        OR (scope_coordinator AND (authority_code = ANY(scope_codes)
                                   OR (authority_code IS NULL AND team_id IS NULL)))
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(
        "COMMENT ON FUNCTION staff_may_see(boolean, boolean, integer[], text[], text, integer) "
        "IS 'Who may see a record: see service/access.py'"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION staff_may_see(boolean, boolean, integer[], text[], text, integer)")
