"""A reverse proxy on loopback, as nginx with ``proxy_add_x_forwarded_for`` would be: it takes
HTTP/1.1 requests on 127.0.0.1, appends the address it got each one from to
``X-Forwarded-For`` (after any the client sent) and forwards it to the app over a connection
from its own address (``127.0.0.2`` by default, so that the app can tell it from clients that
connect from 127.0.0.1 directly).

Clients on loopback differ by the source address they bind (``127.0.0.10``, ``127.0.0.11``,
…). Addresses loopback cannot have (IPv6 clients, the public) are simulated per request with
an ``X-Test-Peer`` header, which the proxy takes as the address it got the request from and
does not forward."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

PEER_HEADER = b"x-test-peer"


class ForwardingProxy:
    def __init__(self, upstream_port: int, *, source: str = "127.0.0.2") -> None:
        self.upstream_port = upstream_port
        self.source = source
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.AbstractServer = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self._loop
        ).result(timeout=10)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> ForwardingProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def forwarded_head(self, head: bytes, peer: str) -> bytes:
        """The request head as the app gets it: ``X-Forwarded-For`` extended with the peer,
        one request per connection (``Connection: close``)."""
        request_line, *lines = head.rstrip(b"\r\n").split(b"\r\n")
        forwarded: list[bytes] = []
        kept: list[bytes] = []
        for line in lines:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == PEER_HEADER:
                peer = value.strip().decode()
            elif key == b"x-forwarded-for":
                forwarded.append(value.strip())
            elif key != b"connection":
                kept.append(line)
        chain = b", ".join([*forwarded, peer.encode()])
        kept += [b"X-Forwarded-For: " + chain, b"Connection: close"]
        return b"\r\n".join([request_line, *kept]) + b"\r\n\r\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            peer = str(writer.get_extra_info("peername")[0])
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port, local_addr=(self.source, 0)
            )
        except (OSError, asyncio.IncompleteReadError):
            writer.transport.abort()
            return
        up_writer.write(self.forwarded_head(head, peer))
        body = asyncio.create_task(_pipe(reader, up_writer))
        await _pipe(up_reader, writer)  # the app closes after its answer
        body.cancel()
        for side in (writer, up_writer):
            with contextlib.suppress(Exception):
                side.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Any:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
