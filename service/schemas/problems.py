"""The problem-details response documented on every route (RFC 9457)."""

from __future__ import annotations

from http import HTTPStatus

import msgspec
from litestar.openapi.datastructures import ResponseSpec

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    message: str
    source: str | msgspec.UnsetType = msgspec.UNSET


class ProblemDetails(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem: ``type`` is a URN naming the kind of problem."""

    type: str
    title: str
    status: int
    detail: str | msgspec.UnsetType = msgspec.UNSET
    instance: str | msgspec.UnsetType = msgspec.UNSET
    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET
    request_id: str | msgspec.UnsetType = msgspec.UNSET
    """The request's id (also in the ``X-Request-ID`` header), to quote when reporting it."""


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """Document these statuses (and 400, 500, 503, which any route can answer) as problems."""
    codes = sorted({400, 500, 503, *statuses})
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            media_type=PROBLEM_MEDIA_TYPE,
            description=HTTPStatus(code).phrase,
            generate_examples=False,
        )
        for code in codes
    }
