"""Every message the service sends, in one place: the referrer's emails (worded for a member
of the public), the team's alerts (a push payload, or an email when no device can take it).

A message is rendered when it is sent, from the few parameters its outbox row holds: the
referral's public reference, the referrer's status token (for their links) and the outcome
code. Nothing about the person seen (no description, no place) is ever a parameter, so no
message can carry it. Each text is short; the HTML part says the same as the plain text, every
value escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from service.settings import Settings
from service.usecases.referrals.public_status import OUTCOME_TEXT
from service.vocabularies import MESSAGE_TEMPLATES, MessageTemplate

REFERRER_TEMPLATES = frozenset({"referral_acknowledged", "referral_outcome"})
ALERT_REASONS: dict[str, str] = {
    "urgent_referral": "Urgent referral for your team",
    "run_sheet_item": "New on today's run-sheet",
    "swep_on": "SWEP is on",
}
"""The short reason a team alert gives (push payloads and alert emails)."""
SAMPLE_PARAMS: dict[str, dict[str, Any]] = {
    "referral_acknowledged": {"reference": "ESX-ABCD-2345", "token": "sample-token"},
    "referral_outcome": {
        "reference": "ESX-ABCD-2345",
        "token": "sample-token",
        "outcome": "found_engaged",
    },
    "urgent_referral": {"reference": "ESX-ABCD-2345"},
    "run_sheet_item": {"reference": "ESX-ABCD-2345"},
    "swep_on": {"reference": "E07000070"},
}
"""What an admin's preview renders each template with (no real data)."""


@dataclass(frozen=True, slots=True)
class Email:
    subject: str
    text: str
    html: str
    unsubscribe_url: str | None = None


class PushPayload(msgspec.Struct, frozen=True, kw_only=True):
    """What a device receives: a reference and a short reason, nothing else."""

    kind: str
    reference: str
    reason: str


def status_url(settings: Settings, reference: str, token: str) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/report/status/{quote(reference)}?{urlencode({'token': token})}"


def unsubscribe_url(
    settings: Settings, reference: str, token: str, *, one_click: bool = False
) -> str:
    """The page with the button (the link in the text), or the address a mail client posts
    to for a one-click unsubscribe (RFC 8058, the ``List-Unsubscribe`` header)."""
    base = settings.public_base_url.rstrip("/")
    path = (
        f"/v1/referrals/{quote(reference)}/unsubscribe"
        if one_click
        else f"/report/unsubscribe/{quote(reference)}"
    )
    return f"{base}{path}?{urlencode({'token': token})}"


def _paragraphs(parts: list[str | tuple[str, str]]) -> tuple[str, str]:
    """Plain text and HTML of paragraphs; a ``(text, url)`` pair is a link."""
    text_parts, html_parts = [], []
    for part in parts:
        if isinstance(part, tuple):
            label, url = part
            text_parts.append(f"{label}: {url}")
            html_parts.append(
                f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>'
            )
        else:
            text_parts.append(part)
            html_parts.append(f"<p>{html.escape(part)}</p>")
    body = "\n".join(html_parts)
    return "\n\n".join(
        text_parts
    ) + "\n", f"<!doctype html>\n<html><body>\n{body}\n</body></html>\n"


def _referrer_email(settings: Settings, template: str, params: dict[str, Any]) -> Email:
    reference, token = str(params["reference"]), str(params.get("token") or "")
    status = status_url(settings, reference, token)
    leave = unsubscribe_url(settings, reference, token)
    one_click = unsubscribe_url(settings, reference, token, one_click=True)
    if template == "referral_acknowledged":
        subject = f"We have received your alert {reference}"
        lead = [
            "Thank you for telling us about someone sleeping rough. Your alert has been "
            "passed to the local outreach team.",
            "We will email you again when the team has finished looking into it.",
        ]
    else:
        subject = f"Update on your alert {reference}"
        outcome = OUTCOME_TEXT.get(str(params.get("outcome") or ""))
        lead = ["The outreach team has finished looking into your alert."]
        if outcome:
            lead.append(outcome)
    text, body = _paragraphs(
        [
            *lead,
            ("See the progress of your alert", status),
            "If someone is in danger or may be under 18, call 999.",
            ("Stop these emails", leave),
        ]
    )
    return Email(subject=subject, text=text, html=body, unsubscribe_url=one_click)


def _alert_email(template: str, params: dict[str, Any]) -> Email:
    reference = str(params["reference"])
    reason = ALERT_REASONS[template]
    text, body = _paragraphs([f"{reason}: {reference}.", "Open the outreach app for details."])
    return Email(subject=f"{reason}: {reference}", text=text, html=body)


def render_email(settings: Settings, template: str, params: dict[str, Any]) -> Email:
    """The email of ``template`` (referrer updates, or a team alert sent by email)."""
    if template in REFERRER_TEMPLATES:
        return _referrer_email(settings, template, params)
    return _alert_email(template, params)


def render_push(template: str, params: dict[str, Any]) -> bytes:
    """The push payload of a team alert (JSON, a few dozen bytes)."""
    payload = PushPayload(
        kind=template, reference=str(params["reference"]), reason=ALERT_REASONS[template]
    )
    return msgspec.json.encode(payload)


def preview(settings: Settings, template: MessageTemplate) -> dict[str, Any]:
    """``template`` rendered with :data:`SAMPLE_PARAMS` as every channel it goes by."""
    params = SAMPLE_PARAMS[template]
    email = render_email(settings, template, params)
    out: dict[str, Any] = {
        "template": template,
        "email_subject": email.subject,
        "email_text": email.text,
        "email_html": email.html,
        "push_payload": None,
    }
    if template in ALERT_REASONS:
        out["push_payload"] = msgspec.json.decode(render_push(template, params))
    return out


assert set(SAMPLE_PARAMS) == set(MESSAGE_TEMPLATES)
assert set(ALERT_REASONS) | REFERRER_TEMPLATES == set(MESSAGE_TEMPLATES)
