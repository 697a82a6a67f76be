"""Draw the field app's icons (PNG, 192 and 512 px, and a maskable 512 px) into
service/web/static/icons/. Run once when the design changes; the PNGs are committed.

    .venv/bin/python scripts/app_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "service" / "web" / "static" / "icons"
TEAL, WHITE = (11, 85, 99), (255, 255, 255)


def pixel(x: float, y: float, *, safe: float) -> tuple[int, int, int]:
    """A white map pin (a ring over a point) on teal; coordinates in 0..1."""
    cx, cy = 0.5, 0.42
    r = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5 / safe
    in_ring = 0.09 <= r <= 0.22
    # The pin's point: a triangle below the ring.
    dy = (y - cy) / safe
    in_tip = 0.1 < dy < 0.42 and abs(x - cx) / safe < 0.2 * (0.42 - dy) / 0.32
    return WHITE if in_ring or (in_tip and r > 0.09) else TEAL


def png(size: int, *, safe: float) -> bytes:
    rows = b"".join(
        b"\x00"
        + b"".join(bytes(pixel((i + 0.5) / size, (j + 0.5) / size, safe=safe)) for i in range(size))
        for j in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "app-192.png").write_bytes(png(192, safe=1.0))
    (OUT / "app-512.png").write_bytes(png(512, safe=1.0))
    # Maskable: the drawing inside the central 80 % safe zone.
    (OUT / "app-maskable-512.png").write_bytes(png(512, safe=0.75))


if __name__ == "__main__":
    main()
