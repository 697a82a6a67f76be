"""SQL injection: every query and path parameter of every operation in the committed OpenAPI
document gets classic injection payloads, as every caller (anonymous and each staff role).

Checked: never a 5xx; errors are problem details (Open311 keeps its own error shape); a list
answer never has more rows than the same request with a harmless value that matches nothing;
and afterwards every table is still there with its rows.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.conftest import ROOT
from tests.integration.test_authorization import (  # noqa: F401 - fixtures
    BODIES,
    WHO,
    db_url,
    world,
    world_template,
)

PAYLOADS = [
    "'",
    '"',
    "'; DROP TABLE referrals;--",
    "1 OR 1=1",
    "' OR '1'='1",
    "1); DELETE FROM users;--",
    "ΑΒΓ ünïcödé 🚀 \u202e",
    "abc\x00def",
]
HARMLESS = "zzqqxxnomatch"
DOCUMENT = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
METHODS = ("get", "post", "patch", "put", "delete")


def parameters() -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) for every query or path parameter in the document."""
    found = []
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            for param in operation.get("parameters", []):
                if param["in"] in ("query", "path"):
                    found.append((method.upper(), path, param["in"], param["name"]))
    return found


def path_values(ids: dict[str, str], reference: str) -> dict[str, str]:
    return {
        "referral_id": ids["referral"],
        "other_id": ids["referral2"],
        "person_id": ids["person"],
        "contact_id": ids["contact"],
        "reference": reference,
        "document": f"{reference}.json",
    }


REQUIRED_QUERY = {"token": "nope", "lat": "51.7366", "lon": "0.4693"}
BODY_FOR = {
    ("POST", "/v1/referrals/{referral_id}/attempts"): "attempt",
    ("POST", "/v1/referrals/{referral_id}/outcome"): "outcome",
    ("PATCH", "/v1/persons/{person_id}"): "patch",
}


def request(client, headers, method, path, where, name, value, values):  # type: ignore[no-untyped-def]
    target_path = path
    for key, default in values.items():
        replacement = quote(value, safe="") if (where, name) == ("path", key) else default
        target_path = target_path.replace("{" + key + "}", replacement)
    query = (
        {k: v for k, v in REQUIRED_QUERY.items() if f"{{{k}}}" not in path and k != name}
        if _needs_required(path)
        else {}
    )
    if where == "query":
        query[name] = value
    body = BODY_FOR.get((method, path))
    content = json.dumps(BODIES[body]()) if body else None
    return client.request(
        method,
        target_path,
        params=query,
        content=content,
        headers={**headers, "content-type": "application/json"},
    )


def _needs_required(path: str) -> bool:
    return path.endswith(("/status", "/lookup"))


def rows(response) -> int | None:  # type: ignore[no-untyped-def]
    """How many records a successful JSON answer lists (None: not a list answer)."""
    if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
        return None
    body = response.json()
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for key in ("items", "features", "results", "changes", "service_requests"):
            if isinstance(body.get(key), list):
                return len(body[key])
    return None


TABLES = ("referrals", "referral_events", "users", "contacts", "persons", "teams", "changes")


def table_counts(sql) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t: sql(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in TABLES}


@pytest.mark.parametrize("who", WHO)
def test_injection_payloads_in_every_parameter(client, staff, world, sql, who):  # noqa: F811
    headers = {} if who == "anonymous" else staff[who]
    reference = sql("SELECT reference FROM referrals WHERE id = $1", world["referral"])
    values = path_values(world, reference[0]["reference"])
    before = table_counts(sql)
    failures = []
    checked = compared = 0
    for method, path, where, name in parameters():
        harmless = rows(request(client, headers, method, path, where, name, HARMLESS, values))
        for payload in PAYLOADS:
            response = request(client, headers, method, path, where, name, payload, values)
            checked += 1
            problem = _problem(response, path)
            if problem:
                failures.append(f"{method} {path} {name}={payload!r}: {problem}")
            listed = rows(response)
            if listed is not None and harmless is not None:
                compared += 1
                if listed > harmless:
                    failures.append(f"{method} {path} {name}={payload!r}: {listed} rows")
    assert failures == []
    assert checked >= 40 * len(PAYLOADS)
    print(f"{who}: {checked} injection requests, {compared} list answers compared")
    if who != "anonymous":
        assert compared > 0, "no list answer was compared: the row check would be vacuous"
    after = table_counts(sql)
    # Payloads may create nothing and delete nothing: referrals, users and teams are as they
    # were (persons and events may grow from the valid bodies some operations carry).
    for table in ("referrals", "users", "teams", "contacts"):
        assert after[table] == before[table], table


def _problem(response, path: str) -> str | None:  # type: ignore[no-untyped-def]
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:200]}"
    content_type = response.headers.get("content-type", "")
    is_problem = content_type.startswith("application/problem+json")
    if response.status_code >= 400 and not path.startswith("/open311") and not is_problem:
        return f"{response.status_code} is not a problem: {response.text[:100]}"
    return None
