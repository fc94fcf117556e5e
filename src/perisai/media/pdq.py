"""PDQ (Meta's 256-bit perceptual image hash) in numpy, written as a few small matrix products.

Why not `pdqhash` from PyPI: its 0.2.8 wheels were compiled against numpy 1 and fail to import
under numpy 2, and building it from the sdist needs a compiler in every install. The algorithm
is short and linear up to the final threshold, so numpy does it exactly:

1. luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (floats),
2. a Jarosz filter: a box filter of width ``ceil(n / 128)`` applied twice along each axis,
3. decimation to 64 x 64 by point sampling at ``int((i + 0.5) * n / 64)``,
4. a 16 x 16 DCT (frequencies 1..16, no DC) of that buffer, and one bit per coefficient:
   set when the coefficient is above the median of the 256.

Steps 2 and 3 are linear, so for an image of a given size they collapse into two 64 x n
matrices ``R`` (rows) and ``C`` (columns): ``buffer64 = R @ Y @ C.T``. The matrices are cached
per size. Because they are plain linear functionals over *full-resolution* pixel positions,
the same matrices can be folded onto a JPEG decoded at 1/2, 1/4 or 1/8 scale (each reduced
pixel stands for an s x s block of full-resolution pixels): that keeps the hash of a reduced
decode within a few bits of a full decode, which a plain "hash the small image" does not.
Bit order and hex layout follow the C++ reference (bit ``16 * i + j`` is coefficient (i, j);
the hex string is that 256-bit integer, most significant first).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

# float32 in practice; typed loosely because numpy stubs widen matmul results to float64.
Floats = NDArray[np.floating[Any]]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _box_window(n: int) -> int:
    # computeJaroszFilterWindowSize(n, 64) in the reference.
    return (n + 2 * 64 - 1) // (2 * 64)


def _box_right(x: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """``x @ B`` where ``B`` is the reference box1DFloat as an n x n matrix.

    Output ``o`` of box1DFloat averages inputs ``o - left .. o + right`` (clipped to the vector),
    with ``right = (window + 2) // 2 - 1`` and ``left = window - right - 1``. Right-multiplying
    spreads each weight ``x[:, o] / count(o)`` over that window, done with one cumulative sum.
    """
    n = x.shape[1]
    right = (window + 2) // 2 - 1
    left = window - right - 1
    o = np.arange(n)
    lo = np.maximum(o - left, 0)
    hi = np.minimum(o + right, n - 1)
    y = x / (hi - lo + 1)
    # Column j of the result sums y[:, o] for every o whose window covers j: o in [j-right, j+left].
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(y, axis=1)], axis=1)
    j_lo = np.maximum(o - right, 0)
    j_hi = np.minimum(o + left, n - 1)
    out: NDArray[np.float64] = c[:, j_hi + 1] - c[:, j_lo]
    return out


@lru_cache(maxsize=32)
def _axis_filter(n: int) -> NDArray[np.float64]:
    """The 64 x n matrix: Jarosz filter (two passes) along one axis, then the 64 samples."""
    window = _box_window(n)
    sample = np.zeros((64, n))
    idx = ((np.arange(64) + 0.5) * n / 64).astype(np.int64)
    sample[np.arange(64), idx] = 1.0
    for _ in range(2):
        sample = _box_right(sample, window)
    return sample


@lru_cache(maxsize=64)
def axis_filter(n: int, scale: int = 1, reverse: bool = False) -> Floats:
    """The 64 x ceil(n / scale) matrix for an axis of ``n`` full-resolution pixels.

    ``scale`` > 1 folds the full-resolution weights onto a decode reduced by that factor: reduced
    pixel k covers full pixels ``k*s .. k*s+s-1`` of the *stored* image. ``reverse`` says the axis
    was mirrored after decoding (EXIF orientation), so the partial block sits at the start.
    """
    full = _axis_filter(n)
    if scale == 1:
        return full.astype(np.float32)
    blocks = -(-n // scale)
    if reverse:
        first = n - (blocks - 1) * scale
        starts = np.concatenate([[0], np.arange(first, n, scale)])
    else:
        starts = np.arange(0, n, scale)
    return np.add.reduceat(full, starts, axis=1).astype(np.float32)


@lru_cache(maxsize=1)
def _dct16() -> Floats:
    # Reference dct64To16: rows are frequencies 1..16 (the DC term is dropped).
    i = np.arange(1, 17)[:, None]
    j = np.arange(64)[None, :]
    d = np.sqrt(2.0 / 64.0) * np.cos((np.pi / 2 / 64) * i * (2 * j + 1))
    return d.astype(np.float32)


def quality(buffer64: Floats) -> int:
    """Reference image-domain quality: summed luma gradients of the 64 x 64 buffer, 0..100."""
    dv = np.trunc((buffer64[:-1, :] - buffer64[1:, :]) * 100 / 255)
    dh = np.trunc((buffer64[:, :-1] - buffer64[:, 1:]) * 100 / 255)
    total = int(np.abs(dv).sum() + np.abs(dh).sum())
    return min(total // 90, 100)


def buffer64(luma: Floats, rows: Floats, cols: Floats) -> Floats:
    """The filtered and decimated 64 x 64 buffer ``rows @ luma @ cols.T``."""
    out: Floats = rows @ luma @ cols.T
    return out


def dct(buf: Floats) -> Floats:
    d = _dct16()
    out: Floats = d @ buf @ d.T
    return out


def hash_hex(coeffs: Floats) -> str:
    """Bits above the median (the 128th smallest of 256, as Torben's median in the reference)."""
    flat = coeffs.reshape(256)
    median = np.partition(flat, 127)[127]
    bits = flat > median
    # Bit k = 16 i + j is worth 2**k; the hex string is the 256-bit integer, big-endian.
    return np.packbits(bits[::-1]).tobytes().hex()


def luma_from_rgb(rgb: NDArray[np.uint8]) -> Floats:
    out: Floats = rgb.astype(np.float32) @ _LUMA
    return out


# The reference's dihedral transforms of the 16 x 16 DCT (pdqhashing.cpp), in its order:
# original, rotate 90, rotate 180, rotate 270, flip x, flip y, flip +1, flip -1. Frequencies
# start at 1, so mirroring an axis negates the coefficients with an even index along it.
_EVEN = np.where(np.arange(16) % 2 == 0, -1.0, 1.0).astype(np.float32)
_ROW = _EVEN[:, None]
_COL = _EVEN[None, :]
_CHECKER = _ROW * _COL


def dihedral(coeffs: Floats) -> list[Floats]:
    c = coeffs
    return [
        c,
        (c * _COL).T,
        c * _CHECKER,
        (c * _ROW).T,
        c * _ROW,
        c * _COL,
        c.T,
        (c * _CHECKER).T,
    ]


def hamming(a: str, b: str) -> int:
    """Hamming distance between two hex hashes of the same length."""
    if len(a) != len(b):
        raise ValueError("hashes differ in length")
    return (int(a, 16) ^ int(b, 16)).bit_count()
