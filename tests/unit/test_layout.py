"""A reader who knows one layer's names knows them all: each feature of the use cases has an
API module of the same name, and the API and wire schemas name nothing else."""

from __future__ import annotations

from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
# Modules that serve every feature rather than being one.
SHARED_API = {"pages", "strict_structs", "open311"}  # web pages, schema plugin, Open311 protocol
SHARED_SCHEMAS = {"geojson", "problems", "open311"}


def _modules(layer: str) -> set[str]:
    return {p.stem for p in (SERVICE / layer).glob("*.py")} - {"__init__"}


def features() -> set[str]:
    return {p.name for p in (SERVICE / "usecases").iterdir() if (p / "__init__.py").is_file()}


def test_use_cases_are_grouped_by_feature():
    assert features() >= {"referrals", "contacts", "persons", "hotspots", "assignments", "areas"}
    loose = _modules("usecases") - {"cursors", "idempotency"}
    assert loose == set(), "put these use cases in their feature's package"


def test_every_feature_has_an_api_module_of_its_name_and_no_other():
    assert _modules("api") - SHARED_API == features()


def test_schemas_are_named_after_features():
    assert _modules("schemas") - SHARED_SCHEMAS <= features()
