"""Open311 GeoReport v2 (JSON only) at ``/open311/v2``: public, over the same intake.

Errors keep the specification's shape, ``[{"code": 400, "description": "lat: …"}]``: the
controller has its own exception handlers, which convert through the same error table as
the rest of the API (``service.errors``) and only then change the shape, so nothing
internal leaks and an unexpected error is a 500 here too. 422 (a domain rule) is 400 in
Open311, as the specification has no 422.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException

from service import errors
from service.api.referrals import IdempotencyKey
from service.auth import PUBLIC
from service.exceptions import InvalidInputError, NotFoundError
from service.runtime import RuntimeDep
from service.schemas.open311 import (
    Open311Error,
    RequestCreated,
    RequestForm,
    Service,
    ServiceDefinition,
    ServiceRequest,
)
from service.usecases.referrals import open311 as open311_views
from service.usecases.referrals.open311 import RequestFilter

JSON_SUFFIX = ".json"
NO_SUCH_RESOURCE = "no such Open311 resource"
_NAMED_FIELD = re.compile(r"field `([^`]+)`")
Document = Annotated[str, PathParameter(max_length=64, description="`<id>.json`")]


# --- errors in the Open311 shape ------------------------------------------------------------


@cache
def _converters() -> dict[type[Exception], Callable[[Any], ProblemDetailsException]]:
    converters = errors.exception_map()
    converters[ProblemDetailsException] = lambda exc: exc
    return converters


def _to_problem(exc: Exception) -> ProblemDetailsException:
    converters = _converters()
    for cls in type(exc).__mro__:
        if cls in converters:
            return converters[cls](exc)
    return errors.from_unexpected(exc)


def _field_name(item: dict[str, Any]) -> str:
    """Form and query fields by name; headers as sent (``Idempotency-Key``)."""
    field = str(item.get("field") or "$")
    if item.get("source") == "header":
        return "-".join(part.capitalize() for part in field.split("_"))
    if field != "$":
        return field.removeprefix("$.")
    named = _NAMED_FIELD.search(str(item.get("message", "")))
    return named.group(1) if named else "request"


def _descriptions(problem: ProblemDetailsException) -> list[str]:
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    items = [item for item in extra.get("errors") or [] if isinstance(item, dict)]
    described = [f"{_field_name(item)}: {item.get('message', 'invalid')}" for item in items]
    return described or [str(problem.detail)]


def open311_error(_: Request[Any, Any, Any], exc: Exception) -> Response[list[Open311Error]]:
    """Any exception as a list of Open311 errors, with the status the error table gives."""
    problem = _to_problem(exc)
    status = 400 if problem.status_code == 422 else problem.status_code
    return Response(
        [Open311Error(code=status, description=text) for text in _descriptions(problem)],
        status_code=status,
        headers=problem.headers,
        media_type=MediaType.JSON,
    )


def open311_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """Document these statuses (and 400, 500, 503) as lists of Open311 errors."""
    return {
        code: ResponseSpec(
            data_container=list[Open311Error],
            media_type=MediaType.JSON,
            description=HTTPStatus(code).phrase,
            generate_examples=False,
        )
        for code in sorted({400, 500, 503, *statuses})
    }


def json_stem(document: str) -> str:
    """``ESX-7K2M-QR.json`` -> ``ESX-7K2M-QR``; other formats (``.xml``) are not served."""
    stem, dot, suffix = document.rpartition(".")
    if not dot or f".{suffix}" != JSON_SUFFIX:
        raise InvalidInputError("only JSON is served: use .json", field="format")
    return stem


# --- routes ------------------------------------------------------------------------------------


class Open311Controller(Controller):
    path = "/open311/v2"
    tags = ["open311"]
    opt = PUBLIC
    exception_handlers = dict.fromkeys(
        (*_converters(), HTTPException, ProblemDetailsException, Exception), open311_error
    )

    @get(
        "/services.json",
        operation_id="open311ListServices",
        summary="Open311: the services that can be requested (one: a person sleeping rough)",
        responses=open311_responses(429),
    )
    async def list_services(self) -> list[Service]:
        return open311_views.services()

    @get(
        "/services/{document:str}",
        operation_id="open311GetServiceDefinition",
        summary="Open311: the attributes of a service (`<service_code>.json`)",
        responses=open311_responses(404, 429),
    )
    async def service_definition(self, document: Document) -> ServiceDefinition:
        return open311_views.service_definition(json_stem(document))

    @post(
        "/requests.json",
        operation_id="open311CreateRequest",
        summary="Open311: report someone sleeping rough (form-encoded, public)",
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=list[RequestCreated],
                description="A resend with the same Idempotency-Key: the same request id",
                generate_examples=False,
            ),
            **open311_responses(413, 429),
        },
    )
    async def create_request(
        self,
        runtime: RuntimeDep,
        data: Annotated[RequestForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[list[RequestCreated]]:
        created, replayed = await open311_views.submit(
            runtime, data, submission_key=idempotency_key
        )
        return Response([created], status_code=200 if replayed else 201)

    @get(
        "/requests/{document:str}",
        operation_id="open311GetRequest",
        summary="Open311: one service request (`<service_request_id>.json`), public fields only",
        responses=open311_responses(404, 429),
    )
    async def get_request(self, runtime: RuntimeDep, document: Document) -> list[ServiceRequest]:
        return await open311_views.get_request(runtime, json_stem(document))

    @get(
        "/requests.json",
        operation_id="open311ListRequests",
        summary="Open311: service requests a day old or more, public fields only",
        responses=open311_responses(429),
    )
    async def list_requests(
        self,
        runtime: RuntimeDep,
        service_request_id: Annotated[
            str | None,
            QueryParameter(max_length=1000, description="Comma-separated ids; overrides all"),
        ] = None,
        service_code: Annotated[str | None, QueryParameter(max_length=200)] = None,
        status: Annotated[
            str | None, QueryParameter(max_length=20, description="open, closed or open,closed")
        ] = None,
        start_date: Annotated[dt.datetime | None, QueryParameter()] = None,
        end_date: Annotated[
            dt.datetime | None, QueryParameter(description="At most 90 days after start_date")
        ] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100)] = 1,
        page_size: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> list[ServiceRequest]:
        query = RequestFilter(
            service_request_id=service_request_id,
            service_code=service_code,
            status=status,
            start_date=start_date,
            end_date=end_date,
            page=page,
            page_size=page_size,
        )
        return await open311_views.list_requests(runtime, query)

    @get("/{document:str}", include_in_schema=False, sync_to_thread=False)
    def other_document(self, document: Document) -> None:
        json_stem(document)
        raise NotFoundError(NO_SUCH_RESOURCE)

    @post("/{document:str}", include_in_schema=False, sync_to_thread=False)
    def other_post(self, document: Document) -> None:
        json_stem(document)
        raise NotFoundError(NO_SUCH_RESOURCE)
