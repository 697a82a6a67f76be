"""Domain errors of the StreetLink wire format. They know nothing of HTTP.

``service/errors.py`` maps each class to a status and a problem type. Every
message is safe to show to the person who sent the data: it names the field
and the rule, and never echoes a stored value.

>>> err = ReferralValidationError("$.postcode", "not a valid UK postcode")
>>> err.field, err.message
('$.postcode', 'not a valid UK postcode')
>>> str(err)
'$.postcode: not a valid UK postcode'
>>> isinstance(err, StreetLinkError)
True
"""

from __future__ import annotations

__all__ = [
    "ImportFormatError",
    "ImportRowError",
    "InvalidReferenceError",
    "ReferralValidationError",
    "StreetLinkError",
]


class StreetLinkError(Exception):
    """Base class of every error raised by :mod:`streetlink`."""


class ReferralValidationError(StreetLinkError):
    """An alert breaks a rule; ``field`` is a JSON path such as ``$.referrer.email``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ImportRowError(StreetLinkError):
    """One row of an imported file is unusable; the rest of the file may still be fine.

    ``line`` is 1-based and counts the header as line 1; for a record spanning
    several physical lines (a quoted multi-line field) it is the first line.
    """

    def __init__(self, line: int, field: str | None, message: str) -> None:
        where = f"line {line}" if field is None else f"line {line}, {field}"
        super().__init__(f"{where}: {message}")
        self.line = line
        self.field = field
        self.message = message


class ImportFormatError(StreetLinkError):
    """A whole imported file is unusable (no header, no location columns, too many rows)."""


class InvalidReferenceError(StreetLinkError):
    """A referral reference code is malformed or fails its check character."""
