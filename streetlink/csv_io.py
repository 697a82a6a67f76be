r"""Import StreetLink-style CSV exports; export normalised referrals as CSV.

Import is tolerant of the file and strict about each row:

* bytes are read as UTF-8 (with or without BOM), falling back to cp1252;
* header names are matched case-insensitively, ignoring punctuation, with
  common aliases (``Latitude``, ``Date seen``, ``Sleeping site``...); unknown
  columns are ignored;
* every row is validated like an API alert; a bad row becomes a :class:`RowError`
  with its 1-based line number (header = line 1; a record with a quoted
  multi-line field is reported at its first line) and the rest are kept;
* when a row has a ``seen_at`` value, any date/time/band columns are ignored
  (an export carries both); ``Time seen`` may be a clock time or a band name;
* referrer contact details are imported only when the row records consent to
  contact (yes); otherwise they are dropped, not kept and not an error, as the
  foreign system's consent is unknown (the API, by contrast, rejects them).

Export writes :data:`EXPORT_COLUMNS` (plus :data:`REFERRER_COLUMNS` on request),
text cells that a spreadsheet would run as a formula get a leading ``'``
(removed again on import), and ``import_csv(export_csv(rows), now=now)``
gives the same referrals back.

>>> from datetime import datetime, timezone
>>> now = datetime(2024, 11, 21, 9, 0, tzinfo=timezone.utc)
>>> text = (
...     "Alert ID,Latitude,Longitude,Date seen,Time seen,Colour of door\r\n"
...     "A1,51.7366,0.4693,20/11/2024,Night,red\r\n"
...     "A2,95,0.4693,20/11/2024,23:10,blue\r\n"
... )
>>> result = import_csv(text, now=now)
>>> [(r.source_ref, r.seen_time_band.value) for r in result.rows]
[('A1', 'night')]
>>> result.errors
[RowError(line=3, reason='Expected `float` <= 90.0', field='$.lat', column='Latitude')]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import IO, Any

import msgspec

from streetlink.errors import ImportFormatError, ImportRowError, ReferralValidationError
from streetlink.foreign import (
    enum_from_text,
    escape_spreadsheet_text,
    parse_clock_time,
    parse_datetime_text,
    parse_flag,
    parse_uk_date,
    unescape_spreadsheet_text,
)
from streetlink.normalise import normalise
from streetlink.schema import (
    AgeBand,
    Gender,
    NormalisedReferral,
    SiteType,
    StreetLinkAlert,
    TimeBand,
    validation_error_from_msgspec,
)

__all__ = [
    "EXPORT_COLUMNS",
    "HEADER_ALIASES",
    "REFERRER_COLUMNS",
    "ImportResult",
    "RowError",
    "export_csv",
    "import_csv",
]

DEFAULT_MAX_ROWS = 100_000

#: The export's columns, in order. Import recognises each of them by name.
EXPORT_COLUMNS: tuple[str, ...] = (
    "source_ref",
    "seen_at",
    "seen_date",
    "seen_time_band",
    "seen_exact",
    "lat",
    "lon",
    "accuracy_m",
    "bng_e",
    "bng_n",
    "location_quality",
    "postcode",
    "location_description",
    "site_type",
    "people_count",
    "gender",
    "age_band",
    "appearance",
    "clothing",
    "belongings",
    "immediate_danger",
    "appears_under_18",
    "self_referral",
    "urgent",
)

#: Personal data of the referrer: exported only with ``include_referrer=True``.
REFERRER_COLUMNS: tuple[str, ...] = (
    "referrer_name",
    "referrer_email",
    "referrer_phone",
    "referrer_consent_to_contact",
    "referrer_wants_update",
)

#: Canonical column -> accepted header names (compared after :func:`_header_key`).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "source_ref": ("alert_id", "alert_reference", "streetlink_reference", "reference", "id"),
    "lat": ("latitude",),
    "lon": ("longitude", "lng", "long"),
    "accuracy_m": ("accuracy", "location_accuracy", "accuracy_metres"),
    "location_description": ("location", "location_details", "description_of_location"),
    "postcode": ("post_code", "postal_code", "zipcode"),
    "seen_at": ("date_and_time_seen", "date_time_seen", "datetime_seen", "when_seen"),
    "seen_date": ("date_seen", "date"),
    "seen_time": ("time_seen", "time"),
    "seen_time_band": ("time_band", "time_of_day"),
    "gender": ("sex",),
    "age_band": ("age", "approximate_age", "age_range"),
    "appearance": ("physical_appearance", "description", "description_of_person"),
    "clothing": ("clothes",),
    "belongings": ("possessions",),
    "site_type": ("sleeping_site", "sleeping_place", "site"),
    "people_count": ("number_of_people", "no_of_people", "people"),
    "immediate_danger": ("in_immediate_danger", "danger"),
    "appears_under_18": ("under_18", "possibly_under_18"),
    "self_referral": ("is_self_referral",),
    "referrer_name": ("your_name",),
    "referrer_email": ("email", "your_email"),
    "referrer_phone": ("phone", "telephone", "your_phone"),
    "referrer_consent_to_contact": ("consent_to_contact", "referrer_consent"),
    "referrer_wants_update": ("wants_update", "update_requested"),
}

_PASS_THROUGH = ("lat", "lon", "accuracy_m", "people_count")
_TEXT = ("location_description", "postcode", "appearance", "clothing", "belongings")
_FLAGS = ("immediate_danger", "appears_under_18", "self_referral")
_ENUMS: dict[str, type[StrEnum]] = {
    "gender": Gender,
    "age_band": AgeBand,
    "site_type": SiteType,
}
_REFERRER_TEXT = ("referrer_name", "referrer_email", "referrer_phone")
_REFERRER_FLAGS = ("referrer_consent_to_contact", "referrer_wants_update")
_ESCAPED_COLUMNS = frozenset((*_TEXT, *_REFERRER_TEXT, "source_ref"))


class RowError(msgspec.Struct, frozen=True):
    """One rejected row: its first line (header = 1), why, and which field/column."""

    line: int
    reason: str
    field: str | None = None
    column: str | None = None


class ImportResult(msgspec.Struct, frozen=True):
    """Good rows in file order, and one error per rejected row."""

    rows: list[NormalisedReferral]
    errors: list[RowError]


def _header_key(name: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, aliases in HEADER_ALIASES.items():
        for name in (canonical, *aliases):
            table[_header_key(name)] = canonical
    return table


_ALIAS_TABLE = _alias_table()


# -- decoding ---------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_text(source: str | bytes | IO[str] | IO[bytes]) -> str:
    raw: str | bytes = source if isinstance(source, str | bytes) else source.read()
    text = _decode(raw) if isinstance(raw, bytes) else raw
    return text.removeprefix("\ufeff")


# -- rows to alerts -------------------------------------------------------------------------


class _Columns(msgspec.Struct, frozen=True):
    """Canonical name -> index, and index -> header as written in the file."""

    index: dict[str, int]
    headers: list[str]


def _map_header(header: list[str]) -> _Columns:
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        canonical = _ALIAS_TABLE.get(_header_key(name))
        if canonical is not None and canonical not in index:
            index[canonical] = position
    has_location = {"lat", "lon"} <= index.keys() or "location_description" in index
    if not has_location:
        raise ImportFormatError(
            "no location columns: expected Latitude and Longitude, or Location description"
        )
    if not {"seen_at", "seen_date"} & index.keys():
        raise ImportFormatError("no date seen column: expected Date seen or seen_at")
    return _Columns(index=index, headers=header)


def _values(record: list[str], columns: _Columns) -> dict[str, str]:
    values: dict[str, str] = {}
    for canonical, position in columns.index.items():
        cell = record[position].strip() if position < len(record) else ""
        if canonical in _ESCAPED_COLUMNS:
            cell = unescape_spreadsheet_text(cell)
        if cell:
            values[canonical] = cell
    return values


def _convert_each(
    values: dict[str, str], names: Iterable[str], parse: Callable[[str, str], Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        if name in values:
            try:
                out[name] = parse(name, values[name])
            except ValueError as exc:
                raise ReferralValidationError(f"$.{name}", str(exc)) from None
    return out


def _seen_fields(values: dict[str, str]) -> dict[str, Any]:
    if "seen_at" in values:
        return _convert_each(values, ("seen_at",), lambda _, v: parse_datetime_text(v))
    fields = _convert_each(values, ("seen_date",), lambda _, v: parse_uk_date(v))
    band_text = values.get("seen_time_band")
    time_text = values.get("seen_time")
    clock = parse_clock_time(time_text) if time_text else None
    if clock is not None:
        if "seen_date" not in fields:
            raise ReferralValidationError("$.seen_date", "a time seen needs a date seen")
        return {"seen_at": datetime.combine(fields["seen_date"], clock)}
    band_text = band_text or time_text
    if band_text is not None:
        field = "seen_time_band" if "seen_time_band" in values else "seen_time"
        fields |= _convert_each(
            {field: band_text}, (field,), lambda _, v: enum_from_text(TimeBand, v)
        )
        fields["seen_time_band"] = fields.pop(field)
    return fields


def _referrer_fields(values: dict[str, str]) -> dict[str, Any]:
    flags = _convert_each(values, _REFERRER_FLAGS, lambda _, v: parse_flag(v))
    if not flags.get("referrer_consent_to_contact", False):
        return {}  # no recorded consent: contact details are not kept
    contact: dict[str, Any] = {
        name.removeprefix("referrer_"): values[name] for name in _REFERRER_TEXT if name in values
    }
    contact |= {name.removeprefix("referrer_"): flag for name, flag in flags.items()}
    return {"referrer": contact}


def _alert_fields(values: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {n: values[n] for n in (*_PASS_THROUGH, *_TEXT) if n in values}
    fields |= _convert_each(values, _ENUMS, lambda n, v: enum_from_text(_ENUMS[n], v))
    fields |= _convert_each(values, _FLAGS, lambda _, v: parse_flag(v))
    fields |= _seen_fields(values)
    fields |= _referrer_fields(values)
    return fields


def _column_of(field: str, columns: _Columns) -> str | None:
    canonical = field.removeprefix("$.").replace(".", "_")
    position = columns.index.get(canonical)
    if position is None and canonical in {"seen_date", "seen_time_band"}:
        position = columns.index.get("seen_time")
    return None if position is None else columns.headers[position]


def _row(values: dict[str, str], now: datetime, line: int) -> NormalisedReferral:
    try:
        alert = msgspec.convert(_alert_fields(values), StreetLinkAlert, strict=False)
        return normalise(alert, now=now, source_ref=values.get("source_ref"))
    except msgspec.ValidationError as exc:
        error = validation_error_from_msgspec(exc)
    except ReferralValidationError as exc:
        error = exc
    raise ImportRowError(line, error.field, error.message)


# -- reading records with line numbers -----------------------------------------------------------


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) for each non-blank record; header included."""
    reader = csv.reader(io.StringIO(text, newline=""))
    last_line = 0
    try:
        for record in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if any(cell.strip() for cell in record):
                yield first_line, record
    except csv.Error as exc:
        raise ImportFormatError(f"line {last_line + 1}: unreadable CSV ({exc})") from None


def import_csv(
    source: str | bytes | IO[str] | IO[bytes],
    *,
    now: datetime,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ImportResult:
    """Read a CSV export: good rows normalised, bad rows reported (see module docs).

    Raises :class:`ImportFormatError` when the file as a whole is unusable: empty,
    without location or date columns, unreadable, or longer than ``max_rows``.
    """
    records = _records(_read_text(source))
    header = next(records, None)
    if header is None:
        raise ImportFormatError("the file is empty")
    columns = _map_header(header[1])
    rows: list[NormalisedReferral] = []
    errors: list[RowError] = []
    for count, (line, record) in enumerate(records, start=1):
        if count > max_rows:
            raise ImportFormatError(f"more than {max_rows} rows; split the file")
        try:
            rows.append(_row(_values(record, columns), now, line))
        except ImportRowError as exc:
            column = None if exc.field is None else _column_of(exc.field, columns)
            errors.append(RowError(line, exc.message, exc.field, column))
    return ImportResult(rows=rows, errors=errors)


# -- export ---------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date | int | float):
        return value.isoformat() if isinstance(value, date) else repr(value)
    return str(value)


def _export_row(referral: NormalisedReferral, include_referrer: bool) -> list[str]:
    values: dict[str, object] = {name: getattr(referral, name) for name in EXPORT_COLUMNS}
    if not referral.seen_exact:
        values["seen_at"] = None
    if include_referrer:
        contact = referral.referrer
        for name in REFERRER_COLUMNS:
            field = name.removeprefix("referrer_")
            values[name] = None if contact is None else getattr(contact, field)
    cells = {name: _cell(value) for name, value in values.items()}
    return [
        escape_spreadsheet_text(cell) if name in _ESCAPED_COLUMNS else cell
        for name, cell in cells.items()
    ]


def export_csv(referrals: Iterable[NormalisedReferral], *, include_referrer: bool = False) -> str:
    """CSV text (RFC 4180, CRLF) with a header row of :data:`EXPORT_COLUMNS`.

    Referrer contact details are personal data and are left out unless
    ``include_referrer`` is true. ``seen_at`` is written (UTC, ``Z``) only for
    exact sightings; banded ones carry ``seen_date`` and ``seen_time_band``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS + (REFERRER_COLUMNS if include_referrer else ()))
    for referral in referrals:
        writer.writerow(_export_row(referral, include_referrer))
    return out.getvalue()
