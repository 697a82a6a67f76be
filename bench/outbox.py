"""Outbox benchmark: queued emails drained by the service's senders in 2 processes against a
loopback SMTP server, against aiosmtplib sending the same emails directly, measured in the
same run.

    .venv/bin/python -m bench.outbox                 # 10,000 messages, 2 processes
    .venv/bin/python -m bench.outbox --quick         # 1,000 messages
    .venv/bin/python -m bench.outbox --messages 20000 --processes 2 --senders 4

What runs: a fresh database (on the server of ``DATABASE_URL`` or ``.data/database_url``,
migrated and seeded, dropped afterwards); an aiosmtpd server on a free loopback port in a
process of its own (it counts what it receives, and every ``Message-ID``);

1. outbox: ``--messages`` referrer emails are queued in ``outbox_messages``; ``--processes``
   processes each run ``--senders`` :class:`service.usecases.messages.sender.Sender` tasks
   (claim a batch with ``FOR UPDATE SKIP LOCKED``, render, send over a kept SMTP connection,
   mark sent in the claiming transaction) until nothing is due;
2. direct: the same processes and connections send the same emails (rendered the same way)
   with aiosmtplib in a loop, no database.

Printed: messages/s of each, the ratio (target >= 0.5), the p99 queue age (from the start of
the drain to ``sent_at``), and a check that the server got every message exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import multiprocessing as mp
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg

TARGET_RATIO = 0.5


# --- a loopback SMTP server (also used by tests/integration/test_messages.py) ----------------


class Inbox:
    """An aiosmtpd handler that keeps what it receives (thread-safe appends)."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.ids.append(str(message["Message-ID"]))
        if self.keep:
            self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


class LoopbackSmtp:
    """aiosmtpd on ``127.0.0.1:port`` (in a thread), requiring these credentials if given;
    it can be stopped and started again on the same port (an outage)."""

    def __init__(
        self,
        port: int,
        inbox: Inbox,
        *,
        credentials: tuple[str, str] | None = None,
        tls_context: Any = None,
    ) -> None:
        self.port, self.inbox, self.credentials = port, inbox, credentials
        self.tls_context = tls_context
        self.controller: Any = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        ok = (data.login.decode(), data.password.decode()) == self.credentials
        return AuthResult(success=ok)

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        options: dict[str, Any] = {}
        if self.credentials:
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": self.tls_context is not None,
            }
        if self.tls_context is not None:  # STARTTLS offered, and required before anything
            options.update(tls_context=self.tls_context, require_starttls=True)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server(
    port: int, inbox: Inbox, *, credentials: tuple[str, str] | None = None
) -> Iterator[LoopbackSmtp]:
    server = LoopbackSmtp(port, inbox, credentials=credentials)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _smtp_process(port: int, ready: Any, stop: Any, count: Any, duplicates: Any) -> None:
    inbox = Inbox(keep=False)
    with smtp_server(port, inbox):
        ready.set()
        stop.wait()
    count.value = len(inbox.ids)
    duplicates.value = len(inbox.ids) - len(set(inbox.ids))


# --- the two phases --------------------------------------------------------------------------


def _settings(db_url: str, smtp_port: int, senders: int, batch: int) -> Any:
    from service.settings import Settings

    return Settings(
        database_url=db_url,
        jwt_secret="bench",
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        outbox_senders=senders,
        outbox_batch_size=batch,
        db_pool_size=senders + 1,
    )


async def _drain(settings: Any) -> int:
    from service.runtime import build_runtime
    from service.usecases.messages.sender import Sender

    runtime = build_runtime(settings)
    senders = [Sender(runtime) for _ in range(settings.outbox_senders)]
    try:
        counts = await asyncio.gather(*(s.drain() for s in senders))
    finally:
        for s in senders:
            await s.close()
        await runtime.http.aclose()
        await runtime.engine.dispose()
    return sum(counts)


def drain_process(settings: Any, start: Any, results: Any) -> None:
    """A process of senders: waits for ``start``, drains, reports (handled, seconds)."""
    start.wait()
    began = time.perf_counter()
    handled = asyncio.run(_drain(settings))
    results.put((handled, time.perf_counter() - began))


async def _direct(settings: Any, share: list[int]) -> int:
    import aiosmtplib

    from service.usecases.messages import templates
    from service.usecases.messages.transports import email_message

    async def loop(ids: list[int]) -> int:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=int(settings.smtp_url.rsplit(":", 1)[1])
        )
        await client.connect()
        for i in ids:
            params = {"reference": f"ESX-{i:08d}", "token": "t"}
            rendered = templates.render_email(settings, "referral_acknowledged", params)
            await client.send_message(
                email_message(
                    settings, rendered, to=f"r{i}@example.org", message_id=f"<direct-{i}@bench>"
                )
            )
        await client.quit()
        return len(ids)

    k = settings.outbox_senders
    counts = await asyncio.gather(*(loop(share[j::k]) for j in range(k)))
    return sum(counts)


def direct_process(settings: Any, share: list[int], start: Any, results: Any) -> None:
    start.wait()
    began = time.perf_counter()
    sent = asyncio.run(_direct(settings, share))
    results.put((sent, time.perf_counter() - began))


def _run_processes(target: Any, per_process: list[tuple[Any, ...]]) -> tuple[int, float]:
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, start, results)) for args in per_process]
    for p in procs:
        p.start()
    time.sleep(3.0)  # let every process import the service before the clock starts
    began = time.perf_counter()
    start.set()
    got = [results.get() for _ in procs]
    wall = time.perf_counter() - began
    for p in procs:
        p.join()
    return sum(n for n, _ in got), wall


async def _queue(db_url: str, n: int) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "INSERT INTO outbox_messages (message_key, recipient_key, template, channel, "
            "address, params) SELECT 'bench:' || i, 'referrer', 'referral_acknowledged', "
            "'email', 'r' || i || '@example.org', "
            "jsonb_build_object('reference', 'ESX-' || i, 'token', 't') "
            "FROM generate_series(1, $1) AS i",
            n,
        )
    finally:
        await conn.close()


async def _queue_ages(db_url: str, since: float) -> dict[str, float]:
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE state = 'sent') AS sent, count(*) AS total, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at) - $1) AS p50, "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at) - $1) AS p99 "
            "FROM outbox_messages",
            since,
        )
    finally:
        await conn.close()
    return dict(row)


def main(argv: list[str] | None = None) -> int:
    from bench.ingest import _server_url, free_port, fresh_database

    args = _parser().parse_args(argv)
    n = args.messages or (1_000 if args.quick else 10_000)
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    count, duplicates = ctx.Value("i", 0), ctx.Value("i", 0)
    port = free_port()
    server = ctx.Process(target=_smtp_process, args=(port, ready, stop, count, duplicates))
    server.start()
    ready.wait(30)
    with fresh_database(_server_url()) as db_url:
        settings = _settings(db_url, port, args.senders, args.batch)
        asyncio.run(_queue(db_url, n))
        print(f"outbox: {n} messages queued; {args.processes} processes x {args.senders} senders")
        epoch = time.time() + 3.0  # about when the drain starts (after the imports)
        handled, outbox_s = _run_processes(
            drain_process, [(settings,) for _ in range(args.processes)]
        )
        ages = asyncio.run(_queue_ages(db_url, epoch))
        ids = list(range(1, n + 1))
        shares = [(settings, ids[p :: args.processes]) for p in range(args.processes)]
        direct_sent, direct_s = _run_processes(direct_process, shares)
    stop.set()
    server.join()
    outbox_rate, direct_rate = handled / outbox_s, direct_sent / direct_s
    ratio = outbox_rate / direct_rate
    print(f"outbox : {handled} messages in {outbox_s:.2f} s = {outbox_rate:,.0f} msg/s")
    print(f"         queue age from the start: p50 {ages['p50']:.2f} s, p99 {ages['p99']:.2f} s")
    print(f"direct : {direct_sent} messages in {direct_s:.2f} s = {direct_rate:,.0f} msg/s")
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"ratio  : {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")
    once = ages["sent"] == n and count.value == 2 * n and duplicates.value == 0
    print(
        f"server : {count.value} received, {duplicates.value} duplicates; "
        f"{ages['sent']}/{ages['total']} marked sent: {'ok' if once else 'NOT ok'}"
    )
    return 0 if once else 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="1,000 messages")
    p.add_argument("--messages", type=int, default=0, help="default 10,000")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--senders", type=int, default=2, help="sender tasks (connections) a process")
    p.add_argument("--batch", type=int, default=20, help="messages a claim")
    return p


if __name__ == "__main__":
    sys.exit(main())
