"""What the field app's shell is built from: its manifest, and the choices its forms offer,
read from :mod:`service.vocabularies` so the app never keeps a copy of its own."""

from __future__ import annotations

from typing import Any

from service.access import SPECIAL_CATEGORY_ROLES
from service.settings import Settings
from service.vocabularies import (
    ENGAGEMENT_LEVELS,
    OFFER_CODES,
    OUTCOME_CODES,
    SUPPORT_NEEDS,
)

MANIFEST: dict[str, Any] = {
    "name": "Greater Essex street outreach",
    "short_name": "Outreach",
    "description": "Run-sheet and contact recording for outreach workers, offline first.",
    "id": "/app",
    "start_url": "/app",
    "scope": "/app",
    "display": "standalone",
    "orientation": "portrait",
    "background_color": "#ffffff",
    "theme_color": "#0b5563",
    "icons": [
        {
            "src": f"/static/icons/app-{size}.png",
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any",
        }
        for size in (192, 512)
    ]
    + [
        {
            "src": "/static/icons/app-maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        }
    ],
}

NOT_OFFERED_BY_THE_APP = frozenset({"closed_no_activity", "duplicate_merged", "not_found"})
"""Outcomes a worker does not pick on the street: retention's own, a coordinator's merge, and
not found (a not-found *attempt* is recorded instead; the outcome follows the SLA rules)."""


def label(code: str) -> str:
    """``found_not_rough_sleeping`` → ``Found not rough sleeping``.

    >>> label("swep_bed"), label("18_25")
    ('Swep bed', '18 25')
    """
    return code.replace("_", " ").capitalize()


def _choices(codes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(code, label(code)) for code in codes]


def page_context(settings: Settings) -> dict[str, Any]:
    return {
        "map_style_url": settings.map_style_url,
        "engagement": _choices(ENGAGEMENT_LEVELS),
        "offers": _choices(OFFER_CODES),
        "support_needs": _choices(SUPPORT_NEEDS),
        "outcomes": _choices(tuple(c for c in OUTCOME_CODES if c not in NOT_OFFERED_BY_THE_APP)),
        "special_category_roles": " ".join(sorted(SPECIAL_CATEGORY_ROLES)),
    }
