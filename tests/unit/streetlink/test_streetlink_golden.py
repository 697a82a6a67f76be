"""Golden files: a sample StreetLink CSV export, its normalised JSON, and our export of it.

Regenerate after an intended format change with::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/streetlink/test_streetlink_golden.py

then review the diff of ``tests/unit/streetlink/golden/`` before committing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from streetlink.csv_io import ImportResult, export_csv, import_csv

GOLDEN = Path(__file__).parent / "golden"
SAMPLE = GOLDEN / "streetlink_export_sample.csv"
EXPECTED_JSON = GOLDEN / "streetlink_export_sample.expected.json"
EXPECTED_EXPORT = GOLDEN / "streetlink_export_sample.export.csv"
NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)


def _import_sample() -> ImportResult:
    return import_csv(SAMPLE.read_bytes(), now=NOW)


def _as_json(result: ImportResult) -> str:
    return msgspec.json.format(msgspec.json.encode(result), indent=2).decode() + "\n"


def _check_golden(path: Path, actual: str) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8", newline="")
        pytest.skip(f"golden file {path.name} rewritten")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 once"
    with path.open(encoding="utf-8", newline="") as file:
        expected = file.read()
    assert actual == expected, f"{path.name} differs; if intended, regenerate with UPDATE_GOLDEN=1"


def test_sample_import_matches_golden_json() -> None:
    _check_golden(EXPECTED_JSON, _as_json(_import_sample()))


def test_sample_export_matches_golden_csv() -> None:
    _check_golden(EXPECTED_EXPORT, export_csv(_import_sample().rows, include_referrer=True))


def test_sample_golden_is_not_trivial() -> None:
    """Guards the golden file itself: it must hold good rows and every kind of bad row."""
    result = _import_sample()
    assert [row.source_ref for row in result.rows] == [
        "SL-1001",
        "SL-1002",
        "SL-1004",
        "SL-1008",
        "SL-1010",
    ]
    assert [(e.line, e.field) for e in result.errors] == [
        (6, "$.lat"),
        (8, "$.postcode"),
        (9, "$.location_description"),
        (10, "$.seen_date"),
        (12, "$.site_type"),
        (15, "$.seen_date"),
        (16, "$.lon"),
    ]


def test_golden_export_reimports_to_the_same_rows() -> None:
    rows = _import_sample().rows
    again = import_csv(EXPECTED_EXPORT.read_bytes(), now=NOW)
    assert again.errors == []
    assert again.rows == rows
