"""Road travel times from an OSRM-compatible server: a fake one on loopback, real HTTP.

The fake answers the ``table`` service with durations of its own making, so the run-sheet can
only follow them if it really used the answer; it can also be slow, broken or down, and then
the run-sheet must fall back to straight lines and say why.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from geo.routing import exact_tour, straight_line_matrix_m
from tests.conftest import make_settings
from tests.integration.test_assignments import MID_ESSEX, listed, local_date, referral, run, team_id
from tests.integration.test_shift_plan import base_bng, bng, plan_for

ROAD_S, OFF_ROAD_S = 60.0, 900.0
TIMEOUT_S = 0.5


class FakeOsrm:
    """``mode``: ``roads`` (a table where the cheap legs run north to south), ``slow``,
    ``garbage``, ``short`` (a table of the wrong size), ``error`` (HTTP 500)."""

    def __init__(self) -> None:
        self.mode = "roads"
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body = fake.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def points(path: str) -> list[tuple[float, float]]:
        coordinates = urlsplit(path).path.rsplit("/", 1)[1]
        return [tuple(map(float, p.split(","))) for p in coordinates.split(";")]

    @staticmethod
    def road_table(points: list[tuple[float, float]]) -> list[list[float]]:
        """Cheap legs: base, then the stops from north to south, then back to base."""
        chain = [0, *sorted(range(1, len(points)), key=lambda k: -points[k][1]), 0]
        table = [
            [0.0 if i == j else OFF_ROAD_S for j in range(len(points))] for i in range(len(points))
        ]
        for a, b in itertools.pairwise(chain):
            table[a][b] = ROAD_S
        return table

    def answer(self, path: str) -> tuple[int, bytes]:
        if self.mode == "slow":
            time.sleep(TIMEOUT_S * 4)
        if self.mode == "garbage":
            return 200, b"<html>gateway</html>"
        if self.mode == "error":
            return 500, b'{"code": "InternalError"}'
        points = self.points(path)
        table = self.road_table(points)
        if self.mode == "short":
            table = table[:-1]
        return 200, json.dumps({"code": "Ok", "durations": table}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def osrm():
    fake = FakeOsrm()
    yield fake
    fake.close()


@pytest.fixture
def settings(db_url, osrm):
    """The app of these tests asks the fake server (conftest's ``client`` uses this)."""
    return make_settings(db_url, osrm_url=osrm.url + "/", osrm_timeout_s=TIMEOUT_S)


# Stops zig-zag east and west while going south: the straight-line optimum is not the road one.
ZIGZAG = [(51.760, 0.43), (51.752, 0.51), (51.744, 0.44), (51.736, 0.50), (51.728, 0.45)]


def zigzag_plan(client, sql, staff):
    keys = [referral(client, sql, lat=lat, lon=lon, appearance=f"z{lat}") for lat, lon in ZIGZAG]
    run(client, staff["admin"])
    mid = team_id(sql, MID_ESSEX)
    day = local_date(listed(client, staff["admin"])[keys[0]]["shift_start"])
    return mid, keys, plan_for(client, staff["worker_mid"], mid, day)


def test_the_run_sheet_follows_the_routing_servers_travel_times(client, sql, staff, osrm):
    mid, keys, plan = zigzag_plan(client, sql, staff)
    assert plan["travel_source"] == "osrm"
    assert plan["travel_fallback_reason"] is None
    north_to_south = [keys[k] for k in np.argsort([-lat for lat, _ in ZIGZAG])]
    assert [s["item"] for s in plan["stops"]] == north_to_south
    assert [s["travel_minutes_from_previous"] for s in plan["stops"]] == [ROAD_S / 60] * 5
    assert plan["travel_minutes"] == 6 * ROAD_S / 60
    straight = exact_tour(
        straight_line_matrix_m([base_bng(sql, mid), *(bng(sql, k) for k in keys)])
    )
    assert [keys[i - 1] for i in straight.order] != north_to_south  # the test means something
    (path,) = osrm.requests
    assert urlsplit(path).path.startswith("/table/v1/driving/")
    assert parse_qs(urlsplit(path).query) == {"annotations": ["duration"]}
    assert len(FakeOsrm.points(path)) == 6  # the base and five stops


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("slow", f"did not answer within {TIMEOUT_S:g} s"),
        ("garbage", "did not answer with a duration table"),
        ("short", "does not match the stops"),
        ("error", "answered HTTP 500"),
    ],
)
def test_a_slow_or_broken_routing_server_falls_back_to_straight_lines(
    client, sql, staff, osrm, mode, reason
):
    osrm.mode = mode
    started = time.monotonic()
    mid, keys, plan = zigzag_plan(client, sql, staff)
    assert plan["travel_source"] == "straight_line"
    assert reason in plan["travel_fallback_reason"]
    straight = exact_tour(
        straight_line_matrix_m([base_bng(sql, mid), *(bng(sql, k) for k in keys)])
    )
    order = [s["item"] for s in plan["stops"]]
    assert order in (
        [keys[i - 1] for i in straight.order],
        [keys[i - 1] for i in reversed(straight.order)],
    )
    assert time.monotonic() - started < 30


def test_a_routing_server_that_is_down_falls_back(client, sql, staff, osrm):
    osrm.close()
    _, _, plan = zigzag_plan(client, sql, staff)
    assert plan["travel_source"] == "straight_line"
    assert "could not be reached" in plan["travel_fallback_reason"]
