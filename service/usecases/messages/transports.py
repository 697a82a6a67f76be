"""How messages leave: SMTP (aiosmtplib) for email, Web Push (VAPID, RFC 8291 encryption with
http_ece) for alerts to devices. Each sender task owns one :class:`SmtpTransport` (one SMTP
connection, reused across messages and reopened after a failure)."""

from __future__ import annotations

import base64
import email.utils
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib
import http_ece
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from service.settings import Settings
from service.usecases.messages.templates import Email

SMTP_SCHEMES = {"smtp": (None, False), "smtp+starttls": (True, False), "smtps": (False, True)}
"""URL scheme -> (start_tls, use_tls): ``None`` means STARTTLS when the server offers it."""
DEFAULT_PORTS = {"smtp": 587, "smtp+starttls": 587, "smtps": 465}


class TransportError(Exception):
    """A delivery failed; ``permanent`` when retrying cannot help (the recipient is gone)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    start_tls: bool | None
    use_tls: bool


def smtp_target(url: str) -> SmtpTarget:
    """Where and how to connect, from ``OUTREACH_SMTP_URL``.

    >>> t = smtp_target("smtp+starttls://mailer:p%40ss@mail.example.org")
    >>> (t.hostname, t.port, t.username, t.password, t.start_tls, t.use_tls)
    ('mail.example.org', 587, 'mailer', 'p@ss', True, False)
    >>> smtp_target("smtp://127.0.0.1:2525").start_tls is None
    True
    """
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ValueError("OUTREACH_SMTP_URL must be smtp://, smtp+starttls:// or smtps://host")
    start_tls, use_tls = SMTP_SCHEMES[parts.scheme]
    return SmtpTarget(
        hostname=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        start_tls=start_tls,
        use_tls=use_tls,
    )


def email_message(settings: Settings, rendered: Email, *, to: str, message_id: str) -> EmailMessage:
    """A multipart/alternative email (plain text and HTML). The Message-ID is the outbox
    row's, the same on every attempt, so a receiver can drop a repeat after a crash."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    if rendered.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


class SmtpTransport:
    """One SMTP connection, opened on first use and after any failure."""

    def __init__(self, settings: Settings) -> None:
        self.target = smtp_target(settings.smtp_url)
        self.timeout_s = settings.smtp_timeout_s
        self.ca_file = settings.smtp_ca_file or None
        self.client: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        t = self.target
        client = aiosmtplib.SMTP(
            hostname=t.hostname,
            port=t.port,
            username=t.username,
            password=t.password,
            start_tls=t.start_tls,
            use_tls=t.use_tls,
            timeout=self.timeout_s,
            cert_bundle=self.ca_file,
        )
        await client.connect()
        return client

    async def send(self, message: EmailMessage) -> None:
        try:
            if self.client is None or not self.client.is_connected:
                self.client = await self._connect()
            await self.client.send_message(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            raise TransportError(f"smtp: {type(exc).__name__}: {str(exc)[:200]}") from exc

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


# --- Web Push -----------------------------------------------------------------------------------


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url_encode(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


def new_vapid_keys() -> tuple[str, str]:
    """A fresh VAPID key pair: (private key, public key), both base64url (raw P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url_encode(private), public_key_of(b64url_encode(private))


def public_key_of(private_key: str) -> str:
    """The application server key browsers subscribe with (uncompressed point, base64url)."""
    vapid = Vapid02.from_string(private_key)
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(raw)


def push_service_allowed(endpoint: str, services: tuple[str, ...]) -> bool:
    """Whether ``endpoint`` belongs to one of the allowed push services.

    >>> services = ("https://fcm.googleapis.com", "https://*.notify.windows.com")
    >>> push_service_allowed("https://fcm.googleapis.com/fcm/send/abc", services)
    True
    >>> push_service_allowed("https://db5p.notify.windows.com/w/?token=x", services)
    True
    >>> push_service_allowed("http://fcm.googleapis.com/fcm/send/abc", services)
    False
    >>> push_service_allowed("https://169.254.169.254/latest", services)
    False
    >>> push_service_allowed("https://notify.windows.com.evil.example/x", services)
    False
    >>> push_service_allowed("https://[fcm.googleapis.com/x", services)  # not a URL at all
    False
    """
    try:
        parts = urlsplit(endpoint)
    except ValueError:  # an unbalanced "[" is "Invalid IPv6 URL"
        return False
    host = (parts.hostname or "").lower()
    for service in services:
        scheme, _, pattern = service.lower().partition("://")
        if parts.scheme != scheme or not host:
            continue
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def encrypt_payload(payload: bytes, *, p256dh: str, auth: str) -> bytes:
    """RFC 8291 (aes128gcm): only the subscribed browser can read the payload."""
    server_key = ec.generate_private_key(ec.SECP256R1())
    encrypted: bytes = http_ece.encrypt(
        payload,
        private_key=server_key,
        dh=b64url_decode(p256dh),
        auth_secret=b64url_decode(auth),
        version="aes128gcm",
    )
    return encrypted


class PushTransport:
    """Sends encrypted payloads to push services with a VAPID signature (RFC 8292)."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.vapid = Vapid02.from_string(settings.vapid_private_key)
        self.subject = settings.vapid_subject
        self.ttl_s = settings.push_ttl_s
        self.http = http

    def _authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 12 * 3600,
            "sub": self.subject,
        }
        return str(self.vapid.sign(claims)["Authorization"])

    async def send(
        self, *, endpoint: str, p256dh: str, auth: str, payload: bytes, urgent: bool
    ) -> None:
        body = encrypt_payload(payload, p256dh=p256dh, auth=auth)
        headers = {
            "Authorization": self._authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.ttl_s),
            "Urgency": "high" if urgent else "normal",
        }
        try:
            response = await self.http.post(endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransportError(f"push: {type(exc).__name__}") from exc
        if response.status_code in (404, 410):
            raise TransportError(
                f"push: subscription gone ({response.status_code})", permanent=True
            )
        if response.status_code >= 300:
            raise TransportError(f"push: the push service answered {response.status_code}")
