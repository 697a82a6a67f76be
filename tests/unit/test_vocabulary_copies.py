"""Each vocabulary is defined once (``service.vocabularies``): the packages that keep their own
copy for good reason (the StreetLink format, the pure assignment and routing cores, the
screens' labels) agree with it, and no module of the service spells one out again.

The database's CHECK constraints are compared in ``tests/integration/test_vocabularies.py``.
"""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path
from typing import get_args

import msgspec
import pytest

from geo import areas, assignment, routing
from service import vocabularies as v
from service.schemas import figures as stats_wire
from service.settings import Settings, SettingsError
from service.usecases.persons import records as persons
from service.usecases.referrals import open311 as open311_views
from service.usecases.referrals import public_status, report_form
from streetlink import schema as streetlink
from streetlink.open311 import RequestStatus

SERVICE = Path(v.__file__).resolve().parent


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


@pytest.mark.parametrize(
    ("vocabulary", "enum"),
    [
        (v.GENDERS, streetlink.Gender),
        (v.AGE_BANDS, streetlink.AgeBand),
        (v.WORK_KINDS, assignment.WorkKind),
        (v.ASSIGNMENT_RULES, assignment.Rule),
        (v.DROP_REASONS, routing.DropReason),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_vocabularies_kept_by_the_pure_packages_agree(vocabulary, enum):
    assert vocabulary == values(enum)


def test_every_kind_of_authority_the_boundary_loader_gives_is_in_the_vocabulary():
    prefixes = ("E06", "E07", "E08", "E09", "W06", "S12", "N09", "K02", "X")
    assert {areas.kind_for_code(p + "000001") for p in prefixes} <= set(v.AUTHORITY_KINDS)


def test_the_referrer_is_told_a_stage_and_an_outcome_for_every_status_and_code():
    assert set(public_status.STAGES) == set(v.REFERRAL_STATUSES)
    assert set(public_status.STAGES.values()) == set(v.PUBLIC_STAGES)
    assert set(public_status.STAGE_TEXT) == set(v.PUBLIC_STAGES)
    assert set(public_status.OUTCOME_TEXT) | public_status.UNTOLD == set(v.OUTCOME_CODES)
    assert not set(public_status.OUTCOME_TEXT) & public_status.UNTOLD


def test_open311_status_filters_cover_every_referral_status():
    assert tuple(open311_views.STATUS_FILTER) == get_args(RequestStatus)
    filtered = [s for statuses in open311_views.STATUS_FILTER.values() for s in statuses]
    assert sorted(filtered) == sorted(v.REFERRAL_STATUSES)
    assert set(v.OUTCOME_CODES) >= open311_views.PUBLIC_OUTCOMES


def test_the_report_form_offers_every_gender_and_age_band():
    assert {value for value, _ in report_form.GENDERS} == set(v.GENDERS)
    assert {value for value, _ in report_form.AGE_BANDS} == set(v.AGE_BANDS)


def test_the_ordered_age_bands_are_the_vocabulary_without_unknown():
    assert tuple(b for b in v.AGE_BANDS if b != "unknown") == persons.AGE_BANDS


def test_the_figures_count_every_cohort():
    assert tuple(f.name for f in msgspec.structs.fields(stats_wire.Cohorts)) == v.COHORTS


def test_settings_refuse_a_role_or_layer_outside_the_vocabulary():
    base = {"DATABASE_URL": "postgresql://a@b/c"}
    settings = Settings.from_env(base | {"OUTREACH_TILE_POINT_ROLES": "worker, admin"})
    assert settings.tile_point_roles == ("worker", "admin")
    with pytest.raises(SettingsError):
        Settings.from_env(base | {"OUTREACH_TILE_POINT_ROLES": "worker,volunteer"})
    with pytest.raises(SettingsError):
        Settings.from_env(base | {"OUTREACH_ASSIGNMENT_HOTSPOT_LAYERS": "all_referrals"})


def _string_sets(tree: ast.AST) -> list[tuple[int, frozenset[str]]]:
    """Every tuple, list, set or ``Literal[...]`` made only of two or more strings."""
    found = []
    for node in ast.walk(tree):
        elements = None
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            elements = node.elts
        elif isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "Literal":
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if elements and len(elements) >= 2:
            strings = [e.value for e in elements if isinstance(e, ast.Constant)]
            if len(strings) == len(elements) and all(isinstance(s, str) for s in strings):
                found.append((node.lineno, frozenset(strings)))
    return found


def test_no_module_spells_out_a_vocabulary_again():
    """A copy of a vocabulary (of three or more values) anywhere else in the service."""
    vocabularies = {
        frozenset(value): name
        for name, value in vars(v).items()
        if name.isupper() and isinstance(value, tuple) and len(value) >= 3
    }
    copies = [
        f"{path.relative_to(SERVICE.parent)}:{line} repeats {vocabularies[strings]}"
        for path in sorted(SERVICE.rglob("*.py"))
        if path != SERVICE / "vocabularies.py"
        for line, strings in _string_sets(ast.parse(path.read_text(encoding="utf-8")))
        if strings in vocabularies
    ]
    assert copies == []
