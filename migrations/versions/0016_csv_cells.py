"""exports: csv_cell(), one CSV cell written by the database

A CSV export's rows are written as lines by PostgreSQL (``service/db/exports.py``), not cell by
cell in the app: on a year of England (``bench.national``, 500,000 contacts) the app spent
17 us a row in ``cell()`` and the ``csv`` module, 20,000-34,000 rows a second, each batch of
1,000 rows holding the worker's event loop for about 17 ms. These functions are the twin of
``service.usecases.figures.exports.cell`` and ``encode_rows``: the same bytes, checked value by
value and export by export in ``tests/integration/test_exports.py``:

* text: a leading ``= + - @``, tab, CR or ``'`` gets a ``'`` (spreadsheet formulas are defused,
  ``streetlink.foreign.escape_spreadsheet_text``), then the cell is quoted when it holds a
  comma, a double quote, CR or LF (quotes doubled), as Python's ``csv.QUOTE_MINIMAL``;
* true/false; numbers as PostgreSQL prints them, a float that prints as a whole number with
  ``.0`` (as Python's ``str``; it needs ``extra_float_digits`` >= 1, the default since
  PostgreSQL 12, which the export sets); times in UTC as ``datetime.isoformat()``;
* NULL is the empty cell.

Each is one SQL expression, so the planner inlines it (a function it cannot inline cost 24 us a
call). Lists (JSON arrays) are written by the export's own query: a function that reads its
argument's elements cannot be inlined.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FORMULA_START = "('=', '+', '-', '@', E'\\t', E'\\r', '''')"

# csv_quote(csv_escape(value)), written out: nested, the planner would not inline it (its
# argument is used six times), and a cell cost 1.2 us instead of 0.3.
TEXT = f"""
    SELECT CASE
        WHEN value IS NULL THEN ''
        WHEN strpos(value, '"') > 0 OR strpos(value, ',') > 0
          OR strpos(value, E'\\n') > 0 OR strpos(value, E'\\r') > 0
        THEN '"' || replace(CASE WHEN left(value, 1) IN {FORMULA_START}
                                 THEN '''' || value ELSE value END, '"', '""') || '"'
        WHEN left(value, 1) IN {FORMULA_START} THEN '''' || value
        ELSE value END
"""

FUNCTIONS: dict[str, tuple[str, str]] = {
    # signature: (volatility, body)
    "csv_escape(value text)": (
        "IMMUTABLE",
        f"SELECT CASE WHEN left(value, 1) IN {FORMULA_START} THEN '''' || value ELSE value END",
    ),
    "csv_quote(value text)": (
        "IMMUTABLE",
        """SELECT CASE WHEN value IS NULL THEN ''
                WHEN strpos(value, '"') > 0 OR strpos(value, ',') > 0
                  OR strpos(value, E'\\n') > 0 OR strpos(value, E'\\r') > 0
                THEN '"' || replace(value, '"', '""') || '"'
                ELSE value END""",
    ),
    "csv_cell(value text)": ("IMMUTABLE", TEXT),
    "csv_cell(value boolean)": (
        "IMMUTABLE",
        "SELECT CASE WHEN value THEN 'true' WHEN NOT value THEN 'false' ELSE '' END",
    ),
    **{
        f"csv_cell(value {kind})": ("IMMUTABLE", "SELECT coalesce(CAST(value AS text), '')")
        for kind in ("smallint", "integer", "bigint", "numeric", "uuid")
    },
    # float8out depends on extra_float_digits, to_char on nothing the export does not fix:
    # STABLE (an IMMUTABLE function calling a STABLE one is never inlined)
    "csv_cell(value double precision)": (
        "STABLE",
        """SELECT CASE WHEN value IS NULL THEN ''
                WHEN strpos(CAST(value AS text), '.') > 0 OR strpos(CAST(value AS text), 'e') > 0
                  OR value IN ('NaN', 'Infinity', '-Infinity')
                THEN CAST(value AS text)
                ELSE CAST(value AS text) || '.0' END""",
    ),
    "csv_cell(value timestamptz)": (
        "STABLE",
        """SELECT CASE WHEN value IS NULL THEN ''
                ELSE to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                     || CASE WHEN to_char(value, 'US') = '000000' THEN ''
                             ELSE to_char(value, '.US') END
                     || '+00:00' END""",
    ),
}


def _types(signature: str) -> str:
    """``csv_cell(value text)`` -> ``csv_cell(text)``."""
    name, _, args = signature.partition("(")
    return f"{name}({args.removeprefix('value ')}"


def upgrade() -> None:
    for signature, (volatility, body) in FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {signature} RETURNS text "
            f"LANGUAGE sql {volatility} PARALLEL SAFE AS $$ {body} $$"
        )
    op.execute(
        "COMMENT ON FUNCTION csv_cell(text) IS "
        "'One CSV cell, as service.usecases.figures.exports.cell writes it'"
    )


def downgrade() -> None:
    for signature in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {_types(signature)}")
