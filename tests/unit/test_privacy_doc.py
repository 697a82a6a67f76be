"""docs/privacy.md agrees with the code: who may see what (``service.access``) and how long
everything is kept (``service.retention_schedule``, whose table the document embeds)."""

from __future__ import annotations

import re
from pathlib import Path

from service import access, retention_schedule
from service.access import StaffUser
from service.vocabularies import ROLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
README = DOC.parents[1] / "README.md"


def table_after(heading_text: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line containing ``heading_text``."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if heading_text in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]


def roles_in(cell: str) -> frozenset[str]:
    return frozenset(re.findall(r"`(\w+)`", cell))


def test_the_schedule_in_the_document_is_the_one_in_the_code():
    text = DOC.read_text(encoding="utf-8")
    expected = retention_schedule.replace_section(text, retention_schedule.markdown())
    assert text == expected, "run: outreach retention schedule --update docs/privacy.md"
    for rule in retention_schedule.SCHEDULE:
        assert f"(`{rule.name}`)" in text


def test_roles_with_field_rules_are_the_access_modules():
    rows = {row[0].split(" (")[0]: roles_in(row[1]) for row in table_after("their own rule")}
    assert rows == {
        "Special-category data": access.SPECIAL_CATEGORY_ROLES,
        "Referrer contact details": access.REFERRER_CONTACT_ROLES,
    }


#: The records of each column of the rule table, for a caller of team 1 covering authority A.
CASES = {
    "Their own team's records": ("Z", 1),
    "Another team's records in their authorities": ("A", 2),
    "Unrouted records (no authority, no team)": (None, None),
    "Records elsewhere": ("B", 2),
}


def test_the_rule_table_is_what_may_see_answers():
    lines = DOC.read_text(encoding="utf-8").splitlines()
    head_line = next(line for line in lines if line.startswith("| Member of staff"))
    columns = [cell.strip() for cell in head_line.strip("|").split("|")][1:]
    assert columns == list(CASES)
    rows = table_after("tested against `service.access.may_see`")
    assert sorted(row[0] for row in rows) == sorted(ROLES)
    for role, *answers in rows:
        scope = access.scope_of(
            StaffUser(id=1, username="u", role=role, team_ids=(1,), authority_codes=("A",))
        )
        for column, answer in zip(columns, answers, strict=True):
            assert answer in ("yes", "no")
            authority, team = CASES[column]
            assert (answer == "yes") == access.may_see(scope, authority, team), (role, column)


def test_the_readme_links_the_document():
    assert "(docs/privacy.md)" in README.read_text(encoding="utf-8")
