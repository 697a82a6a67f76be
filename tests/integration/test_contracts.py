"""Contracts: the OpenAPI document, models vs migrations, the error table, settings."""

from __future__ import annotations

import asyncio
import inspect
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import geo.errors
import service.exceptions
import streetlink
from service.db.models import Base
from service.db.schema_filter import include_object
from service.errors import TABLE
from service.openapi_doc import openapi_json
from service.settings import Settings, SettingsError, to_sqlalchemy_url
from tests.conftest import ROOT, assert_problem


def test_committed_openapi_matches_the_app():
    committed = (ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(committed) == json.loads(openapi_json()), "run `make openapi`"


OPEN311_ERRORS = {"type": "array", "items": {"$ref": "#/components/schemas/Open311Error"}}


def test_every_operation_has_an_explicit_id_and_summary():
    document = json.loads(openapi_json())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("operationId"), (method, path)
            assert operation.get("summary"), (method, path)
            content = operation["responses"]["500"]["content"]
            if path.startswith("/open311/"):  # GeoReport v2 has its own error shape
                assert content["application/json"]["schema"] == OPEN311_ERRORS, (method, path)
            else:
                assert "application/problem+json" in content, (method, path)


def test_models_and_migrations_agree(db_url):
    async def diff():
        engine = create_async_engine(to_sqlalchemy_url(db_url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(
                            sync, opts={"include_object": include_object, "compare_type": True}
                        ),
                        Base.metadata,
                    )
                )
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


def _public_exceptions(module):
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == module.__name__
    ]


@pytest.mark.parametrize("module", [geo.errors, service.exceptions], ids=lambda m: m.__name__)
def test_every_public_exception_is_in_the_error_table(module):
    missing = [cls.__name__ for cls in _public_exceptions(module) if cls not in TABLE]
    assert missing == []


def test_streetlink_exceptions_are_in_the_error_table():
    errors = pytest.importorskip("streetlink.errors")
    missing = [cls.__name__ for cls in _public_exceptions(errors) if cls not in TABLE]
    assert missing == [], streetlink.__name__


def test_unknown_routes_and_methods_are_problems(client):
    assert_problem(client.get("/no/such/thing"), 404, "not-found")
    assert_problem(client.delete("/v1/teams"), 405, "method-not-allowed")


def test_settings_from_env_reads_prefixed_variables():
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://a@b/c",
            "OUTREACH_DB_POOL_SIZE": "3",
            "OUTREACH_CORS_ORIGINS": "https://a.example, https://b.example",
            "OUTREACH_DUPLICATE_RADIUS_M": "120.5",
        }
    )
    assert settings.database_url == "postgresql://a@b/c"
    assert settings.sqlalchemy_url == "postgresql+asyncpg://a@b/c"
    assert settings.db_pool_size == 3
    assert settings.duplicate_radius_m == 120.5
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert len(settings.jwt_secret) >= 32
    with pytest.raises(SettingsError):
        Settings.from_env({})
    with pytest.raises(SettingsError):
        Settings.from_env({"DATABASE_URL": "postgresql://a@b/c", "OUTREACH_DB_POOL_SIZE": "x"})


def test_a_nul_character_is_a_400_problem_not_a_500(client):
    response = client.post("/v1/auth/token", json={"username": "a\u0000b", "password": "x"})
    body = assert_problem(response, 400, "invalid-request")
    assert "sql" not in response.text.lower()
    assert "utf8" not in response.text.lower()
    assert body["detail"]
