"""Gzip bombs built in well under a second: a few megabytes that expand to
gigabytes, for tests that check a function refuses them."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable


def crc32_repeated(block: bytes, times: int, crc: int = 0) -> int:
    """``zlib.crc32(block * times, crc)`` without building the bytes: carrying
    a CRC over ``block`` is an affine map of the CRC so far, and ``times`` of
    them compose by repeated squaring."""
    Affine = tuple[int, list[int]]  # the image of 0, and what each bit adds

    def tabulate(f: Callable[[int], int]) -> Affine:
        base = f(0)
        return base, [f(1 << bit) ^ base for bit in range(32)]

    def apply(map_: Affine, value: int) -> int:
        out, columns = map_
        for bit in range(32):
            if value >> bit & 1:
                out ^= columns[bit]
        return out

    step = tabulate(lambda value: zlib.crc32(block, value))
    total = tabulate(lambda value: value)
    while times:
        if times & 1:
            total = tabulate(lambda value, t=total, s=step: apply(s, apply(t, value)))
        step = tabulate(lambda value, s=step: apply(s, apply(s, value)))
        times >>= 1
    return apply(total, crc)


def gzip_member(*pieces: tuple[bytes, int]) -> bytes:
    """One gzip member of each ``(block, times)`` piece's block repeated
    ``times`` times. Each block is compressed once: a full flush after it
    makes its compressed form independent of what came before, so copies of
    it can simply follow each other."""
    body, crc, size = [], 0, 0
    for block, times in pieces:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        body.append((compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)) * times)
        crc = crc32_repeated(block, times, crc)
        size += len(block) * times
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    last_block = b"\x03\x00"  # final, fixed Huffman codes, nothing but its end
    return header + b"".join(body) + last_block + struct.pack("<II", crc, size % (1 << 32))


def with_trailer_size(member: bytes, size: int) -> bytes:
    return member[:-4] + struct.pack("<I", size)
