"""The ``outreach`` command reports a bad environment or an unreachable database in one line
on stderr with a non-zero exit code, never a traceback; a bug still shows its traceback. No
database is needed (a refused connection is the point of one test)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from service import cli
from tests.conftest import ROOT


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name == "DATABASE_URL" or name.startswith("OUTREACH_"):
            monkeypatch.delenv(name)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the probe is closed


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", [["serve"], ["seed"], ["retention", "run"]])
def test_a_missing_database_url_is_one_line_and_exit_2(command, no_database, capsys):
    assert cli.main(command) == 2
    captured = capsys.readouterr()
    assert "DATABASE_URL" in one_error_line(captured.err)
    assert captured.out == ""


def test_an_invalid_setting_names_the_setting(no_database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1:1/x")
    monkeypatch.setenv("OUTREACH_DB_POOL_SIZE", "many")
    assert cli.main(["serve"]) == 2
    assert "db_pool_size" in one_error_line(capsys.readouterr().err)


def test_a_database_that_refuses_the_connection_is_one_line_and_exit_1(
    no_database, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://x@127.0.0.1:{closed_port()}/x")
    monkeypatch.setenv("PGSSLMODE", "disable")
    assert cli.main(["seed"]) == 1
    assert "ConnectionRefusedError" in one_error_line(capsys.readouterr().err)


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(_args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_openapi", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["openapi"])


def test_the_installed_entry_point_prints_one_line():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env = {k: v for k, v in env.items() if not k.startswith("OUTREACH_")}
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "seed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DATABASE_URL" in one_error_line(done.stderr)
