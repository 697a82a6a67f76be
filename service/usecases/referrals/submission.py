"""Receipts for the referrer: links built from the reference and the private token.

A receipt depends on the referrer's own alert only: whether other reports look like
duplicates of it stays with staff (``referral_duplicates``), never in a public answer.
"""

from __future__ import annotations

from urllib.parse import quote

from service.runtime import Runtime
from service.schemas.referrals import ReferralReceipt
from service.usecases.referrals import intake
from streetlink.guidance import URGENT_GUIDANCE_999
from streetlink.schema import StreetLinkAlert

MESSAGE = "Thank you. Your alert has been sent to the outreach service for that area."
OUT_OF_AREA = (
    "Thank you. The location looks outside Greater Essex; a coordinator will pass your alert "
    "to the right service."
)
REPLAYED = "We already have this alert: here is its reference again."
TRIAGE = (
    "Thank you. Your alert has no map pin and we could not find the place from the postcode "
    "or description, so a coordinator will place it on the map and send it to the right team."
)


def receipt_to_wire(receipt: intake.Receipt) -> ReferralReceipt:
    token = quote(receipt.status_token)
    triage = receipt.located_by is None
    message = (
        REPLAYED
        if receipt.replayed
        else OUT_OF_AREA
        if receipt.out_of_area
        else TRIAGE
        if triage
        else MESSAGE
    )
    return ReferralReceipt(
        reference=receipt.reference,
        status_url=f"/v1/referrals/{receipt.reference}/status?token={token}",
        status_page_url=f"/report/status/{receipt.reference}?token={token}",
        received_at=receipt.received_at,
        urgent=receipt.urgent,
        urgent_guidance=URGENT_GUIDANCE_999 if receipt.urgent else None,
        out_of_area=receipt.out_of_area,
        message=message,
        replayed=receipt.replayed,
        located_by=receipt.located_by,
        waits_for_triage=triage,
    )


async def submit(
    runtime: Runtime, alert: StreetLinkAlert, *, source: str, submission_key: str | None
) -> ReferralReceipt:
    receipt = await intake.submit(runtime, alert, source=source, submission_key=submission_key)
    return receipt_to_wire(receipt)
