"""The browser code's own rules, beside tsc and biome (``make lint``): nothing a member of the
public typed may become HTML, and every page script a template loads has its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "service" / "web" / "src"
TEMPLATES = ROOT / "service" / "web" / "templates"

# Ways text becomes markup or code in a page; textContent and DOM nodes are the only way here.
SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\("
)


def sources() -> list[Path]:
    return sorted(SOURCES.rglob("*.ts"))


def test_there_is_browser_code_to_check() -> None:
    assert len(sources()) >= 3


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(SOURCES)))
def test_no_html_or_code_sinks(path: Path) -> None:
    hits = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SINKS.search(line)
    ]
    assert hits == []


def test_the_sink_pattern_catches_what_it_must() -> None:
    for bad in (
        "el.innerHTML = x",
        "el.outerHTML += y",
        "el.insertAdjacentHTML('x', y)",
        "eval(s)",
    ):
        assert SINKS.search(bad), bad
    assert not SINKS.search("el.textContent = x")


def test_every_page_script_has_a_typescript_source() -> None:
    loaded = {
        name
        for template in TEMPLATES.glob("*.html")
        for name in re.findall(r'src="/static/build/([a-z_]+)\.js"', template.read_text())
    }
    assert loaded, "no template loads a built script"
    missing = sorted(name for name in loaded if not (SOURCES / f"{name}.ts").is_file())
    assert missing == []
