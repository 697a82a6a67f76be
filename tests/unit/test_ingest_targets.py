"""bench.ingest's verdicts: a target is MET only when the round-by-round ratios agree."""

from __future__ import annotations

import pytest

from bench.ingest import _paired, _target


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
