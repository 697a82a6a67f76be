"""SQL lives in ``service/db/`` (CONVENTIONS.md): no other module of ``service/`` writes SQL or
sends it to the database, and ``geo/`` and ``streetlink/`` have none at all. No database.

The check reads the source with :mod:`ast` and reports, as ``path:line: what``:

- an import of SQL-building names from SQLAlchemy or GeoAlchemy (``text``, ``select``,
  ``func``…; only ``sqlalchemy.exc`` errors and ``sqlalchemy.ext.asyncio`` session types may
  be imported, to classify errors and to pass sessions on), or of the ``.sql`` file loader;
- a call that sends a statement (``.execute(…)``, ``.exec_driver_sql(…)``, asyncpg's
  ``.fetch(…)``…), or of what was imported from those libraries (``text(…)``,
  ``sa.select(…)``);
- a string literal (or f-string) that starts like a statement:
  ``SELECT … FROM``, ``INSERT INTO``, ``UPDATE … SET``, ``DELETE FROM``, ``WITH x AS (``…
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("service", "geo", "streetlink")
SQL_HOME = Path("service", "db")

SQL_LIBRARIES = ("sqlalchemy", "geoalchemy2")
# SQLAlchemy modules whose names carry no SQL: errors to classify, session types to pass on.
HARMLESS_SQLALCHEMY = ("sqlalchemy.exc", "sqlalchemy.ext.asyncio")
SQL_FILE_LOADER = "service.db.engine"  # its ``sql`` reads service/db/sql/*.sql
STATEMENT_CALLS = {
    "execute",
    "executemany",
    "exec_driver_sql",
    "fetch",
    "fetchrow",
    "fetchval",
    "copy_records_to_table",
    "copy_to_table",
    "copy_from_query",
    "copy_from_table",
}
# Upper case, as every statement in this code base is written; English prose does not match.
SQL_START = re.compile(
    r"""^\s*(?:
        SELECT\b[\s\S]*\bFROM\b
      | SELECT\s+(?:\d|\*|[A-Za-z_][\w.]*\s*\()
      | INSERT\s+INTO\b
      | UPDATE\s+[\w.]+\s[\s\S]*\bSET\b
      | DELETE\s+FROM\b
      | WITH\s+(?:RECURSIVE\s+)?\w+(?:\s*\([\w\s,]*\))?\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(
      | (?:CREATE|DROP|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?
        (?:TABLE|INDEX|VIEW|FUNCTION|TRIGGER|EXTENSION|SCHEMA|SEQUENCE|TYPE|MATERIALIZED)\b
      | TRUNCATE\b
      | (?:LISTEN|NOTIFY|LOCK\s+TABLE)\s+\w
    )""",
    re.VERBOSE,
)


def _is_sql_library(module: str) -> bool:
    """A module of SQLAlchemy or GeoAlchemy that can build SQL."""
    in_library = any(module == lib or module.startswith(lib + ".") for lib in SQL_LIBRARIES)
    return in_library and module not in HARMLESS_SQLALCHEMY


def _import_problems(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if _is_sql_library(alias.name):
                yield f"imports {alias.name}"
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if _is_sql_library(node.module):
            names = ", ".join(a.name for a in node.names)
            yield f"imports {names} from {node.module}"
        elif node.module == SQL_FILE_LOADER and any(a.name == "sql" for a in node.names):
            yield f"imports the SQL file loader sql from {node.module}"


def _sql_library_names(tree: ast.AST) -> set[str]:
    """The local names bound to SQL libraries or to what was imported from them."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound.update(
                (a.asname or a.name).split(".")[0] for a in node.names if _is_sql_library(a.name)
            )
        elif isinstance(node, ast.ImportFrom) and node.module and _is_sql_library(node.module):
            bound.update(a.asname or a.name for a in node.names)
    return bound


def _root_name(func: ast.expr) -> str | None:
    while isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else None


def _call_problems(node: ast.AST, library_names: set[str]) -> Iterator[str]:
    if not isinstance(node, ast.Call):
        return
    if isinstance(node.func, ast.Attribute) and node.func.attr in STATEMENT_CALLS:
        yield f"sends a statement with .{node.func.attr}()"
    elif _root_name(node.func) in library_names:
        yield f"builds SQL with {ast.unparse(node.func)}()"


def _string_problems(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.JoinedStr):  # each {…} read as a name
        text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    else:
        return
    if isinstance(text, str) and SQL_START.match(text):
        statement = " ".join(text.split())[:40]
        yield f"SQL in a string: {statement!r}"


def sql_problems(source: str) -> list[tuple[int, str]]:
    """Every place in this Python source that writes SQL or sends it, as (line, what).

    >>> for problem in sql_problems('from sqlalchemy import text\\nq = text("SELECT 1")'):
    ...     print(problem)
    (1, 'imports text from sqlalchemy')
    (2, "SQL in a string: 'SELECT 1'")
    (2, 'builds SQL with text()')
    >>> sql_problems('from sqlalchemy.exc import DBAPIError\\nname = "Select a team from the list"')
    []
    """
    tree = ast.parse(source)
    library_names = _sql_library_names(tree)
    inner: set[int] = set()  # the parts of an f-string are checked with it, not again
    problems: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inner.update(id(part) for part in node.values)
        if id(node) in inner:
            continue
        found = [*_import_problems(node), *_call_problems(node, library_names)]
        found += _string_problems(node)
        problems.extend((getattr(node, "lineno", 0), what) for what in found)
    return sorted(problems)


def scanned_files() -> list[Path]:
    files = [path for top in SCANNED for path in sorted((ROOT / top).rglob("*.py"))]
    return [p for p in files if not p.relative_to(ROOT).is_relative_to(SQL_HOME)]


def test_sql_lives_only_in_service_db() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in scanned_files()
        for line, what in sql_problems(path.read_text(encoding="utf-8"))
    ]
    assert not found, "SQL outside service/db/ (move it to a repository function there):\n" + (
        "\n".join(found)
    )


def test_the_scan_covers_the_code_but_not_service_db() -> None:
    names = {str(p.relative_to(ROOT)) for p in scanned_files()}
    assert {
        "service/app.py",
        "service/usecases/operations/retention.py",
        "geo/clustering.py",
    } <= names
    assert "streetlink/normalise.py" in names
    assert not any(name.startswith("service/db/") for name in names)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('from sqlalchemy import text\nq = text("SELECT 1")', "imports text from sqlalchemy"),
        ("import sqlalchemy as sa\nq = sa.text(x)", "imports sqlalchemy"),
        ("import sqlalchemy as sa\nq = sa.text(x)", "builds SQL with sa.text()"),
        ("from sqlalchemy import text as t\nq = t(x)", "builds SQL with t()"),
        ("import sqlalchemy.sql\nq = sqlalchemy.sql.select(x)", "builds SQL with sqlalchemy.sql"),
        ("from sqlalchemy.sql import func", "imports func from sqlalchemy.sql"),
        ("from geoalchemy2 import functions", "imports functions from geoalchemy2"),
        ("from service.db.engine import sql, transaction", "imports the SQL file loader"),
        ("await session.execute(q, {})", "sends a statement with .execute()"),
        ("await conn.fetchrow(q)", "sends a statement with .fetchrow()"),
        ("await conn.exec_driver_sql(q)", "sends a statement with .exec_driver_sql()"),
        ('q = "SELECT id FROM referrals WHERE id = :id"', "SQL in a string: 'SELECT id FROM"),
        ('q = "SELECT pg_try_advisory_xact_lock(:k)"', "SQL in a string: 'SELECT pg_try"),
        ('q = (\n    "DELETE FROM kv_store "\n    "WHERE x")', "SQL in a string: 'DELETE FROM kv"),
        ('q = "INSERT INTO users (id) VALUES (1)"', "SQL in a string: 'INSERT INTO"),
        ('q = "  UPDATE referrals SET status = :s"', "SQL in a string: 'UPDATE referrals"),
        ('q = """\n  WITH old AS (SELECT 1)\n"""', "SQL in a string: 'WITH old AS"),
        ('q = f"SELECT {COLUMNS} FROM contacts c"', "SQL in a string: 'SELECT"),
        ('q = "CREATE INDEX ix ON t (a)"', "SQL in a string: 'CREATE INDEX"),
    ],
)
def test_each_kind_of_sql_is_found(source: str, expected: str) -> None:
    problems = sql_problems(source)
    assert problems, source
    assert any(what.startswith(expected) for _, what in problems), problems


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy.exc import DBAPIError, IntegrityError",
        "import sqlalchemy.exc\nraise sqlalchemy.exc.IntegrityError(a, b, c)",
        "from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker",
        "import asyncpg\nconn = await asyncpg.connect(dsn)\nawait conn.add_listener(c, f)",
        "from service.db.engine import constraint_name, transaction",
        "data = json.loads(path.read_text(encoding='utf-8'))",
        "value = clean_text(raw, max_length=10)",
        'msg = "Select a team from the list, then update the plan to set a time"',
        'msg = "Delete from your device after use"',
        'msg = "with the team as (usual) lead"',
        "values.update(x=1)",
    ],
)
def test_code_without_sql_passes(source: str) -> None:
    assert sql_problems(source) == []
