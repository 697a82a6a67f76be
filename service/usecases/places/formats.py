"""The gazetteer files as published, read into plain rows (no database).

Three official layouts are read:

* **ONS Postcode Directory** (ONSPD, ``ONSPD_<MON>_<YEAR>_UK.csv``): a header row; the columns
  used are ``pcds`` (the postcode, one space), ``doterm`` (terminated when filled),
  ``oslaua`` (the authority's GSS code), ``osgrdind`` (9: no grid reference) and ``lat``,
  ``long`` (WGS84; ``99.999999`` when unknown). Every other column is ignored.
* **OS Code-Point Open** (one ``<area>.csv`` a postcode area): no header, ten columns
  :data:`CODEPOINT_COLUMNS`; positions in British National Grid metres.
* **OS Open Names** (one ``<square>.csv`` a 100 km grid square): no header, the 34 columns
  :data:`OPEN_NAMES_COLUMNS`; ``GEOMETRY_X``/``Y`` and the ``MBR_*`` extent in BNG metres.

>>> onspd = dict.fromkeys(ONSPD_COLUMNS, "")
>>> onspd.update(pcds="CM1 1AA", oslaua="E07000070", osgrdind="1", lat="51.7366")
>>> onspd["long"] = "0.4693"
>>> row = read_onspd_row(onspd)
>>> row.postcode, row.key, row.authority_code, row.lon, row.lat, row.accuracy_m
('CM1 1AA', 'CM11AA', 'E07000070', 0.4693, 51.7366, 100.0)
>>> read_onspd_row({**onspd, "doterm": "202001"}) is None   # terminated
True
>>> read_onspd_row({**onspd, "lat": "99.999999", "osgrdind": "9"}) is None   # no position
True
>>> name_key("St. Mary's Lane, Maldon"), search_key("high st  chelmsford")
('st marys lane maldon', 'high street chelmsford')
>>> postcode_query("cm1 1aa"), postcode_query("CM1"), postcode_query("ss0 7")
(('CM1 1AA', 'CM11AA', True), ('CM1', 'CM1', False), ('SS0 7', 'SS07', False))
>>> postcode_query("Witham") is None
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from geo.projections import bng_to_wgs84

ONSPD_COLUMNS: tuple[str, ...] = (
    "pcd", "pcd2", "pcds", "dointr", "doterm", "oscty", "ced", "oslaua", "osward", "parish",
    "usertype", "oseast1m", "osnrth1m", "osgrdind", "oshlthau", "nhser", "ctry", "rgn", "streg",
    "pcon", "eer", "teclec", "ttwa", "pct", "itl", "statsward", "oa01", "casward", "npark",
    "lsoa01", "msoa01", "ur01ind", "oac01", "oa11", "lsoa11", "msoa11", "wz11", "sicbl", "bua22",
    "ru11ind", "oac11", "lat", "long", "lep1", "lep2", "pfa", "imd", "calncv", "icb", "oa21",
    "lsoa21", "msoa21",
)  # fmt: skip
"""The ONSPD header (February 2024 onwards); only the columns named above are read."""

CODEPOINT_COLUMNS: tuple[str, ...] = (
    "Postcode", "Positional_quality_indicator", "Eastings", "Northings", "Country_code",
    "NHS_regional_HA_code", "NHS_HA_code", "Admin_county_code", "Admin_district_code",
    "Admin_ward_code",
)  # fmt: skip

OPEN_NAMES_COLUMNS: tuple[str, ...] = (
    "ID", "NAMES_URI", "NAME1", "NAME1_LANG", "NAME2", "NAME2_LANG", "TYPE", "LOCAL_TYPE",
    "GEOMETRY_X", "GEOMETRY_Y", "MOST_DETAIL_VIEW_RES", "LEAST_DETAIL_VIEW_RES", "MBR_XMIN",
    "MBR_YMIN", "MBR_XMAX", "MBR_YMAX", "POSTCODE_DISTRICT", "POSTCODE_DISTRICT_URI",
    "POPULATED_PLACE", "POPULATED_PLACE_URI", "POPULATED_PLACE_TYPE", "DISTRICT_BOROUGH",
    "DISTRICT_BOROUGH_URI", "DISTRICT_BOROUGH_TYPE", "COUNTY_UNITARY", "COUNTY_UNITARY_URI",
    "COUNTY_UNITARY_TYPE", "REGION", "REGION_URI", "COUNTRY", "COUNTRY_URI",
    "RELATED_SPATIAL_OBJECT", "SAME_AS_DBPEDIA", "SAME_AS_GEONAMES",
)  # fmt: skip

POSTCODE_ACCURACY_M = 100.0
"""A postcode's centroid is within about 100 m of its addresses (a street or part of one)."""
POSTCODE_COARSE_ACCURACY_M = 250.0
"""When the directory says the position is only approximate (grid reference quality > 1)."""
MIN_NAME_ACCURACY_M = 25.0
MAX_NAME_ACCURACY_M = 5000.0

STREET_TYPES = frozenset(
    {"Named Road", "Numbered Road", "Section Of Named Road", "Section Of Numbered Road"}
)
PLACE_WEIGHTS = {
    "City": 0,
    "Town": 1,
    "Suburban Area": 2,
    "Village": 3,
    "Hamlet": 4,
    "Other Settlement": 5,
}
STREET_WEIGHT = 6
OTHER_WEIGHT = 7

_FULL_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_PARTIAL_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?( ?[0-9][A-Z]{0,1})?$")
_POSTCODE_IN_TEXT = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_ABBREVIATIONS = {"rd": "road", "ave": "avenue", "ln": "lane", "sq": "square", "stn": "station"}


@dataclass(frozen=True, slots=True)
class PostcodeRow:
    postcode: str
    key: str
    authority_code: str | None
    lon: float
    lat: float
    accuracy_m: float


@dataclass(frozen=True, slots=True)
class NameRow:
    id: str
    name: str
    name_key: str
    search_key: str
    kind: str
    weight: int
    local_type: str
    place: str | None
    postcode_district: str | None
    lon: float
    lat: float
    accuracy_m: float


def postcode_key(text: str) -> str:
    """Upper case without spaces: ``"cm1 1aa"`` -> ``"CM11AA"``."""
    return "".join(text.split()).upper()


def format_postcode(key: str) -> str:
    """One space before the inward code (its last three characters)."""
    return f"{key[:-3]} {key[-3:]}"


def postcode_query(text: str) -> tuple[str, str, bool] | None:
    """A search text that is a full or partial postcode: ``(as written with one space or
    none, key, full)``; ``None`` when it is not one."""
    words = text.upper().split()
    key = "".join(words)
    if _FULL_POSTCODE.match(key):
        return format_postcode(key), key, True
    spaced = " ".join(words)
    if len(words) <= 2 and _PARTIAL_POSTCODE.match(spaced):
        return spaced, key, False
    return None


def postcodes_in(text: str) -> list[str]:
    """Full postcodes written in free text, formatted (``"by CM1 1AA"`` -> ``["CM1 1AA"]``).

    >>> postcodes_in("doorway near co43sq, by the station"), postcodes_in("no postcode")
    (['CO4 3SQ'], [])
    """
    return [f"{m.group(1).upper()} {m.group(2).upper()}" for m in _POSTCODE_IN_TEXT.finditer(text)]


def name_key(text: str) -> str:
    """Lower case, apostrophes dropped, ``&`` as ``and``, other punctuation as spaces."""
    lowered = text.lower().replace("&", " and ").replace("'", "").replace("\u2019", "")
    return " ".join(_NOT_WORD.sub(" ", lowered).split())


def search_key(text: str) -> str:
    """:func:`name_key` with common abbreviations spelled out (``st`` after the first word is
    ``street``: ``St Mary's Lane`` keeps its saint)."""
    words = name_key(text).split()
    out = [
        "street" if w == "st" and i > 0 else _ABBREVIATIONS.get(w, w) for i, w in enumerate(words)
    ]
    return " ".join(out)


def read_onspd_row(row: Mapping[str, str]) -> PostcodeRow | None:
    """One ONSPD row, or ``None`` for a terminated postcode or one with no position."""
    if (row.get("doterm") or "").strip() or (row.get("osgrdind") or "").strip() == "9":
        return None
    try:
        lat, lon = float(row["lat"]), float(row["long"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90) or lat > 99 or not (-180 <= lon <= 180):
        return None
    key = postcode_key(row.get("pcds") or row.get("pcd") or "")
    if not _FULL_POSTCODE.match(key):
        return None
    quality = (row.get("osgrdind") or "1").strip()
    return PostcodeRow(
        postcode=format_postcode(key),
        key=key,
        authority_code=(row.get("oslaua") or "").strip().upper() or None,
        lon=lon,
        lat=lat,
        accuracy_m=POSTCODE_ACCURACY_M if quality == "1" else POSTCODE_COARSE_ACCURACY_M,
    )


def read_codepoint_row(values: Sequence[str]) -> PostcodeRow | None:
    """One Code-Point Open row (no header), or ``None`` when it has no position (quality 90)."""
    if len(values) < len(CODEPOINT_COLUMNS):
        return None
    row = dict(zip(CODEPOINT_COLUMNS, values, strict=False))
    key = postcode_key(row["Postcode"])
    quality = row["Positional_quality_indicator"].strip()
    if not _FULL_POSTCODE.match(key) or quality == "90":
        return None
    try:
        easting, northing = float(row["Eastings"]), float(row["Northings"])
    except ValueError:
        return None
    lon, lat = bng_to_wgs84(easting, northing)
    return PostcodeRow(
        postcode=format_postcode(key),
        key=key,
        authority_code=row["Admin_district_code"].strip().upper() or None,
        lon=round(lon, 6),
        lat=round(lat, 6),
        accuracy_m=POSTCODE_ACCURACY_M if quality == "10" else POSTCODE_COARSE_ACCURACY_M,
    )


def _kind_and_weight(category: str, local_type: str) -> tuple[str, int]:
    if category == "populatedPlace":
        return "place", PLACE_WEIGHTS.get(local_type, OTHER_WEIGHT - 1)
    if local_type in STREET_TYPES:
        return "street", STREET_WEIGHT
    return "other", OTHER_WEIGHT


def read_open_names_row(values: Sequence[str]) -> NameRow | None:
    """One OS Open Names row (no header); ``None`` for its postcode entries (the postcode
    directory has those) and rows without a name or position."""
    if len(values) < len(OPEN_NAMES_COLUMNS):
        return None
    row = dict(zip(OPEN_NAMES_COLUMNS, values, strict=False))
    name, local_type = row["NAME1"].strip(), row["LOCAL_TYPE"].strip()
    if not name or local_type == "Postcode" or row["TYPE"].strip() == "postcode":
        return None
    try:
        x, y = float(row["GEOMETRY_X"]), float(row["GEOMETRY_Y"])
        extent = [float(row[k] or "nan") for k in ("MBR_XMIN", "MBR_YMIN", "MBR_XMAX", "MBR_YMAX")]
    except ValueError:
        return None
    kind, weight = _kind_and_weight(row["TYPE"].strip(), local_type)
    place = row["POPULATED_PLACE"].strip() or row["DISTRICT_BOROUGH"].strip() or None
    if place == name:
        place = row["DISTRICT_BOROUGH"].strip() or row["COUNTY_UNITARY"].strip() or None
    lon, lat = bng_to_wgs84(x, y)
    return NameRow(
        id=row["ID"].strip(),
        name=name,
        name_key=search_key(name),
        search_key=search_key(f"{name} {place or ''}"),
        kind=kind,
        weight=weight,
        local_type=local_type,
        place=place,
        postcode_district=row["POSTCODE_DISTRICT"].strip() or None,
        lon=round(lon, 6),
        lat=round(lat, 6),
        accuracy_m=_extent_radius_m(extent),
    )


def _extent_radius_m(extent: list[float]) -> float:
    """Half the diagonal of the feature's bounding rectangle, within sensible limits.

    >>> _extent_radius_m([0, 0, 300, 400]), _extent_radius_m([0, 0, 0, 0])
    (250.0, 25.0)
    """
    x0, y0, x1, y1 = extent
    if any(math.isnan(v) for v in extent):
        return MAX_NAME_ACCURACY_M
    radius = math.hypot(x1 - x0, y1 - y0) / 2
    return float(min(max(radius, MIN_NAME_ACCURACY_M), MAX_NAME_ACCURACY_M))


def detect_format(first: Sequence[str]) -> str:
    """``onspd``, ``codepoint`` or ``opennames`` from a file's first row.

    >>> detect_format(["pcd", "pcd2", "pcds"]), detect_format(["CM1 1AA", "10", "570000"] * 4)
    ('onspd', 'codepoint')
    """
    lowered = {v.strip().lower() for v in first}
    if "pcds" in lowered or "pcd" in lowered:
        return "onspd"
    if len(first) >= len(OPEN_NAMES_COLUMNS):
        return "opennames"
    if len(first) >= len(CODEPOINT_COLUMNS):
        return "codepoint"
    raise ValueError("not an ONSPD, Code-Point Open or OS Open Names CSV file")


def phrases(text: str, *, longest: int = 5) -> list[str]:
    """Every run of up to ``longest`` words of ``text`` as a :func:`search_key`, longest first:
    the candidates a place name in a description is looked up by.

    >>> phrases("By Witham station", longest=2)
    ['by witham', 'witham station', 'by', 'witham', 'station']
    """
    words = search_key(text).split()
    found: list[str] = []
    for size in range(min(longest, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            found.append(" ".join(words[start : start + size]))
    return list(dict.fromkeys(found))
