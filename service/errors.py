"""The one table from exceptions to RFC 9457 problem details.

Domain exceptions (``geo.errors``, ``streetlink.errors``, ``service.exceptions``) know nothing
of HTTP; this module gives each class a status, a problem ``type`` and a title, and Litestar's
problem-details plugin renders them as ``application/problem+json``. Database errors are
classified by SQLSTATE (and constraint name), never by message text, and never echoed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.plugins.problem_details import ProblemDetailsException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from geo.errors import (
    GeoError,
    InvalidGeometryError,
    InvalidTileAddressError,
    OutsideCoverageError,
)
from service import exceptions as svc
from service.db.engine import constraint_name
from service.logs import current_request_id
from streetlink import errors as sl

log = logging.getLogger(__name__)
PROBLEM_BASE = "urn:essex-outreach:problem:"
RETRY_AFTER_S = 10
"""``Retry-After`` (seconds) of a 429 or 503 whose exception does not say how long (the
database is down, a rate limit): a fixed value, not a setting."""


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    slug: str
    title: str
    show_detail: bool = True
    """Whether ``str(exc)`` is safe and useful to return as the problem's ``detail``."""

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug


# Domain exceptions → problem. Order does not matter: Litestar resolves handlers by MRO.
TABLE: Mapping[type[Exception], Problem] = {
    GeoError: Problem(422, "invalid-geometry", "The geometry could not be used"),
    InvalidGeometryError: Problem(422, "invalid-geometry", "The geometry could not be used"),
    OutsideCoverageError: Problem(404, "outside-greater-essex", "Outside Greater Essex"),
    InvalidTileAddressError: Problem(400, "invalid-tile", "Not a tile address"),
    svc.ServiceError: Problem(400, "bad-request", "The request could not be processed"),
    svc.NotFoundError: Problem(404, "not-found", "Not found"),
    svc.OutsideGreaterEssexError: Problem(404, "outside-greater-essex", "Outside Greater Essex"),
    svc.ConflictError: Problem(409, "conflict", "Conflicts with stored data"),
    svc.InvalidInputError: Problem(422, "invalid-input", "The input is not valid"),
    svc.OutOfRangeError: Problem(400, "out-of-range", "A value is out of the allowed range"),
    svc.InvalidQueryError: Problem(400, "invalid-request", "The request is not valid"),
    svc.NotReadyError: Problem(503, "not-ready", "The service is not ready"),
    svc.DatabaseUnavailableError: Problem(
        503, "database-unavailable", "The database is unavailable, try again shortly"
    ),
    svc.AccessDeniedError: Problem(403, "forbidden", "Not allowed"),
    svc.AuthenticationError: Problem(401, "unauthorized", "Sign-in failed"),
    svc.TooManyAttemptsError: Problem(429, "rate-limited", "Too many requests, slow down"),
    sl.StreetLinkError: Problem(422, "invalid-referral", "The referral is not valid"),
    sl.ReferralValidationError: Problem(422, "invalid-referral", "The referral is not valid"),
    sl.ImportFormatError: Problem(422, "invalid-import", "The file cannot be imported"),
    sl.ImportRowError: Problem(422, "invalid-import-row", "A row cannot be imported"),
    sl.InvalidReferenceError: Problem(404, "not-found", "Not found"),
}

# Framework HTTP errors → problem (their detail is written by Litestar or by us, never data).
HTTP_TABLE: Mapping[int, Problem] = {
    400: Problem(400, "invalid-request", "The request is not valid"),
    401: Problem(401, "unauthorized", "Sign-in required"),
    403: Problem(403, "forbidden", "Not allowed"),
    404: Problem(404, "not-found", "Not found"),
    405: Problem(405, "method-not-allowed", "Method not allowed"),
    413: Problem(413, "too-large", "The request body is too large"),
    415: Problem(415, "unsupported-media-type", "Unsupported media type"),
    429: Problem(429, "rate-limited", "Too many requests, slow down"),
    503: Problem(503, "unavailable", "The service is unavailable"),
}
INTERNAL = Problem(500, "internal", "Internal error", show_detail=False)
DATABASE_DOWN = TABLE[svc.DatabaseUnavailableError]

# Unique constraints whose violation is the client's doing → 409 with a clear title.
CONSTRAINT_TITLES: Mapping[str, str] = {
    "uq_teams_name": "A team with this name exists already",
    "uq_assignment_overrides_active": "The item was pinned by someone else just now; try again",
}
# SQLSTATE classes/codes meaning "the database is not there right now".
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "57014")
_AT_PATH = re.compile(r"\s*-\s*at\s*`(\$[^`]*)`\s*$")
_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def problem_exception(
    problem: Problem,
    detail: str = "",
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemDetailsException:
    request_id = current_request_id()
    if request_id:
        extra = {**(extra or {}), "request_id": request_id}
    return ProblemDetailsException(
        status_code=problem.status,
        type_=problem.type_uri,
        title=problem.title,
        detail=detail or problem.title,
        extra=extra,
        headers=headers,
    )


def _lookup(exc: Exception) -> Problem:
    for cls in type(exc).__mro__:
        if cls in TABLE:
            return TABLE[cls]
    return INTERNAL


def _field_extra(exc: Exception) -> dict[str, Any] | None:
    field = getattr(exc, "field", None)
    message = getattr(exc, "message", None) or str(exc)
    return {"errors": [{"field": field, "message": message}]} if field else None


def from_domain(exc: Exception) -> ProblemDetailsException:
    problem = _lookup(exc)
    retry_after = getattr(exc, "retry_after_s", RETRY_AFTER_S)
    headers = {"Retry-After": str(retry_after)} if problem.status in (429, 503) else None
    detail = str(exc) if problem.show_detail else ""
    return problem_exception(problem, detail, extra=_field_extra(exc), headers=headers)


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    items = exc.extra if isinstance(exc.extra, list) else []
    missing = _MISSING.search(str(exc.detail or ""))
    if not items and missing:
        return [{"field": missing.group(2), "source": missing.group(1), "message": "required"}]
    for item in items:
        message = str(item.get("message", "invalid value")) if isinstance(item, dict) else ""
        key = item.get("key") if isinstance(item, dict) else None
        match = _AT_PATH.search(message)
        if match:
            key, message = match.group(1), message[: match.start()]
        source = (item.get("source") if isinstance(item, dict) else None) or "body"
        errors.append({"field": _json_path(key, source), "source": source, "message": message})
    return errors


def _json_path(key: str | None, source: str) -> str:
    """Body fields as JSON paths (``$.referrer.email``); query and header names as they are."""
    if source != "body":
        return key or "$"
    if not key or key == "data" or key == "$":
        return "$"
    return key if key.startswith("$") else f"$.{key}"


def from_validation(exc: ValidationException) -> ProblemDetailsException:
    errors = _validation_errors(exc)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem_exception(HTTP_TABLE[400], detail, extra={"errors": errors})


def from_http(exc: HTTPException) -> ProblemDetailsException:
    problem = HTTP_TABLE.get(exc.status_code) or Problem(exc.status_code, "http-error", "Error")
    headers = dict(exc.headers or {})
    if exc.status_code == 429:
        # Litestar's limiter sends the IETF RateLimit-Reset header; clients also want Retry-After.
        headers.setdefault("Retry-After", str(max(1, int(headers.get("RateLimit-Reset", 60)))))
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else ""
    return problem_exception(problem, detail, headers=headers or None)


def _sqlstate(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    for candidate in (exc, orig, getattr(orig, "__cause__", None), exc.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return ""


def from_database(exc: Exception) -> ProblemDetailsException:
    """A database error wrapped by SQLAlchemy (``DBAPIError``), or asyncpg's own
    (``asyncpg.PostgresError``, from ``service.db.engine.fetch_dicts``)."""
    sqlstate = _sqlstate(exc)
    invalidated = getattr(exc, "connection_invalidated", False)
    if invalidated or sqlstate.startswith(UNAVAILABLE_SQLSTATES) or not sqlstate:
        log.warning("database unavailable: %s", type(getattr(exc, "orig", exc)).__name__)
        return problem_exception(DATABASE_DOWN, headers={"Retry-After": str(RETRY_AFTER_S)})
    if sqlstate.startswith("22"):  # a data exception: NUL bytes, out-of-range values…
        return problem_exception(
            HTTP_TABLE[400], "a value cannot be stored (invalid characters or out of range)"
        )
    if sqlstate == "23505" and (title := CONSTRAINT_TITLES.get(constraint_name(exc))):
        return problem_exception(TABLE[svc.ConflictError], title)
    log.error("database error sqlstate=%s", sqlstate, exc_info=exc)
    return problem_exception(INTERNAL)


def from_connection_error(exc: Exception) -> ProblemDetailsException:
    log.warning("database unreachable: %s", type(exc).__name__)
    return problem_exception(DATABASE_DOWN, headers={"Retry-After": str(RETRY_AFTER_S)})


def from_unexpected(exc: Exception) -> ProblemDetailsException:
    log.error("unhandled error", exc_info=exc)
    return problem_exception(INTERNAL)


def exception_map() -> dict[type[Exception], Callable[[Any], ProblemDetailsException]]:
    """Everything the problem-details plugin converts, most specific handlers by MRO."""
    import asyncpg

    mapping: dict[type[Exception], Callable[[Any], ProblemDetailsException]] = dict.fromkeys(
        TABLE, from_domain
    )
    mapping.update(
        {
            ValidationException: from_validation,
            HTTPException: from_http,
            NotFoundException: from_http,
            MethodNotAllowedException: from_http,
            NotAuthorizedException: from_http,
            PermissionDeniedException: from_http,
            TooManyRequestsException: from_http,
            DBAPIError: from_database,
            asyncpg.PostgresError: from_database,
            asyncpg.PostgresConnectionError: from_connection_error,
            asyncpg.InterfaceError: from_connection_error,
            TimeoutError: from_connection_error,
            # no pooled connection within the pool timeout (a burst): busy, try again shortly
            PoolTimeoutError: from_connection_error,
            OSError: from_connection_error,
            Exception: from_unexpected,
        }
    )
    return mapping
