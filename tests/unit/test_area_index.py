"""geo.areas: many points looked up at once find what one lookup a point finds; no DB."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from geo.areas import Area, AreaIndex

# A 4 x 3 grid of unit squares, each cut along a diagonal into two authorities (triangles:
# their boxes overlap, so the tree's candidates are not yet answers), plus one authority of a
# diamond and a square apart (a multipolygon) overlapping them: shared edges, corners,
# overlaps and misses.
GRID = [
    Area(f"G{x}{y}{half}", f"Grid {x},{y} {half}", "district", MultiPolygon([triangle]))
    for x in range(4)
    for y in range(3)
    for half, triangle in (
        ("a", Polygon([(x, y), (x + 1, y), (x, y + 1)])),
        ("b", Polygon([(x + 1, y), (x + 1, y + 1), (x, y + 1)])),
    )
]
ISLANDS = Area(
    "I",
    "Islands",
    "unitary",
    MultiPolygon([Polygon([(1, 0.5), (1.5, 1), (1, 1.5), (0.5, 1)]), box(2.5, 1.0, 3.0, 2.0)]),
)
INDEX = AreaIndex([*GRID, ISLANDS])

# points on the half-unit lattice land on edges and corners; the others anywhere near
coordinate = st.one_of(
    st.integers(-2, 10).map(lambda k: k / 2), st.floats(-1.0, 5.0, allow_nan=False)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(coordinate, coordinate), max_size=60))
def test_lookup_many_finds_what_each_lookup_finds(points):
    lons = [x for x, _ in points]
    lats = [y for _, y in points]
    expected = [[a.code for a in INDEX.lookup(x, y)] for x, y in points]
    assert [[a.code for a in found] for found in INDEX.lookup_many(lons, lats)] == expected


def test_a_corner_is_in_every_triangle_that_touches_it_and_the_diamond_around_it():
    [found, inside, outside] = INDEX.lookup_many([1.0, 0.2, 9.0], [1.0, 0.2, 9.0])
    assert [a.code for a in found] == ["G00b", "G01a", "G01b", "G10a", "G10b", "G11a", "I"]
    assert [a.code for a in inside] == ["G00a"]
    assert outside == []
