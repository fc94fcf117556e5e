"""PDQ image hashing against Meta's reference images, plus generated bombs and broken files.

Only benign pictures: the ThreatExchange reference photos (a bridge, small landscape photos) and
gradients and shapes drawn here.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from perisai.media import Rejected, hamming, hash_image

REFERENCE = Path(
    os.environ.get(
        "PERISAI_PDQ_REFERENCE",
        Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdq-reference",
    )
)


@pytest.fixture(scope="module")
def ref() -> Path:
    if not (REFERENCE / "wasm" / "test" / "TestData" / "PDQMD5TestData.csv").is_file():
        pytest.skip(f"PDQ reference corpus not found at {REFERENCE} (set PERISAI_PDQ_REFERENCE)")
    return REFERENCE


def reference_hashes(ref: Path) -> dict[Path, str]:
    out = {}
    with open(ref / "wasm" / "test" / "TestData" / "PDQMD5TestData.csv") as fh:
        for row in csv.DictReader(fh):
            path = ref / row["FilePath"].replace("../../../../", "")
            if path.suffix.lower() in (".jpg", ".png") and path.is_file():
                out[path] = row["Hash"]
    return out


def drawing(size: tuple[int, int] = (1283, 967), seed: int = 0) -> Image.Image:
    """A benign picture with structure: a gradient, rectangles and ellipses."""
    w, h = size
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    for k in range(12):
        x, y = (k * 97 + seed * 31) % (w - 200), (k * 61 + seed * 17) % (h - 150)
        colour = ((k * 40 + seed) % 256, (k * 90) % 256, (200 - k * 15) % 256)
        shape = draw.rectangle if k % 2 else draw.ellipse
        shape((x, y, x + 120 + k * 9, y + 80 + k * 7), fill=colour)
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_reference_hashes_within_10_bits(ref: Path) -> None:
    hashes = reference_hashes(ref)
    assert len(hashes) >= 12
    far = {p.name: hamming(hash_image(p).pdq, h) for p, h in hashes.items()}
    assert all(d <= 10 for d in far.values()), far


def test_bridge_edits_match_original(ref: Path) -> None:
    folder = ref / "data" / "bridge-mods"
    orig = hash_image(folder / "aaa-orig.jpg")
    assert orig.quality >= 50
    far = {p.name: hamming(hash_image(p).pdq, orig.pdq) for p in sorted(folder.glob("*.jpg"))}
    assert len(far) == 12
    assert all(d <= 31 for d in far.values()), far


def test_dihedral_variants_found(ref: Path) -> None:
    files = sorted((ref / "data" / "reg-test-input" / "dih").glob("*.jpg"))
    assert len(files) == 8
    orig = hash_image(files[0])
    assert len(orig.dihedral) == 8 and orig.dihedral[0] == orig.pdq
    for k, path in enumerate(files):
        h = hash_image(path).pdq
        # Files are numbered in the reference's dihedral order: variant k is file k.
        assert hamming(h, orig.dihedral[k]) <= 31, path.name
        if k:
            assert hamming(h, orig.pdq) > 31, path.name  # plain PDQ alone misses it


@pytest.mark.parametrize("name", ["CMYK.jpg", "P.png", "L.png", "RGB.jpg"])
def test_colour_modes_hash_like_rgb(ref: Path, name: str) -> None:
    folder = ref / "data" / "misc-images" / "modes"
    assert hamming(hash_image(folder / name).pdq, hash_image(folder / "original.jpg").pdq) <= 8


def test_fast_decode_stays_near_full_decode(ref: Path) -> None:
    for path in sorted((ref / "data" / "bridge-mods").glob("*.jpg")):
        # Telegram's photo size: 1280 on the long side, so the fast path decodes at 1/2 scale.
        data = encode(Image.open(path).convert("RGB").resize((1280, 960)), quality=85)
        fast, full = hash_image(data), hash_image(data, allow_draft=False)
        assert fast.decode == "draft-2x" and full.decode == "full"
        assert hamming(fast.pdq, full.pdq) <= 12, path.name


def test_generated_modes_and_formats() -> None:
    img = drawing((800, 600))
    base = hash_image(encode(img, "PNG"))
    assert base.quality >= 50 and base.decode == "full"
    variants = {
        "cmyk": encode(img.convert("CMYK"), quality=95),
        "palette": encode(img.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "grey": encode(img.convert("L"), "PNG"),
        "rgba": encode(img.convert("RGBA"), "PNG"),
        "grey16": encode(
            Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) * 257), "PNG"
        ),
        "webp": encode(img, "WEBP", quality=90),
    }
    far = {k: hamming(hash_image(v).pdq, base.pdq) for k, v in variants.items()}
    assert all(d <= 12 for d in far.values()), far


# EXIF orientation -> the transpose that stores an upright picture under that tag.
STORE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize(
    ("orientation", "size", "decode"),
    [(o, (1283, 967), "draft-2x") for o in sorted(STORE)] + [(7, (2567, 1923), "draft-4x")],
)
def test_exif_orientation_applied(orientation: int, size: tuple[int, int], decode: str) -> None:
    # Odd sizes: the reduced decode's partial last block lands at the other end after a flip.
    upright = drawing(size)
    expected = hash_image(encode(upright, quality=92))
    stored = upright.transpose(STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    got = hash_image(encode(stored, quality=92, exif=exif.tobytes()))
    assert (got.width, got.height) == upright.size
    assert got.decode == expected.decode == decode
    assert hamming(got.pdq, expected.pdq) <= 8


def test_hashes_of_bytes_and_path_agree(tmp_path: Path) -> None:
    data = encode(drawing((640, 480)))
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    a, b = hash_image(data), hash_image(path)
    assert a == b
    assert len(a.sha256) == 64 and len(a.md5) == 32 and len(a.pdq) == 64


def test_featureless_image_keeps_hash_and_low_quality() -> None:
    h = hash_image(encode(Image.new("RGB", (640, 480), (40, 90, 200))))
    assert h.quality < 50 and len(h.pdq) == 64


def test_hamming() -> None:
    assert hamming("0" * 64, "f" * 64) == 256
    assert hamming("0" * 63 + "3", "0" * 64) == 2
    with pytest.raises(ValueError):
        hamming("00", "000")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_60_megapixel_png_refused_without_decoding() -> None:
    # A real bomb: 10,000 x 6,000 greyscale of zeros, about 60 KB compressed.
    w, h = 10_000, 6_000
    comp = zlib.compressobj(9)
    row = b"\0" * (w + 1)
    idat = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
    data += _png_chunk(b"IEND", b"")
    start = time.perf_counter()
    with pytest.raises(Rejected) as exc:
        hash_image(data)
    assert time.perf_counter() - start < 0.5
    assert "decompression bomb" in exc.value.reason and "10000x6000" in exc.value.reason


def test_huge_jpeg_header_refused() -> None:
    data = bytearray(encode(drawing((64, 48))))
    sof = data.index(b"\xff\xc0")  # baseline SOF0: length, precision, height, width
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    with pytest.raises(Rejected) as exc:
        hash_image(bytes(data))
    assert "decompression bomb" in exc.value.reason


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_refused(fmt: str) -> None:
    data = encode(drawing((640, 480)), fmt)
    with pytest.raises(Rejected) as exc:
        hash_image(data[: len(data) // 2])
    assert "truncated" in exc.value.reason or "corrupt" in exc.value.reason


def test_corrupt_png_refused() -> None:
    data = bytearray(encode(drawing((320, 240)), "PNG"))
    start = data.index(b"IDAT") + 4
    data[start : start + 64] = b"\xff" * 64  # a broken zlib stream
    with pytest.raises(Rejected) as exc:
        hash_image(bytes(data))
    assert "corrupt" in exc.value.reason or "truncated" in exc.value.reason


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, not an image",
        os.urandom(4096),
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\n",
    ],
    ids=["empty", "text", "random", "eps"],
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(Rejected) as exc:
        hash_image(data)
    assert "not an image" in exc.value.reason


def test_missing_file_reason_has_no_path(tmp_path: Path) -> None:
    with pytest.raises(Rejected) as exc:
        hash_image(tmp_path / "secret-folder" / "x.jpg")
    assert "secret-folder" not in exc.value.reason and "unreadable" in exc.value.reason
