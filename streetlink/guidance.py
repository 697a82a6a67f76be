"""Fixed texts shown to people making a referral (UK).

Plain text: the renderer escapes it like any other text.

>>> "999" in URGENT_GUIDANCE_999 and "not an emergency service" in URGENT_GUIDANCE_999
True
"""

from __future__ import annotations

__all__ = ["NOT_FOR_BEGGING", "URGENT_GUIDANCE_999"]

URGENT_GUIDANCE_999 = (
    "If the person is in immediate danger, needs medical help, or appears to be under 18, "
    "call 999 now. This service is not an emergency service: outreach teams usually act "
    "on their next shift, which may be a day or more away."
)

NOT_FOR_BEGGING = (
    "Please only send an alert about someone you believe is sleeping rough. "
    "Outreach teams look for people where they sleep, usually early in the morning or at night."
)
