"""A real server for tests that need one: ``outreach serve`` (uvicorn, the production factory)
in a subprocess on a free loopback port, its log lines captured in a file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT

JWT_SECRET = "live-test-secret-" + "y" * 32
METRICS_TOKEN = "scrape-" + "z" * 32


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    def __init__(self, db_url: str, *, workers: int = 1, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="outreach-live-", suffix=".log")[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            DATABASE_URL=db_url,
            OUTREACH_JWT_SECRET=JWT_SECRET,
            OUTREACH_METRICS_TOKEN=METRICS_TOKEN,
            OUTREACH_PUBLIC_RATE_LIMIT_PER_MINUTE="100000",
            OUTREACH_RETENTION_INTERVAL_S="0",
        )
        env.update({f"OUTREACH_{k.upper()}": str(v) for k, v in settings.items()})
        cmd = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--workers", str(workers)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)

    def wait_ready(self, timeout_s: float = 60.0) -> LiveServer:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not up in {timeout_s} s: {self.log()}")

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, as a process manager would; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """Every log line, parsed (each must be one JSON object)."""
        return [json.loads(line) for line in self.log().splitlines() if line.strip()]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LiveServer:
        return self.wait_ready()

    def __exit__(self, *_: object) -> None:
        self.close()
