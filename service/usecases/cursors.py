"""Opaque keyset cursors: base64url of the last row's position, encoded as a msgspec Struct.

A client cannot build or alter one meaningfully; a cursor that does not decode into the
expected position is a 422 naming the ``cursor`` parameter (or the one given as ``field``).

>>> class Position(msgspec.Struct, array_like=True, frozen=True):
...     at: str
...     id: int
>>> decode_cursor(encode_cursor(Position("2025-01-02", 42)), Position) == Position("2025-01-02", 42)
True
>>> decode_cursor(None, Position) is None
True
>>> decode_cursor("e30", Position)  # base64 of {}: well-formed, but not a position
Traceback (most recent call last):
...
service.exceptions.InvalidInputError: the cursor is not valid: start again without it
"""

from __future__ import annotations

import base64
import binascii
from typing import TypeVar

import msgspec

from service.exceptions import InvalidInputError

P = TypeVar("P", bound=msgspec.Struct)


def encode_cursor(position: msgspec.Struct) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None, position_type: type[P], *, field: str = "cursor") -> P | None:
    """The position in a cursor (``None`` for the first page)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=position_type)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInputError(
            "the cursor is not valid: start again without it", field=field
        ) from None
