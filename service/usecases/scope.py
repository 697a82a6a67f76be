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
