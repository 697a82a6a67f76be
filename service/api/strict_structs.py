"""Make the OpenAPI document say what msgspec enforces on our Structs.

Litestar's own Struct plugin gets two things wrong, so the document admitted bodies that
the API rejects with ``400``:

* ``forbid_unknown_fields`` Structs were open objects: they now carry
  ``additionalProperties: false``;
* a bound of zero (``Meta(ge=0)``) was dropped, because Litestar skips falsy constraint
  values: zero bounds are put back.

This plugin is registered before Litestar's (user plugins come first) and delegates to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import Schema

if TYPE_CHECKING:
    from litestar.typing import FieldDefinition

# msgspec numeric constraint -> JSON Schema keyword (as Litestar's Schema attribute)
_BOUNDS = {"ge": "minimum", "gt": "exclusive_minimum", "le": "maximum", "lt": "exclusive_maximum"}


def _numeric_type(field_type: Any) -> Any:
    """The int/float type of a field, through ``Optional`` and ``Annotated`` metadata."""
    if isinstance(field_type, msgspec.inspect.UnionType):
        arms = [t for t in field_type.types if not isinstance(t, msgspec.inspect.NoneType)]
        field_type = arms[0] if len(arms) == 1 else None
    if isinstance(field_type, msgspec.inspect.Metadata):
        field_type = field_type.type
    numeric = (msgspec.inspect.IntType, msgspec.inspect.FloatType)
    return field_type if isinstance(field_type, numeric) else None


def _restore_zero_bounds(schema: Schema, info: msgspec.inspect.StructType) -> None:
    for field in info.fields:
        numeric = _numeric_type(field.type)
        prop = (schema.properties or {}).get(field.encode_name)
        if numeric is None or not isinstance(prop, Schema):
            continue
        for constraint, keyword in _BOUNDS.items():
            if getattr(numeric, constraint) == 0 and getattr(prop, keyword) is None:
                setattr(prop, keyword, 0)


class ExactStructSchemaPlugin(StructSchemaPlugin):
    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType):
            if info.forbid_unknown_fields:
                schema.additional_properties = False
            _restore_zero_bounds(schema, info)
        return schema
