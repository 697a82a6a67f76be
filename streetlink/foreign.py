"""Reading loosely formatted values from foreign files (CSV exports, Open311 forms).

Each parser raises :class:`ValueError` with a message fit for a row report.
Dates are read the UK way (day first), never month first.

>>> parse_flag(" Yes "), parse_flag("n"), parse_flag("TRUE"), parse_flag("0")
(True, False, True, False)
>>> parse_uk_date("20/11/2024"), parse_uk_date("2024-11-20"), parse_uk_date("1.2.24")
(datetime.date(2024, 11, 20), datetime.date(2024, 11, 20), datetime.date(2024, 2, 1))
>>> parse_clock_time("9:05pm"), parse_clock_time("22:30"), parse_clock_time("Night")
(datetime.time(21, 5), datetime.time(22, 30), None)
>>> parse_datetime_text("20/11/2024 23:10")
datetime.datetime(2024, 11, 20, 23, 10)
>>> parse_datetime_text("2024-11-20T23:10:00Z")
datetime.datetime(2024, 11, 20, 23, 10, tzinfo=datetime.timezone.utc)
>>> enum_from_text(SiteType, "Bus shelter"), enum_from_text(AgeBand, "65+")
(<SiteType.BUS_SHELTER: 'bus_shelter'>, <AgeBand.OVER_65: 'over_65'>)
>>> enum_from_text(SiteType, "palace")
Traceback (most recent call last):
...
ValueError: not a recognised value; expected one of: doorway, tent, vehicle, park, bus_shelter, \
car_park, stairwell, woodland, other
>>> unescape_spreadsheet_text("'=SUM(A1)"), escape_spreadsheet_text("=SUM(A1)")
('=SUM(A1)', "'=SUM(A1)")
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from typing import TypeVar

from streetlink.schema import AgeBand, Gender, SiteType, TimeBand

__all__ = [
    "enum_from_text",
    "escape_spreadsheet_text",
    "parse_clock_time",
    "parse_datetime_text",
    "parse_flag",
    "parse_uk_date",
    "unescape_spreadsheet_text",
]

E = TypeVar("E", bound=StrEnum)

_TRUE = frozenset({"true", "t", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_UK_DATE = re.compile(r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4}|\d{2})$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?::(?P<s>\d{2}))?\s*(?P<ap>am|pm)?$")
_UK_DATETIME = re.compile(r"^(?P<date>\S+)[ T]+(?P<time>\d.*)$")
_FORMULA_START = frozenset("=+-@\t\r")

_ALIASES: dict[type[StrEnum], dict[str, str]] = {
    Gender: {
        "f": "female",
        "woman": "female",
        "m": "male",
        "man": "male",
        "nonbinary": "non_binary",
        "not_known": "unknown",
        "don_t_know": "unknown",
        "prefer_not": "prefer_not_to_say",
    },
    AgeBand: {
        "under18": "under_18",
        "0_17": "under_18",
        "18_to_25": "18_25",
        "26_to_35": "26_35",
        "36_to_45": "36_45",
        "46_to_55": "46_55",
        "56_to_65": "56_65",
        "65+": "over_65",
        "66+": "over_65",
        "not_known": "unknown",
    },
    SiteType: {
        "shop_doorway": "doorway",
        "car": "vehicle",
        "van": "vehicle",
        "woods": "woodland",
        "stairs": "stairwell",
        "multi_storey_car_park": "car_park",
    },
    TimeBand: {"overnight": "night", "late_night": "night", "dawn": "early_morning"},
}


def _key(text: str) -> str:
    without_notes = re.sub(r"\([^)]*\)", " ", text.lower())
    return re.sub(r"[^a-z0-9+]+", "_", without_notes).strip("_")


def enum_from_text(enum_type: type[E], text: str) -> E:
    """A member of ``enum_type`` from a label such as ``"Car park"`` or ``"18-25"``."""
    key = _key(text)
    key = _ALIASES.get(enum_type, {}).get(key, key)
    try:
        return enum_type(key)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValueError(f"not a recognised value; expected one of: {allowed}") from None


def parse_flag(text: str) -> bool:
    """yes/no, y/n, true/false, 1/0 (any case)."""
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError("expected yes or no")


def parse_uk_date(text: str) -> date:
    """ISO ``2024-11-20`` or day-first ``20/11/2024``, ``20.11.24``, ``20-11-2024``."""
    text = text.strip()
    match = _UK_DATE.match(text)
    try:
        if match is None:
            return date.fromisoformat(text)
        year = int(match["y"])
        year = year + 2000 if year < 100 else year
        return date(year, int(match["m"]), int(match["d"]))
    except ValueError:
        raise ValueError("not a date; expected DD/MM/YYYY or YYYY-MM-DD") from None


def parse_clock_time(text: str) -> time | None:
    """``22:30``, ``22.30``, ``9pm``, ``9:05 pm``; ``None`` when it is not a clock time."""
    match = _CLOCK.match(text.strip().lower())
    if match is None:
        return None
    hour, minute, second = int(match["h"]), int(match["m"] or 0), int(match["s"] or 0)
    if match["ap"] is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ap"] == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def parse_datetime_text(text: str) -> datetime:
    """ISO 8601 (``Z`` or offset kept; naive stays naive), or ``DD/MM/YYYY HH:MM``."""
    text = text.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _UK_DATETIME.match(text)
    clock = parse_clock_time(match["time"]) if match else None
    if match is None or clock is None:
        raise ValueError("not a date and time; expected YYYY-MM-DDTHH:MM or DD/MM/YYYY HH:MM")
    return datetime.combine(parse_uk_date(match["date"]), clock)


def escape_spreadsheet_text(text: str) -> str:
    """Prefix ``'`` so a spreadsheet shows text starting with ``= + - @`` instead of running it."""
    if text and (text[0] in _FORMULA_START or text[0] == "'"):
        return "'" + text
    return text


def unescape_spreadsheet_text(text: str) -> str:
    """Undo :func:`escape_spreadsheet_text`."""
    if len(text) > 1 and text[0] == "'" and (text[1] in _FORMULA_START or text[1] == "'"):
        return text[1:]
    return text
