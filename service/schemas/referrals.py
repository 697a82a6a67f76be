"""Wire types for referrals: the public receipt and status, and staff views."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

Stage = Literal["received", "being_looked_into", "closed"]


class ReferralReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What the referrer gets back: a reference and a private link to follow it."""

    reference: str
    status_url: str
    status_page_url: str
    received_at: dt.datetime
    urgent: bool
    urgent_guidance: str | None
    out_of_area: bool
    message: str
    possible_duplicate: bool
    replayed: bool


class PublicStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The referrer's view: the lifecycle only, no personal detail and no location."""

    reference: str
    stage: Stage
    stage_text: str
    outcome_text: str | None
    received_at: dt.datetime
    last_update_at: dt.datetime


class DuplicateDecision(msgspec.Struct, frozen=True, kw_only=True):
    referral_id: uuid.UUID
    other_id: uuid.UUID
    state: Literal["confirmed", "rejected"]
    referral_status: str
    referral_outcome: str | None
