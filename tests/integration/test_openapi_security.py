"""The OpenAPI document tells the truth about security: each operation's security requirement
and the roles in its description are checked against what the server answers.

Every operation of the document is called with dummy parameters and an empty body: without a
token (public operations must not answer 401, the others must), with the scrape token where the
document offers it, and with a staff token of each role (a role the description leaves out must
get 403; a role it names must get neither 401 nor 403: the users are in scope of the parameters).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from service.db.models import ROLES
from service.settings import Settings
from tests.conftest import STAFF, make_settings

SCRAPE_TOKEN = "scrape-" + "y" * 32
# The routes anyone may call: a change here is a decision about what is public.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/v1/areas"),
    ("GET", "/v1/areas/lookup"),
    ("GET", "/v1/places/search"),
    ("POST", "/v1/auth/token"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/referrals"),
    ("GET", "/v1/referrals/{reference}/status"),
    ("POST", "/v1/referrals/{reference}/unsubscribe"),
    ("GET", "/open311/v2/services.json"),
    ("GET", "/open311/v2/services/{document}"),
    ("GET", "/open311/v2/requests.json"),
    ("POST", "/open311/v2/requests.json"),
    ("GET", "/open311/v2/requests/{document}"),
}
# One in-scope user per role: refusals below are for the role, not for the scope.
BY_ROLE = {STAFF[name][0]: name for name in ("worker_mid", "coord_mid", "admin")}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url, metrics_token=SCRAPE_TOKEN)


@pytest.fixture
def document(client) -> dict[str, Any]:
    return client.get("/openapi/openapi.json").json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def schemes(operation: dict[str, Any]) -> list[str]:
    return [name for requirement in operation.get("security", []) for name in requirement]


def documented_roles(operation: dict[str, Any]) -> list[str]:
    found = re.findall(r"^Roles: ([a-z, ]+)\.", operation.get("description", ""), re.MULTILINE)
    assert len(found) == 1, operation.get("description")
    return found[0].split(", ")


def concrete(path: str, operation: dict[str, Any]) -> str:
    """The path with a value of the right type for each path parameter."""
    kinds = {
        p["name"]: p["schema"]
        for p in operation.get("parameters", [])
        if p["in"] == "path" and "schema" in p
    }

    def value(match: re.Match[str]) -> str:
        schema = kinds.get(match.group(1), {})
        if schema.get("type") == "integer":
            return "1"
        if schema.get("format") == "uuid":
            return str(uuid.uuid4())
        return "E07000070"  # a string: Chelmsford's code, in coord_mid's scope

    return re.sub(r"\{(\w+)\}", value, path)


def call(client, method: str, path: str, operation: dict[str, Any], token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, concrete(path, operation), headers=headers)


def test_the_document_has_no_global_requirement_and_names_its_schemes(document):
    assert "security" not in document
    assert set(document["components"]["securitySchemes"]) == {"BearerToken", "MetricsToken"}


def test_public_operations_have_no_requirement_and_the_others_the_bearer_token(document):
    listed = {(method, path) for method, path, _ in operations(document)}
    assert listed >= PUBLIC, "a public route left the document"
    for method, path, operation in operations(document):
        if (method, path) in PUBLIC:
            assert "security" not in operation, (method, path)
            assert "Roles:" not in operation.get("description", ""), (method, path)
        else:
            assert "BearerToken" in schemes(operation), (method, path)
            assert set(documented_roles(operation)) <= set(ROLES), (method, path)


def test_what_needs_a_token_is_what_the_server_refuses_without_one(client, document):
    for method, path, operation in operations(document):
        response = call(client, method, path, operation)
        if schemes(operation):
            assert response.status_code == 401, (method, path, response.text)
        else:
            assert response.status_code != 401, (method, path, response.text)


def test_the_documented_roles_are_the_roles_the_server_admits(client, staff, document):
    assert set(BY_ROLE) == set(ROLES)
    token = {role: staff[name]["Authorization"].split()[1] for role, name in BY_ROLE.items()}
    refused_roles = set()
    for method, path, operation in operations(document):
        if not schemes(operation):
            continue
        allowed = documented_roles(operation)
        for role in ROLES:
            response = call(client, method, path, operation, token[role])
            where = (method, path, role, response.status_code, response.text)
            if role in allowed:
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 403, where
                refused_roles.add(role)
    assert refused_roles == {"worker", "coordinator"}


def test_the_scrape_token_is_admitted_where_the_document_offers_it(client, document):
    offered = [op for op in operations(document) if "MetricsToken" in schemes(op[2])]
    assert [(method, path) for method, path, _ in offered] == [("GET", "/metrics")]
    for method, path, operation in offered:
        assert call(client, method, path, operation, SCRAPE_TOKEN).status_code == 200
        assert call(client, method, path, operation, "not-" + SCRAPE_TOKEN).status_code == 401
