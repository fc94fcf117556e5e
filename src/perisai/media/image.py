"""Image hashes: SHA-256 and MD5 of the bytes, PDQ and its 8 dihedral variants of the pixels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from perisai.media import pdq
from perisai.media.decode import MAX_PIXELS, Luma, Rejected, decode_luma


@dataclass(frozen=True)
class ImageHashes:
    sha256: str
    md5: str
    pdq: str  # 64 hex chars, display orientation (EXIF applied)
    quality: int  # PDQ quality 0..100; below 50 the hash is weak (featureless pictures collide)
    dihedral: tuple[str, ...]  # 8 hashes in the reference's order, the original first
    width: int  # after EXIF orientation
    height: int
    decode: str  # "full" or "draft-2x" / "draft-4x" / "draft-8x"


def pdq_of_luma(luma: Luma) -> tuple[str, int, tuple[str, ...]]:
    """PDQ hash, quality and dihedral hashes of a decoded luma plane."""
    rows = pdq.axis_filter(luma.height, luma.scale, luma.flip_rows)
    cols = pdq.axis_filter(luma.width, luma.scale, luma.flip_cols)
    buf = pdq.buffer64(luma.plane, rows, cols)
    variants = tuple(pdq.hash_hex(c) for c in pdq.dihedral(pdq.dct(buf)))
    return variants[0], pdq.quality(buf), variants


# Below this PDQ quality a hash rests on near-median coefficients, which a reduced decode moves
# by up to ~40 bits (smooth, upscaled pictures); such images are re-decoded at full scale.
FULL_DECODE_BELOW_QUALITY = 50


def hash_image(
    data: bytes | Path, max_pixels: int = MAX_PIXELS, allow_draft: bool = True
) -> ImageHashes:
    """Hash one image file (its bytes or its path). Raises :class:`Rejected` with a reason.

    ``allow_draft=False`` forces a full decode (the reference the fast path is measured against).
    """
    if isinstance(data, Path):
        try:
            data = data.read_bytes()
        except OSError as exc:
            raise Rejected(f"unreadable: {type(exc).__name__}") from None
    luma = decode_luma(data, max_pixels, allow_draft)
    hex_hash, quality, variants = pdq_of_luma(luma)
    if luma.scale > 1 and quality < FULL_DECODE_BELOW_QUALITY:
        luma = decode_luma(data, max_pixels, allow_draft=False)
        hex_hash, quality, variants = pdq_of_luma(luma)
    return ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        pdq=hex_hash,
        quality=quality,
        dihedral=variants,
        width=luma.width,
        height=luma.height,
        decode=luma.decode,
    )


def hamming(a: str, b: str) -> int:
    """Hamming distance between two hex hashes (PDQ: match at <= 31, unrelated ~128)."""
    return pdq.hamming(a, b)
