"""A synthetic gazetteer in the official layouts, for tests, benchmarks and trying it out.

Never a copy of a national file: postcodes are made up (real outward codes of each authority,
random inward codes) at random points inside the authority's shipped ONS boundary; names are
the Greater Essex towns (approximate centres) and made-up streets around them. A few *anchor*
rows have known values, for tests:

* postcodes :data:`ANCHOR_POSTCODES` (e.g. ``CM8 1ZZ`` at Witham station, in Braintree);
* the names ``Witham``, ``Chelmsford``, ``Duke Street`` (Chelmsford) and ``High Street`` in
  several towns.

``outreach gazetteer fixture DIR`` writes ``onspd.csv`` and ``opennames.csv`` (same seed, same
files), which ``outreach gazetteer import`` reads like the published ones.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shapely import prepared
from shapely.geometry import Point

from geo.areas import AreaIndex
from geo.projections import bng_to_wgs84, wgs84_to_bng
from service.usecases.areas.boundaries import official_areas, seed_data
from service.usecases.places.formats import CODEPOINT_COLUMNS, ONSPD_COLUMNS, OPEN_NAMES_COLUMNS

OUTWARD_CODES: dict[str, tuple[str, ...]] = {
    "E07000066": ("SS13", "SS14", "SS15", "SS16", "CM11", "CM12"),
    "E07000067": ("CM7", "CM77", "CO9", "CM8"),
    "E07000068": ("CM13", "CM14", "CM15"),
    "E07000069": ("SS7", "SS8"),
    "E07000070": ("CM1", "CM2", "CM3"),
    "E07000071": ("CO1", "CO2", "CO3", "CO4", "CO5", "CO6"),
    "E07000072": ("CM16", "IG10", "EN9"),
    "E07000073": ("CM17", "CM18", "CM19", "CM20"),
    "E07000074": ("CM9",),
    "E07000075": ("SS4", "SS5", "SS6"),
    "E07000076": ("CO7", "CO11", "CO12", "CO13", "CO14", "CO15", "CO16"),
    "E07000077": ("CB10", "CB11", "CM6", "CM22", "CM24"),
    "E06000033": ("SS0", "SS1", "SS2", "SS3", "SS9"),
    "E06000034": ("RM16", "RM17", "RM18", "RM19", "RM20", "SS17"),
}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXY"  # real inward codes never use C I K M O V; Z is ours

# (postcode, lat, lon, authority): anchors at public points (stations), inward code "1ZZ".
ANCHOR_POSTCODES: tuple[tuple[str, float, float, str], ...] = (
    ("CM1 1ZZ", 51.7366, 0.4693, "E07000070"),
    ("CM8 1ZZ", 51.8057, 0.6414, "E07000067"),
    ("SS1 1ZZ", 51.5370, 0.7123, "E06000033"),
    ("CO1 1ZZ", 51.8865, 0.9041, "E07000071"),
    ("SS6 1ZZ", 51.5899, 0.6014, "E07000075"),
)
OUTSIDE_POSTCODES: tuple[tuple[str, float, float, str], ...] = (
    ("E1 6ZZ", 51.5203, -0.0722, "E09000030"),  # London: dropped unless --all
)

# Town, Open Names local type, approximate centre (lat, lon), district name.
TOWNS: tuple[tuple[str, str, float, float, str], ...] = (
    ("Chelmsford", "City", 51.7356, 0.4685, "Chelmsford"),
    ("Colchester", "City", 51.8892, 0.9042, "Colchester"),
    ("Southend-on-Sea", "City", 51.5459, 0.7077, "Southend-on-Sea"),
    ("Basildon", "Town", 51.5690, 0.4560, "Basildon"),
    ("Braintree", "Town", 51.8785, 0.5527, "Braintree"),
    ("Witham", "Town", 51.7978, 0.6373, "Braintree"),
    ("Brentwood", "Town", 51.6214, 0.3053, "Brentwood"),
    ("Harlow", "Town", 51.7700, 0.0960, "Harlow"),
    ("Maldon", "Town", 51.7318, 0.6760, "Maldon"),
    ("Rayleigh", "Town", 51.5864, 0.6049, "Rochford"),
    ("Grays", "Town", 51.4757, 0.3257, "Thurrock"),
    ("Epping", "Town", 51.6982, 0.1109, "Epping Forest"),
    ("Loughton", "Town", 51.6493, 0.0734, "Epping Forest"),
    ("Clacton-on-Sea", "Town", 51.7918, 1.1559, "Tendring"),
    ("Harwich", "Town", 51.9419, 1.2850, "Tendring"),
    ("Saffron Walden", "Town", 52.0228, 0.2390, "Uttlesford"),
    ("Canvey Island", "Town", 51.5250, 0.5725, "Castle Point"),
    ("Billericay", "Town", 51.6280, 0.4186, "Basildon"),
    ("Wickford", "Town", 51.6114, 0.5207, "Basildon"),
    ("Halstead", "Town", 51.9451, 0.6410, "Braintree"),
    ("Tiptree", "Village", 51.8110, 0.7500, "Colchester"),
    ("Jaywick", "Village", 51.7800, 1.1150, "Tendring"),
    ("Leigh-on-Sea", "Suburban Area", 51.5425, 0.6530, "Southend-on-Sea"),
)
STREET_FIRST = (
    "Church", "Mill", "Station", "Queen's", "King's", "Victoria", "Park", "New", "Chapel",
    "Hall", "Manor", "Oak", "Elm", "Bridge", "Market", "London", "Maldon", "Broomfield",
    "Ash", "Beech", "Willow", "Meadow", "Orchard", "Brook", "Castle", "Abbey", "Priory",
    "Spring", "Well", "Windmill", "Rectory", "Vicarage", "School", "Green", "Hill", "Grove",
)  # fmt: skip
STREET_LAST = ("Road", "Street", "Lane", "Avenue", "Close", "Way", "Drive", "Gardens", "Crescent")
# (name, lat, lon, town): anchors for tests; High Street is in several towns on purpose.
ANCHOR_STREETS: tuple[tuple[str, float, float, str], ...] = (
    ("Duke Street", 51.7362, 0.4700, "Chelmsford"),
    ("High Street", 51.7340, 0.4760, "Chelmsford"),
    ("High Street", 51.7315, 0.6770, "Maldon"),
    ("High Street", 51.5390, 0.7120, "Southend-on-Sea"),
    ("High Street", 51.8895, 0.9010, "Colchester"),
)


@dataclass(frozen=True, slots=True)
class Fixture:
    onspd: Path
    open_names: Path
    postcodes: int
    names: int


def _pad(cells: dict[str, str], columns: tuple[str, ...]) -> list[str]:
    return [cells.get(c, "") for c in columns]


def onspd_row(postcode: str, lat: float, lon: float, code: str) -> list[str]:
    outward, inward = postcode.split()
    easting, northing = wgs84_to_bng(lon, lat)
    cells = {
        "pcd": f"{outward:<4}{inward}",
        "pcd2": f"{outward:<5}{inward}",
        "pcds": postcode,
        "dointr": "198001",
        "oscty": "E10000012" if code.startswith("E07") else "E99999999",
        "oslaua": code,
        "usertype": "0",
        "oseast1m": str(round(easting)),
        "osnrth1m": str(round(northing)),
        "osgrdind": "1",
        "ctry": "E92000001",
        "rgn": "E12000006",
        "lat": f"{lat:.6f}",
        "long": f"{lon:.6f}",
    }
    return _pad(cells, ONSPD_COLUMNS)


def codepoint_row(postcode: str, lat: float, lon: float, code: str) -> list[str]:
    easting, northing = wgs84_to_bng(lon, lat)
    outward, inward = postcode.split()
    cells = {
        "Postcode": f"{outward:<4}{inward}",
        "Positional_quality_indicator": "10",
        "Eastings": str(round(easting)),
        "Northings": str(round(northing)),
        "Country_code": "E92000001",
        "Admin_district_code": code,
    }
    return _pad(cells, CODEPOINT_COLUMNS)


def open_names_row(
    row_id: int,
    name: str,
    category: str,
    local_type: str,
    lat: float,
    lon: float,
    *,
    half_size_m: float,
    town: str | None,
    district: str,
    postcode_district: str = "",
) -> list[str]:
    x, y = wgs84_to_bng(lon, lat)
    os_id = f"osgb9{row_id:015d}"
    cells = {
        "ID": os_id,
        "NAMES_URI": f"http://data.ordnancesurvey.co.uk/id/{os_id}",
        "NAME1": name,
        "TYPE": category,
        "LOCAL_TYPE": local_type,
        "GEOMETRY_X": str(round(x)),
        "GEOMETRY_Y": str(round(y)),
        "MOST_DETAIL_VIEW_RES": "1000",
        "LEAST_DETAIL_VIEW_RES": "25000",
        "MBR_XMIN": str(round(x - half_size_m)),
        "MBR_YMIN": str(round(y - half_size_m)),
        "MBR_XMAX": str(round(x + half_size_m)),
        "MBR_YMAX": str(round(y + half_size_m)),
        "POSTCODE_DISTRICT": postcode_district,
        "POPULATED_PLACE": town or "",
        "DISTRICT_BOROUGH": district,
        "DISTRICT_BOROUGH_TYPE": "http://data.ordnancesurvey.co.uk/ontology/admingeo/District",
        "COUNTY_UNITARY": "Essex",
        "REGION": "Eastern",
        "COUNTRY": "England",
    }
    return _pad(cells, OPEN_NAMES_COLUMNS)


def _random_postcodes(rng: random.Random, n: int) -> Iterator[tuple[str, float, float, str]]:
    areas = {a.code: a for a in official_areas(seed_data())}
    shapes = {code: prepared.prep(a.geometry) for code, a in areas.items()}
    codes = sorted(OUTWARD_CODES)
    weights = [len(OUTWARD_CODES[c]) for c in codes]
    used = {p for p, *_ in ANCHOR_POSTCODES}
    made = 0
    while made < n:
        code = rng.choices(codes, weights)[0]
        outward = rng.choice(OUTWARD_CODES[code])
        inward = f"{rng.randint(0, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
        postcode = f"{outward} {inward}"
        if postcode in used:
            continue
        x0, y0, x1, y1 = areas[code].geometry.bounds
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if not shapes[code].contains(Point(lon, lat)):
            continue
        used.add(postcode)
        made += 1
        yield postcode, round(lat, 6), round(lon, 6), code


def _names(rng: random.Random, n_streets: int) -> Iterator[list[str]]:
    row_id = 0
    for name, local_type, lat, lon, district in TOWNS:
        row_id += 1
        yield open_names_row(
            row_id, name, "populatedPlace", local_type, lat, lon,
            half_size_m=2500 if local_type in ("City", "Town") else 900,
            town=None, district=district,
        )  # fmt: skip
    for name, lat, lon, town in ANCHOR_STREETS:
        row_id += 1
        district = next(t[4] for t in TOWNS if t[0] == town)
        yield open_names_row(
            row_id, name, "transportNetwork", "Named Road", lat, lon,
            half_size_m=150, town=town, district=district,
        )  # fmt: skip
    row_id += 1
    yield open_names_row(
        row_id, "Chelmsford Station", "transportNetwork", "Railway Station", 51.7366, 0.4693,
        half_size_m=60, town="Chelmsford", district="Chelmsford",
    )  # fmt: skip
    row_id += 1  # a postcode entry of Open Names: the postcode directory has those
    yield open_names_row(
        row_id, "CM1 1ZZ", "other", "Postcode", 51.7366, 0.4693,
        half_size_m=50, town="Chelmsford", district="Chelmsford",
    )  # fmt: skip
    row_id += 1  # outside Greater Essex: dropped unless --all
    yield open_names_row(
        row_id, "Oxford Street", "transportNetwork", "Named Road", 51.5152, -0.1420,
        half_size_m=700, town="London", district="City of Westminster",
    )  # fmt: skip
    land = AreaIndex(official_areas(seed_data()))
    for _ in range(n_streets):
        name, _type, lat0, lon0, district = rng.choice(TOWNS)
        x0, y0 = wgs84_to_bng(lon0, lat0)
        lon, lat = bng_to_wgs84(x0 + rng.gauss(0, 1200), y0 + rng.gauss(0, 1200))
        while not land.lookup(lon, lat):  # on land, in Greater Essex: not in the estuaries
            lon, lat = bng_to_wgs84(x0 + rng.gauss(0, 600), y0 + rng.gauss(0, 600))
        street = f"{rng.choice(STREET_FIRST)} {rng.choice(STREET_LAST)}"
        row_id += 1
        yield open_names_row(
            row_id, street, "transportNetwork", "Named Road", round(lat, 6), round(lon, 6),
            half_size_m=rng.uniform(40, 400), town=name, district=district,
        )  # fmt: skip


def write_fixture(
    directory: Path, *, postcodes: int = 300, names: int = 200, seed: int = 15
) -> Fixture:
    """Write ``onspd.csv`` (with its header, like ONSPD) and ``opennames.csv`` (no header,
    like OS Open Names) to ``directory``; the same arguments give the same files."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    directory.mkdir(parents=True, exist_ok=True)
    onspd = directory / "onspd.csv"
    with onspd.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(ONSPD_COLUMNS)
        rows = [*ANCHOR_POSTCODES, *_random_postcodes(rng, postcodes), *OUTSIDE_POSTCODES]
        for postcode, lat, lon, code in rows:
            out.writerow(onspd_row(postcode, lat, lon, code))
        terminated = onspd_row("CM2 9ZZ", 51.72, 0.48, "E07000070")
        terminated[ONSPD_COLUMNS.index("doterm")] = "201906"
        out.writerow(terminated)
    open_names = directory / "opennames.csv"
    count = 0
    with open_names.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        for row in _names(rng, names):
            out.writerow(row)
            count += 1
    return Fixture(onspd, open_names, len(rows) + 1, count)


def write_codepoint(path: Path, rows: list[tuple[str, float, float, str]]) -> Path:
    """A Code-Point Open file (no header) holding ``rows``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        for postcode, lat, lon, code in rows:
            out.writerow(codepoint_row(postcode, lat, lon, code))
    return path
