"""What a member of staff may see: workers their teams, coordinators their authorities."""

from __future__ import annotations

from typing import Any

from service.auth import StaffUser


def can_see_referral(user: StaffUser, row: dict[str, Any]) -> bool:
    """Admins see all; coordinators their authorities (and unrouted referrals, to triage
    them); workers the referrals assigned to their teams."""
    if user.is_admin:
        return True
    if user.role == "coordinator":
        return row["authority_code"] is None or row["authority_code"] in user.authority_codes
    return row["team_id"] is not None and row["team_id"] in user.team_ids


def in_team_or_authority(user: StaffUser, row: dict[str, Any]) -> bool:
    """Admins see all; coordinators what lies in their authorities; anyone what belongs to
    their teams (a contact, a hotspot: rows with ``team_id`` and ``authority_code``)."""
    if user.is_admin:
        return True
    if user.role == "coordinator" and row["authority_code"] in user.authority_codes:
        return True
    return row["team_id"] in user.team_ids


def team_or_authority_params(user: StaffUser) -> dict[str, Any]:
    """:func:`in_team_or_authority` as SQL parameters: ``:all``, ``:teams``, ``:codes``
    (``codes`` empty unless the caller is a coordinator)."""
    return {
        "all": user.is_admin,
        "teams": sorted(user.team_ids),
        "codes": sorted(user.authority_codes) if user.role == "coordinator" else [],
    }
