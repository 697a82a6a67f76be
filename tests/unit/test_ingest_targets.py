"""bench.ingest's verdicts: a target is MET only when the round-by-round ratios agree; where an
open loop's slow answers fell."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.ingest import _paced_report, _paired, _target, slow_seconds


def _round(rate: float) -> dict[str, float | int]:
    return {"rows_per_s": rate, "errors": 0}


def test_paired_ratios_follow_the_rounds() -> None:
    api = [_round(300), _round(400), _round(280)]
    bare = [_round(500), _round(420), _round(400)]
    assert _paired(api, bare) == pytest.approx([0.6, 400 / 420, 0.7])


def test_a_drift_between_rounds_does_not_make_a_target_met(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The medians (300 / 360 = 0.83) would pass; the rounds (0.600, 0.750, 0.722) do not.
    api = [_round(300), _round(330), _round(260)]
    bare = [_round(500), _round(440), _round(360)]
    median_api, median_bare = api[0], bare[2]
    _target("t", median_api, median_bare, 0.8, _paired(api, bare))
    out = capsys.readouterr().out
    assert "300 / 360 rows/s = 0.833" in out
    assert "median 0.722" in out
    assert out.rstrip().endswith("NOT MET")


def test_met_when_both_agree(capsys: pytest.CaptureFixture[str]) -> None:
    api, bare = [_round(450), _round(420)], [_round(500), _round(500)]
    _target("t", api[0], bare[0], 0.8, _paired(api, bare))
    assert capsys.readouterr().out.rstrip().endswith("-> MET")


def test_slow_answers_are_placed_in_the_seconds_they_were_due() -> None:
    due = [0.1, 0.5, 3.2, 3.4, 3.9, 3.95, 7.0, 9.99]
    lat = [10.0, 80.0, 60.0, 250.0, 120.0, 49.0, 51.0, 20.0]
    start = dt.datetime(2026, 11, 29, 4, 35, 58, 500_000, tzinfo=dt.UTC)
    assert slow_seconds(due, lat, 50.0, start) == {
        "count": 5,
        "seconds": 3,
        "worst_second": 3,
        "worst_count": 3,
        "worst_ms": 250.0,
        "worst_at": "04:36:01 UTC",
    }
    assert slow_seconds(due, lat, 300.0, start) == {"count": 0, "seconds": 0}


def test_the_open_loop_report_says_where_its_slow_answers_fell(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = {"rate": 150.0, "p50_ms": 8.0, "p99_ms": 90.0, "requests": 3000, "errors": 0}
    slow = {"count": 41, "seconds": 2, "worst_second": 12, "worst_count": 37, "worst_ms": 212.4}
    slow["worst_at"] = "04:36:10 UTC"
    _paced_report("1000 open", {**base, "seconds": 20.0, "slow": slow})
    out = capsys.readouterr().out
    where = "(37 in second 12, from 04:36:10 UTC, up to 212 ms)"
    assert f"41 over 50 ms, in 2 of 20 seconds {where}" in out
    _paced_report("1000 open", {**base, "seconds": 20.0, "slow": {"count": 0, "seconds": 0}})
    assert "over 50 ms" not in capsys.readouterr().out
