"""``scripts/dev.sh`` from a checkout the ``postgres`` user cannot enter (a private
``mktemp -d`` folder, as a clone under /root would be): the cluster files live in a directory
``postgres`` owns, linked from ``.data/pg``, and ``initdb``/``pg_ctl`` are given that real
directory, so ``db-start``, ``db-stop`` and ``db-remove`` work. One ``initdb``, on a free port;
the shared test cluster is not touched."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import ROOT, run_sql
from tests.liveserver import free_port


def pg_version() -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return found[0].parents[1].name if found else None


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the fallback is for root (postgres runs as its own user)"
    version = pg_version()
    if version is None or shutil.which("runuser") is None:
        return "no PostgreSQL binaries under /usr/lib/postgresql (or no runuser)"
    if not Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
        return "PostGIS is not installed (dev.sh would install it)"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


class Checkout:
    """The script alone, copied into a private temporary folder (mode 700, owned by root)."""

    def __init__(self) -> None:
        self.private = Path(tempfile.mkdtemp(prefix="outreach-clone-"))
        self.root = self.private / "x"
        (self.root / "scripts").mkdir(parents=True)
        shutil.copy2(ROOT / "scripts" / "dev.sh", self.root / "scripts" / "dev.sh")
        self.data = self.root / ".data"
        self.data.mkdir()
        self.port = free_port()
        (self.data / "port").write_text(f"{self.port}\n")

    def dev(self, command: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        return subprocess.run(
            ["bash", str(self.root / "scripts" / "dev.sh"), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


@pytest.fixture
def checkout() -> Iterator[Checkout]:
    clone = Checkout()
    try:
        yield clone
    finally:
        link = clone.data / "pg"
        real = link.resolve() if link.is_symlink() else None
        if clone.dev("db-remove").returncode != 0 and real is not None:
            subprocess.run(  # stop it however db-remove failed, then delete its files
                [
                    "runuser",
                    "-u",
                    "postgres",
                    "--",
                    f"/usr/lib/postgresql/{pg_version()}/bin/pg_ctl",
                    "-D",
                    str(real),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                check=False,
            )
            shutil.rmtree(real.parent, ignore_errors=True)
        shutil.rmtree(clone.private, ignore_errors=True)


def assert_app_role_is_safe(url: str, port: int) -> None:
    """A password is needed, the app's role owns its database but is no superuser (no
    COPY ... TO PROGRAM), may create databases, and new databases have PostGIS."""
    with pytest.raises(asyncpg.InvalidPasswordError):
        run_sql(f"postgresql://outreach@127.0.0.1:{port}/outreach", "SELECT 1")
    with pytest.raises(asyncpg.InvalidPasswordError):
        run_sql(f"postgresql://outreach:wrong@127.0.0.1:{port}/outreach", "SELECT 1")
    [role] = run_sql(
        url,
        "SELECT r.rolsuper, r.rolcreatedb, pg_get_userbyid(d.datdba) = current_user AS owner "
        "FROM pg_roles r, pg_database d WHERE r.rolname = current_user "
        "AND d.datname = current_database()",
    )
    assert (role["rolsuper"], role["rolcreatedb"], role["owner"]) == (False, True, True)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run_sql(url, "COPY (SELECT 1) TO PROGRAM 'true'")
    run_sql(url.rsplit("/", 1)[0] + "/postgres", "CREATE DATABASE made_by_the_app")
    made = url.rsplit("/", 1)[0] + "/made_by_the_app"
    assert run_sql(made, "SELECT postgis_version() IS NOT NULL AS ok")[0]["ok"]


def test_the_cluster_of_a_private_checkout_lives_where_postgres_can_reach_it(checkout):
    assert checkout.private.stat().st_mode & 0o777 == 0o700
    assert (
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-x", str(checkout.private)], check=False
        ).returncode
        != 0
    ), "the test needs a folder postgres cannot enter"

    started = checkout.dev("db-start")
    assert started.returncode == 0, started.stderr
    link = checkout.data / "pg"
    assert link.is_symlink()
    real = link.resolve()
    assert real.parent.parent == Path("/var/lib/essex-outreach")
    assert real.owner() == "postgres"
    assert (real / "PG_VERSION").exists()
    assert (real / "server.log").exists()
    url = (checkout.data / "database_url").read_text().strip()
    password = (checkout.data / "app_password").read_text().strip()
    assert url == f"postgresql://outreach:{password}@127.0.0.1:{checkout.port}/outreach"
    assert len(password) >= 32
    for secret in ("database_url", "app_password", "admin_password"):
        assert (checkout.data / secret).stat().st_mode & 0o077 == 0, secret
    admin_password = (checkout.data / "admin_password").read_text().strip()
    admin_url = f"postgresql://outreach_admin:{admin_password}@127.0.0.1:{checkout.port}/postgres"
    [row] = run_sql(admin_url, "SELECT current_setting('data_directory') AS dir")
    assert row["dir"] == str(real)
    assert_app_role_is_safe(url, checkout.port)

    stopped = checkout.dev("db-stop")
    assert stopped.returncode == 0, stopped.stderr
    with pytest.raises(OSError):
        run_sql(url, "SELECT 1")

    # While it was down another program took its port: the same cluster, found through the
    # link, starts on a free port, and the URL follows it.
    with socket.create_server(("127.0.0.1", checkout.port)):
        again = checkout.dev("db-start")
    assert again.returncode == 0, again.stderr
    assert "initialising" not in again.stderr
    assert f"port {checkout.port} is taken" in again.stderr
    moved = int((checkout.data / "port").read_text())
    assert moved != checkout.port
    url = (checkout.data / "database_url").read_text().strip()
    assert url == f"postgresql://outreach:{password}@127.0.0.1:{moved}/outreach"
    assert run_sql(url, "SELECT 1 AS one")[0]["one"] == 1

    removed = checkout.dev("db-remove")
    assert removed.returncode == 0, removed.stderr
    assert not real.parent.exists()
    assert not link.is_symlink()
    with pytest.raises(OSError):
        run_sql(url, "SELECT 1")


def test_tests_that_must_not_overlap_run_on_one_worker(request: pytest.FixtureRequest) -> None:
    """``make test`` runs pytest-xdist with ``--dist loadgroup``; ``tests/conftest.py`` groups
    the browser tests (one browser at a time) and the tests that start servers of their own.
    pytest-xdist keeps a group together by suffixing its tests' ids, which pytest 9.2 silently
    undid: every group was spread over both workers, and nothing said so."""
    if not request.config.getoption("loadgroup", default=False):
        pytest.skip("run without pytest-xdist's --dist loadgroup")
    assert request.node.nodeid.endswith("@processes"), request.node.nodeid
