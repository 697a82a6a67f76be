"""The migrations' CHECK constraints, read back from the migrated database, hold exactly the
values of the vocabularies in ``service.vocabularies`` that the models build them from.

The migrations keep the values they were written with; a value added to (or removed from) a
vocabulary without a migration fails here.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import CheckConstraint

from service.db.models import Base
from tests.conftest import run_sql, url_for_database

#: A list of values in a CHECK as PostgreSQL prints it back: ``col = ANY (ARRAY['a'::text, …])``
#: (``ARRAY['a'::character varying, …]::text[]`` for varchar columns) or ``col IN ('a', …)``.
_LIST = re.compile(r"ARRAY\[(?P<array>[^\]]*)\]|\bIN \((?P<in>[^)]*)\)")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")

#: Every CHECK of the public schema, with the columns it reads (joined with commas: checks
#: over one column are the ones that can enumerate a vocabulary).
CHECKS_SQL = """
SELECT cls.relname AS table_name,
       (SELECT string_agg(att.attname, ',' ORDER BY att.attname)
          FROM pg_attribute att
         WHERE att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)) AS columns,
       pg_get_constraintdef(con.oid) AS def
FROM pg_constraint con
JOIN pg_class cls ON cls.oid = con.conrelid
JOIN pg_namespace nsp ON nsp.oid = cls.relnamespace
WHERE con.contype = 'c' AND nsp.nspname = 'public'
"""


def listed_values(definition: str) -> frozenset[str] | None:
    """The values a CHECK enumerates, or ``None`` when it enumerates none.

    >>> sorted(listed_values(
    ...     "CHECK (((role)::text = ANY ((ARRAY['worker'::character varying, "
    ...     "'admin'::character varying])::text[])))"))
    ['admin', 'worker']
    >>> sorted(listed_values("CHECK ((outcome IS NULL) OR (outcome IN ('a', 'it''s')))"))
    ['a', "it's"]
    >>> listed_values("CHECK ((status = 'closed') = (outcome IS NOT NULL))") is None
    True
    """
    found = [m.group("array") or m.group("in") for m in _LIST.finditer(definition)]
    if not found:
        return None
    return frozenset(v.replace("''", "'") for part in found for v in _QUOTED.findall(part))


def model_vocabularies() -> dict[tuple[str, str], tuple[str, ...]]:
    """``(table, column)`` -> the vocabulary each model CHECK was built from.

    Keyed by column, not by name: migration 0001 named the authorities' check
    ``ck_authorities_ck_authorities_kind`` (the naming convention applied twice)."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for table in Base.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and "vocabulary" in constraint.info:
                found[(table.name, constraint.info["column"])] = constraint.info["vocabulary"]
    return found


@pytest.fixture(scope="module")
def database_checks(template_db: str) -> dict[tuple[str, str], str]:
    tables = set(Base.metadata.tables)
    found: dict[tuple[str, str], str] = {}
    for row in run_sql(url_for_database(template_db), CHECKS_SQL):
        if row["table_name"] in tables and listed_values(row["def"]):
            key = (row["table_name"], row["columns"])
            assert key not in found, f"two CHECKs list values of {key}"
            found[key] = row["def"]
    return found


def test_every_enumerating_check_in_the_database_is_a_vocabulary(database_checks):
    """A CHECK that lists values and is not built from a vocabulary would be a second copy."""
    vocabularies = model_vocabularies()
    assert set(database_checks) - set(vocabularies) == set()
    assert set(vocabularies) - set(database_checks) == set()


def test_database_checks_hold_exactly_the_vocabularies(database_checks):
    differ = {
        key: {
            "only in the vocabulary": sorted(set(vocabulary) - values),
            "only in the database": sorted(values - set(vocabulary)),
        }
        for key, vocabulary in model_vocabularies().items()
        if (values := listed_values(database_checks.get(key, "")) or frozenset()) != set(vocabulary)
    }
    assert differ == {}, "a vocabulary changed without a migration (or the reverse)"


def test_every_model_check_that_lists_values_is_built_from_a_vocabulary():
    """The models' hand-written CHECKs (ranges, pairings) list no values of their own."""
    hand_written = [
        (table.name, constraint.name)
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
        and "vocabulary" not in constraint.info
        and listed_values(str(constraint.sqltext))
    ]
    assert hand_written == []


def test_model_checks_say_what_their_vocabulary_says():
    for table in Base.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and "vocabulary" in constraint.info:
                listed = listed_values(str(constraint.sqltext))
                assert listed == set(constraint.info["vocabulary"]), (table.name, constraint.name)
