"""Structured logs and the request id.

Every log line is one JSON object: ``time``, ``level``, ``logger``, ``message`` and the
``request_id`` of the request being served (plus ``method``, ``path``, ``status`` and
``duration_ms`` on the one access line written per request). Request bodies, query strings
(the referrer's status token travels in one), headers and tokens are never logged, and the
engine hides SQL parameters from error messages (``hide_parameters``), so personal data does
not reach the logs.

The request id is taken from a valid incoming ``X-Request-ID`` (a proxy's) or generated, is
echoed in the response's ``X-Request-ID`` header and in problem-details bodies, and is set
in a context variable for the duration of the request.

>>> valid_request_id("3f2b-abc_1.2"), valid_request_id("bad id\\n"), valid_request_id("")
(True, False, False)
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
HEADER = "x-request-id"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ACCESS = logging.getLogger("service.access")
_ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


def valid_request_id(value: str) -> bool:
    """Whether an incoming request id is safe to echo and log (no spaces, no control bytes)."""
    return bool(_VALID_ID.fullmatch(value))


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        for name in _ACCESS_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return msgspec.json.encode(line).decode()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Send every log record (the app's, Litestar's and uvicorn's) to stderr, one JSON object
    a line. The app writes its own access line, so uvicorn's access log is switched off."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _incoming_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == HEADER.encode():
            text = value.decode("latin-1")
            return text if valid_request_id(text) else None
    return None


class RequestContext:
    """Outermost ASGI layer: request id, headers every response carries (security headers on
    404s and static files too), and one access log line a request."""

    def __init__(self, app: ASGIApp, headers: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self.set_headers(headers)

    def set_headers(self, headers: Iterable[tuple[str, str]]) -> None:
        """Replace the headers (the CSP grows once the base map's origins are known)."""
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope.get("headers", ())) or uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = self._headers(list(message.get("headers", ())), request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            ACCESS.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)

    def _headers(self, headers: list[Any], request_id: str) -> list[Any]:
        present = {bytes(name).lower() for name, _ in headers}
        headers.extend((k, v) for k, v in self.headers if k not in present)
        headers.append((HEADER.encode(), request_id.encode()))
        return headers
