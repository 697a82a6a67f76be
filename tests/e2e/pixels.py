"""Just enough PNG decoding (8-bit RGB/RGBA, not interlaced: what Chromium writes) to tell a
rendered map from a blank one, without an imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from numpy.typing import NDArray

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_png(data: bytes) -> NDArray[np.uint8]:
    """The image as an ``(height, width, channels)`` array."""
    assert data.startswith(SIGNATURE), "not a PNG"
    pos, idat, header = len(SIGNATURE), [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG {header}")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[list[int]] = []
    previous = [0] * stride
    for r in range(height):
        start = r * (stride + 1)
        line = list(raw[start + 1 : start + 1 + stride])
        previous = _unfilter(raw[start], line, previous, channels)
        rows.append(previous)
    return np.array(rows, dtype=np.uint8).reshape(height, width, channels)


def _unfilter(kind: int, line: list[int], up: list[int], bpp: int) -> list[int]:
    if kind == 0:
        return line
    if kind == 2:
        return [(a + b) & 0xFF for a, b in zip(line, up, strict=True)]
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            predictor = left
        elif kind == 3:
            predictor = (left + up[i]) >> 1
        else:
            predictor = _paeth(left, up[i], up[i - bpp] if i >= bpp else 0)
        line[i] = (line[i] + predictor) & 0xFF
    return line


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def colour_variance(image: NDArray[np.uint8]) -> float:
    """The variance of the RGB values: near zero for a blank (single-colour) image."""
    return float(image[..., :3].astype(np.float64).var())
