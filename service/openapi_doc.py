"""The committed OpenAPI document, generated from the app (``make openapi``)."""

from __future__ import annotations

import json

from service.app import create_app
from service.settings import Settings

# Only used to build the app object: no connection is opened to generate the schema.
_DOC_SETTINGS = Settings(database_url="postgresql://doc@127.0.0.1:1/doc", jwt_secret="doc-only")  # noqa: S106


def openapi_json() -> str:
    app = create_app(_DOC_SETTINGS)
    schema = app.openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
