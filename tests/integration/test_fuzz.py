"""Property-based fuzzing of every documented operation with schemathesis.

The committed ``openapi/openapi.json`` (the contract clients build against, not the live
document) drives the generation. Requests go through Litestar's ``TestClient`` so the app's
lifespan (engine, HTTP client, area index) runs exactly as in production, against a fresh
database per test. Each case is sent anonymously and with an admin's bearer token.

Checks: no 5xx, documented status codes and content types, bodies that match their schema,
and every error is an RFC 9457 problem (``application/problem+json``) — except under
``/open311``, whose error shape is Open311's own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ROOT

BASE_URL = "http://testserver.local"  # Litestar's TestClient default
MAX_EXAMPLES = 25
PROBLEM_MEDIA_TYPE = "application/problem+json"
OWN_ERROR_SHAPE = ("/open311",)

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20241121,
        "generation": {
            "mode": "all",  # valid and invalid inputs
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json", config=CONFIG)
CHELMSFORD = {"lat": 51.7366, "lon": 0.4693}


@schema.hook
def map_body(context: Any, body: Any) -> Any:
    """Pin generated referrals in Essex, seen two hours ago, when they say neither where nor
    when: the cross-field rules would reject nearly all of them before intake otherwise."""
    operation = context.operation
    if (operation.method, operation.path) != ("post", "/v1/referrals"):
        return body
    if not isinstance(body, dict):
        return body
    if not {"lat", "lon", "accuracy_m"} & body.keys():
        body = {**body, **CHELMSFORD}
    if not {"seen_at", "seen_date"} & body.keys():
        seen = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        body = {**body, "seen_at": seen.isoformat()}
    return body


# Deterministic, bounded, and no shrinking: a failure is reported as first found.
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def errors_are_problems(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx outside ``/open311`` is ``application/problem+json`` with its status."""
    if response.status_code < 400 or case.path.startswith(OWN_ERROR_SHAPE):
        return None
    content_type = response.headers.get("content-type", [""])[0]
    body = response.json() if content_type.startswith(PROBLEM_MEDIA_TYPE) else None
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        raise AssertionError(
            f"{response.status_code} is not a problem document "
            f"(content-type {content_type!r}): {response.text[:200]}"
        )
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    errors_are_problems,
]


def send(client: TestClient[Any], case: Any, headers: dict[str, str]) -> Any:
    """Serialise the case as schemathesis would, then send it through the app's TestClient."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        cookies=kwargs.get("cookies"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
    ).prepare()
    sent_headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    return client.request(
        prepared.method or case.method,
        prepared.url or kwargs["url"],
        headers=sent_headers,
        content=prepared.body,
        follow_redirects=False,
    )


def check(client: TestClient[Any], case: Any, headers: dict[str, str]) -> None:
    response = send(client, case, headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.fixture
def admin_headers(staff: dict[str, dict[str, str]]) -> dict[str, str]:
    """The template database's admin, with a minted token (no argon2 per operation)."""
    return staff["admin"]


def needs_token(case: Any) -> bool:
    """The operation documents a security requirement (a bearer token, or the metrics one)."""
    return bool(case.operation.definition.raw.get("security"))


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz(case: Any, client: TestClient[Any], admin_headers: dict[str, str]) -> None:
    """Each case is sent anonymously, then as an admin: generating a case costs several times
    what sending it does, and two tests (one for each caller) made the same cases twice.

    An operation that needs a token refuses an anonymous request before reading its query or
    body, so anonymously it gets the examples and the coverage cases (every undocumented
    method, each parameter missing, empty or malformed) and not the random ones, which would
    each meet the same 401."""
    if not (needs_token(case) and case.meta.phase.name == TestPhase.FUZZING):
        check(client, case, {})
    check(client, case, admin_headers)


def test_options_on_a_guarded_route_answers_allow_not_500(client: TestClient[Any]) -> None:
    """Found by the fuzzer: the role guard read ``request.user`` on the (unauthenticated)
    automatic OPTIONS answer and crashed."""
    ids = "/v1/referrals/e3e70682-c209-1cac-a29f-6fbed82c07cd/duplicate-of/" + "1" * 32
    response = client.options(ids)
    assert response.status_code == 204
    assert "POST" in response.headers["allow"]


def test_each_operation_is_a_test_of_its_own(request: pytest.FixtureRequest) -> None:
    """pytest 9.2 under pytest-xdist collected each fuzz test as one item that fuzzed nothing
    (0.14 s, where its 66 items, one an operation, took 80 s together): ``make test``
    passed without a single generated request. An item without an operation in its name is
    that again."""
    fuzz = [
        item.name
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_fuzz"
    ]
    assert all(name.endswith("]") for name in fuzz), fuzz
