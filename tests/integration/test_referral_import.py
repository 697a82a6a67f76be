"""`outreach referrals import`: a StreetLink CSV export through the intake, idempotently."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from service.cli import main
from service.usecases.referrals import csv_import as referral_import

HEADER = [
    "Alert ID",
    "Date and time seen",
    "Latitude",
    "Longitude",
    "Postcode",
    "Location",
    "Colour of door",  # not a StreetLink column: ignored
    "Internal notes",  # ditto
]


def seen(hours_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).isoformat()


ROWS = [
    ["A-1001", seen(3), "51.7366", "0.4693", "CM1 1HT", "bank doorway by the station", "red", ""],
    ["A-1002", seen(5), "51.538", "0.714", "", "Southend High Street", "", "x"],
    ["A-1003", seen(4), "51.7366", "0.4693", "NOT A CODE", "station", "", ""],  # line 4
    ["", seen(6), "51.8897", "0.9027", "", "Colchester bus station", "", ""],  # no reference
    ["A-1005", seen(2), "51.7380", "0.4693", "", "150 m north of A-1001", "", ""],  # near it
]


def write_csv(path, rows=ROWS, header=HEADER):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def run_import(monkeypatch, db_url, path):
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    return main(["referrals", "import", str(path)])


def stored(sql):
    return sql(
        "SELECT r.source_ref, r.authority_code, t.name AS team, r.source "
        "FROM referrals r LEFT JOIN teams t ON t.id = r.team_id ORDER BY r.received_at"
    )


def test_import_routes_good_rows_and_reports_bad_ones(monkeypatch, db_url, sql, tmp_path, capsys):
    path = write_csv(tmp_path / "export.csv")
    assert run_import(monkeypatch, db_url, path) == 0
    rows = stored(sql)
    assert [(r["source_ref"], r["authority_code"], r["team"]) for r in rows] == [
        ("A-1001", "E07000070", "Mid Essex Outreach"),
        ("A-1002", "E06000033", "Southend Outreach"),
        (None, "E07000071", "Colchester and Tendring Outreach"),
        ("A-1005", "E07000070", "Mid Essex Outreach"),
    ]
    assert {r["source"] for r in rows} == {"csv"}
    out, err = capsys.readouterr()
    assert "  imported: 4\n" in out
    assert "  duplicates (already imported): 0\n" in out
    assert "  possible duplicates of other referrals: 1\n" in out
    assert "  rejected: 1\n    line 4: Postcode: not a valid UK postcode" in out
    assert "4/4" in err  # progress (stderr is not a terminal here: plain lines)
    links = sql(
        "SELECT a.source_ref AS a, b.source_ref AS b FROM referral_duplicates d "
        "JOIN referrals a ON a.id = d.referral_id JOIN referrals b ON b.id = d.other_id"
    )
    assert {(link["a"], link["b"]) for link in links} == {("A-1005", "A-1001")}


def test_importing_the_same_file_again_stores_nothing(monkeypatch, db_url, sql, tmp_path, capsys):
    path = write_csv(tmp_path / "export.csv")
    assert run_import(monkeypatch, db_url, path) == 0
    capsys.readouterr()
    assert run_import(monkeypatch, db_url, path) == 0
    out, _ = capsys.readouterr()
    assert "  imported: 0\n" in out
    assert "  duplicates (already imported): 4\n" in out
    assert "  rejected: 1\n" in out
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 4
    # the first import folded its points into the hotspots; the empty second one did not
    assert [r["trigger"] for r in sql("SELECT trigger FROM hotspot_runs")] == ["import"]


def test_the_hotspot_recompute_command(monkeypatch, db_url, sql, capsys):
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    assert main(["hotspots", "recompute"]) == 0
    out, _ = capsys.readouterr()
    assert "public_reports: 0 points, 0 hotspots" in out
    assert [r["trigger"] for r in sql("SELECT trigger FROM hotspot_runs")] == ["command"]


def test_only_the_first_twenty_reasons_are_listed(monkeypatch, db_url, tmp_path, capsys):
    bad = [[f"B-{i}", seen(1), "95", "0.4693", "", "", "", ""] for i in range(25)]
    path = write_csv(tmp_path / "bad.csv", rows=bad)
    assert run_import(monkeypatch, db_url, path) == 0
    out, _ = capsys.readouterr()
    assert "  rejected: 25\n" in out
    assert out.count("    line ") == 20
    assert "    line 2: Latitude: Expected `float` <= 90.0" in out
    assert "... and 5 more rejected rows" in out


def empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: tmp / "missing.csv",
        lambda tmp: write_csv(tmp / "no_location.csv", [["A-1", seen(1)]], ["Alert ID", "Seen"]),
        lambda tmp: tmp,  # a directory
        empty_file,
    ],
    ids=["missing", "no-location-columns", "directory", "empty"],
)
def test_an_unreadable_file_exits_2_and_stores_nothing(
    make, monkeypatch, db_url, sql, tmp_path, capsys
):
    assert run_import(monkeypatch, db_url, make(tmp_path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("outreach referrals import: ")
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 0


def test_a_file_over_the_size_cap_is_refused(monkeypatch, db_url, sql, tmp_path, capsys):
    monkeypatch.setattr(referral_import, "MAX_FILE_BYTES", 100)
    path = write_csv(tmp_path / "export.csv")
    assert run_import(monkeypatch, db_url, path) == 2
    _, err = capsys.readouterr()
    assert "export.csv is too large" in err
    assert sql("SELECT count(*) AS n FROM referrals")[0]["n"] == 0


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_redrawn_bar_on_a_terminal_and_plain_lines_otherwise():
    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = referral_import.ProgressLine(4, stream)
        progress.interval_s = 0
        for done in range(1, 5):
            progress(done)
    assert terminal.getvalue().count("\r[") == 4
    assert terminal.getvalue().endswith("\r[" + "#" * 30 + "] 4/4 100%\n")
    assert log.getvalue() == "1/4\n2/4\n3/4\n4/4\n"
