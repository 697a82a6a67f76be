"""Server-rendered pages that are not part of the JSON API."""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, MediaType, get

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"


class DocsController(Controller):
    include_in_schema = False

    @get("/docs", operation_id="docsPage", media_type=MediaType.HTML, sync_to_thread=False)
    def docs(self) -> str:
        return (TEMPLATES / "docs.html").read_text(encoding="utf-8")
