"""A lean HTTP/1.1 load client for the benchmarks: one keep-alive connection per caller over
asyncio streams, requests written as bytes, answers read by ``Content-Length``.

Why not httpx here: on this 2-core machine the load generator shares the CPU with what it
measures. httpx spends about 3-4 ms of CPU a request (measured: ``bench.ingest`` with httpx
left about half the machine to the server), which capped every HTTP phase, the bare handler
included, at a rate set by the client rather than by the service. This client spends tens of
microseconds a request, as ``wrk`` or ``h2load`` would; httpx stays the client for everything
that is not a load loop.

    async with LeanClient("http://127.0.0.1:8000") as client:
        status, body = await client.request("POST", "/v1/referrals", payload, headers)
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from urllib.parse import urlsplit


class LeanClient:
    """One connection (opened on first use, reopened after the server closes it)."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"a plain http:// base URL is needed, not {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.authority = f"{self.host}:{self.port}".encode()
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request and read its whole answer: (status, body)."""
        return await asyncio.wait_for(self._request(method, path, body, headers), self.timeout)

    async def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None
    ) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = [f"{method} {path} HTTP/1.1".encode(), b"host: " + self.authority]
        head += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
        head.append(b"content-length: " + str(len(body)).encode())
        self._writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        try:
            status, length, chunked, close = await self._read_head(self._reader)
            if chunked:
                answer = await self._read_chunked(self._reader)
            else:
                answer = await self._reader.readexactly(length) if length else b""
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            raise
        if close:
            await self.close()
        return status, answer

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> tuple[int, int, bool, bool]:
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection":
                close = b"close" in value.lower()
        return status, length, chunked, close

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
