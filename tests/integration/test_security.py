"""Security: headers on every response, CORS only for configured origins, nothing internal in
any error, JWT checks, sign-in throttling, and stored script inert on every HTML page."""

from __future__ import annotations

import datetime as dt
import html.parser
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import pytest
from litestar import get
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from service.app import create_app
from tests.conftest import PASSWORD, assert_problem, make_settings
from tests.dbproxy import DatabaseProxy, via_proxy
from tests.integration.test_referrals import alert

SECRET = make_settings("postgresql://unused/x").jwt_secret
LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|/work/|/usr/|site-packages|SELECT |INSERT |UPDATE |asyncpg|"
    r"sqlalchemy|sqlstate|password_hash",
    re.IGNORECASE,
)
PAGES = [
    "/report",
    "/docs",
    "/report/status/ESX-2345-67?token=nope",
    "/static/site.css",
    "/no/such/page",
    "/v1/areas",
    "/openapi/openapi.json",
]


# ---------------------------------------------------------------- headers and CORS


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives.get("default-src", "")
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-request-id"]


ALLOWED = "https://outreach.example.org"


@pytest.fixture
def cors_client(db_url):
    with TestClient(app=create_app(make_settings(db_url, cors_origins=(ALLOWED,)))) as c:
        yield c


def preflight(client, origin):
    return client.options(
        "/v1/referrals",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_cors_answers_a_configured_origin(cors_client):
    answer = preflight(cors_client, ALLOWED)
    assert answer.status_code in (200, 204)
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in answer.headers["access-control-allow-methods"]
    simple = cors_client.get("/v1/areas", headers={"Origin": ALLOWED})
    assert simple.headers["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize("origin", ["https://evil.example", "null", ALLOWED + ".evil.example"])
def test_cors_ignores_other_origins(cors_client, origin):
    assert "access-control-allow-origin" not in preflight(cors_client, origin).headers
    simple = cors_client.get("/v1/areas", headers={"Origin": origin})
    assert "access-control-allow-origin" not in simple.headers


def test_without_configured_origins_there_is_no_cors_at_all(client):
    assert "access-control-allow-origin" not in preflight(client, ALLOWED).headers
    assert (
        "access-control-allow-origin"
        not in client.get("/v1/areas", headers={"Origin": ALLOWED}).headers
    )


# ---------------------------------------------------------------- nothing internal in errors


def assert_no_leak(response, status):
    body = assert_problem(response, status)
    assert not LEAKS.search(response.text), response.text
    return body


@get("/test-only/boom", opt={"public": True}, sync_to_thread=False)
def boom() -> None:
    raise RuntimeError('SELECT password_hash FROM users -- File "/work/service/secret.py"')


def test_no_error_shows_a_stack_trace_sql_or_a_path(db_url, staff):
    app = create_app(make_settings(db_url, max_public_body_bytes=2048))
    app.register(boom)
    cases = [
        ("GET", "/no/such/page", {}, None, 404),
        ("DELETE", "/v1/teams", staff["admin"], None, 405),
        ("POST", "/v1/referrals", {}, b'{"lat": ', 400),
        ("POST", "/v1/referrals", {}, b'{"lat": "north"}', 400),
        ("POST", "/v1/referrals", {}, b"x" * 4096, 413),
        ("GET", "/v1/referrals?limit=abc", staff["admin"], None, 400),
        ("GET", "/v1/referrals/not-a-uuid", staff["admin"], None, 404),
        ("GET", "/v1/audit?since=yesterday'--", staff["admin"], None, 400),
        ("GET", "/v1/areas/lookup?lat=10&lon=10", {}, None, 404),
        ("POST", "/v1/auth/token", {}, {"username": "admin", "password": "nope"}, 401),
        ("GET", "/v1/teams", {"Authorization": "Bearer not.a.token"}, None, 401),
        ("GET", "/test-only/boom", {}, None, 500),
    ]
    with TestClient(app=app, raise_server_exceptions=False) as client:
        for method, path, headers, body, status in cases:
            kwargs: dict[str, Any] = {"headers": {"content-type": "application/json", **headers}}
            if isinstance(body, bytes):
                kwargs["content"] = body
            elif body is not None:
                kwargs["json"] = body
            assert_no_leak(client.request(method, path, **kwargs), status)


def test_a_database_outage_answer_shows_nothing_internal(db_url):
    parts = urlsplit(db_url)
    proxy = DatabaseProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.up()
    url = urlunsplit(parts._replace(netloc=via_proxy(parts, proxy.port)))
    try:
        with TestClient(app=create_app(make_settings(url, db_connect_timeout_s=1.0))) as client:
            proxy.down()
            for response in (
                client.get("/v1/areas"),
                client.post("/v1/referrals", json=alert()),
                client.post("/v1/auth/token", json={"username": "a", "password": "b"}),
            ):
                assert_no_leak(response, 503)
                assert int(response.headers["retry-after"]) > 0
    finally:
        proxy.close()


# ---------------------------------------------------------------- JWT


def token(sub: str = "1", *, key: str = SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    now = dt.datetime.now(dt.UTC)
    payload = {"sub": sub, "iat": now, "exp": now + dt.timedelta(hours=1), **claims}
    return jwt.encode(payload, key if algorithm != "none" else None, algorithm=algorithm)


def admin_id(sql) -> str:
    return str(sql("SELECT id FROM users WHERE username = 'admin'")[0]["id"])


def test_a_well_formed_admin_token_is_accepted(client, staff, sql):
    # The control for the refusals below: the same claims, signed properly, get in.
    headers = {"Authorization": f"Bearer {token(admin_id(sql))}"}
    assert client.get("/v1/audit", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param({"exp": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)}, id="expired"),
        pytest.param({"key": "another-secret-" + "q" * 32}, id="wrong-signature"),
        pytest.param({"algorithm": "none"}, id="alg-none"),
        pytest.param({"algorithm": "HS512"}, id="other-algorithm"),
    ],
)
@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_forged_or_expired_tokens_are_refused(client, staff, sql, forged):
    encoded = token(admin_id(sql), **forged)
    response = client.get("/v1/audit", headers={"Authorization": f"Bearer {encoded}"})
    assert_problem(response, 401)


def test_a_token_with_a_tampered_payload_is_refused(client, staff, sql):
    header, _, signature = token(admin_id(sql)).split(".")
    other = token("999999").split(".")[1]
    response = client.get(
        "/v1/audit", headers={"Authorization": f"Bearer {header}.{other}.{signature}"}
    )
    assert_problem(response, 401)


def test_a_deactivated_users_token_stops_working_at_once(client, staff, sql):
    assert client.get("/v1/teams", headers=staff["worker_mid"]).status_code == 200
    sql("UPDATE users SET active = false WHERE username = 'worker_mid'")
    assert_problem(client.get("/v1/teams", headers=staff["worker_mid"]), 401)
    deactivated = client.post(
        "/v1/auth/token", json={"username": "worker_mid", "password": PASSWORD}
    )
    assert_problem(deactivated, 401)


# ---------------------------------------------------------------- sign-in throttling


class ClientAddress:
    """Test-only ASGI layer: the client address from an ``x-test-client`` header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        for name, value in scope.get("headers", ()):
            if name == b"x-test-client":
                scope["client"] = (value.decode(), 40000)
        await self.app(scope, receive, send)


def app_with_addresses(db_url: str, **overrides: Any) -> Any:
    app = create_app(make_settings(db_url, **overrides))
    app.asgi_handler = ClientAddress(app.asgi_handler)
    return app


def sign_in(client, username, password, address):
    return client.post(
        "/v1/auth/token",
        json={"username": username, "password": password},
        headers={"x-test-client": address},
    )


@pytest.mark.parametrize("store", ["memory", "postgres"])
def test_failed_sign_ins_for_one_username_are_throttled_from_any_address(db_url, staff, store):
    settings = {"rate_limit_store": store, "login_backoff_base_s": 60}
    with TestClient(app=app_with_addresses(db_url, **settings)) as client:
        for i in range(5):
            assert sign_in(client, "worker_mid", "wrong", f"10.0.0.{i}").status_code == 401
        # From yet another address, even with the right password: refused for a while.
        refused = sign_in(client, "Worker_Mid ", PASSWORD, "10.0.9.9")
        assert_problem(refused, 429, "rate-limited")
        assert 0 < int(refused.headers["retry-after"]) <= 60
        # Nobody else is slowed down, from the same address either.
        assert sign_in(client, "admin", PASSWORD, "10.0.9.9").status_code == 200


def test_failed_sign_ins_from_one_address_are_throttled(db_url, staff):
    with TestClient(app=app_with_addresses(db_url)) as client:
        for i in range(20):
            assert sign_in(client, f"guess{i}", "wrong", "10.1.0.1").status_code == 401
        assert_problem(sign_in(client, "admin", PASSWORD, "10.1.0.1"), 429, "rate-limited")
        assert sign_in(client, "admin", PASSWORD, "10.1.0.2").status_code == 200


def test_a_successful_sign_in_forgives_its_own_addresses_failures(db_url, staff):
    # From an address known for the user, only failures from there slow them down, after
    # OUTREACH_LOGIN_FAILURES_PER_ADDRESS of them; signing in forgives them.
    settings = {"login_failures_per_address": 5, "login_backoff_base_s": 60}
    with TestClient(app=app_with_addresses(db_url, **settings)) as client:
        assert sign_in(client, "coord_mid", PASSWORD, "10.2.1.1").status_code == 200
        for _ in range(3):
            for _ in range(4):
                assert sign_in(client, "coord_mid", "wrong", "10.2.1.1").status_code == 401
            assert sign_in(client, "coord_mid", PASSWORD, "10.2.1.1").status_code == 200
        for _ in range(5):
            assert sign_in(client, "coord_mid", "wrong", "10.2.1.1").status_code == 401
        assert_problem(sign_in(client, "coord_mid", PASSWORD, "10.2.1.1"), 429, "rate-limited")


def test_the_postgres_store_shares_sign_in_failures_between_processes(db_url, staff):
    settings = {"rate_limit_store": "postgres", "login_backoff_base_s": 60}
    with (
        TestClient(app=app_with_addresses(db_url, **settings)) as one,
        TestClient(app=app_with_addresses(db_url, **settings)) as two,
    ):
        for i in range(3):
            assert sign_in(one, "worker_south", "wrong", f"10.3.0.{i}").status_code == 401
        for i in range(2):
            assert sign_in(two, "worker_south", "wrong", f"10.3.1.{i}").status_code == 401
        assert_problem(sign_in(one, "worker_south", PASSWORD, "10.3.2.1"), 429)
        assert_problem(sign_in(two, "worker_south", PASSWORD, "10.3.2.2"), 429)


# ---------------------------------------------------------------- stored XSS


SCRIPTS = [
    '<script>alert("x1")</script>',
    '<img src=x onerror="alert(2)">',
    '"><svg onload=alert(3)>',
    "javascript:alert(4)//</textarea></title>",
]


class Tags(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text inside script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def assert_inert(page: str) -> None:
    for script in SCRIPTS:
        assert script not in page
    parser = Tags()
    parser.feed(page)
    assert parser.script_text == [], "inline script"
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert tag not in ("svg", "iframe", "object", "embed"), tag
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").lower().startswith("javascript:"), attrs


def html_get_routes(app: Any) -> list[str]:
    """Every GET route outside the API's JSON operations (the server-rendered pages)."""
    paths = []
    for route in app.routes:
        api = route.path.startswith(("/v1", "/open311", "/openapi", "/static", "/metrics"))
        if isinstance(route, HTTPRoute) and "GET" in route.methods and not api:
            paths.append(route.path)
    return paths


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), SCRIPTS[0]), path)


def test_stored_script_in_a_referral_is_inert_on_every_html_page(client, staff, sql):
    body = alert(
        location_description=" ".join(SCRIPTS),
        appearance=SCRIPTS[0],
        clothing=SCRIPTS[1],
        belongings=SCRIPTS[2],
        referrer={"name": SCRIPTS[3], "email": "a@example.org", "consent_to_contact": True},
    )
    receipt = client.post("/v1/referrals", json=body).json()
    reference = receipt["reference"]
    stored = sql("SELECT appearance, clothing FROM referrals WHERE reference = $1", reference)[0]
    assert (stored["appearance"], stored["clothing"]) == (SCRIPTS[0], SCRIPTS[1])  # kept as text
    token_value = receipt["status_url"].split("token=")[1]
    values = {"reference": reference}
    routes = html_get_routes(client.app)
    assert "/report/status/{reference:str}" in routes
    pages = 0
    for route in routes:
        response = client.get(fill(route, values), params={"token": token_value})
        if response.headers.get("content-type", "").startswith("text/html"):
            assert_inert(response.text)
            pages += 1
    assert pages >= 3
    # Staff views of the referral are JSON, never sniffed as HTML.
    referral_id = sql("SELECT id FROM referrals WHERE reference = $1", reference)[0]["id"]
    staff_view = client.get(f"/v1/referrals/{referral_id}", headers=staff["coord_mid"])
    assert staff_view.status_code == 200
    assert staff_view.headers["content-type"].startswith("application/json")
    assert staff_view.headers["x-content-type-options"] == "nosniff"
