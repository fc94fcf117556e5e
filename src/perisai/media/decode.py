"""Safe, fast image decoding to PDQ's luma plane.

Everything an attacker controls passes through here, so: a short list of formats (Pillow's EPS
plugin would run Ghostscript), a pixel budget checked from the header before any pixel is
decoded, and every decoder error turned into :class:`Rejected` with a reason that names no path.

JPEGs decode at a reduced DCT scale (libjpeg's 1/2, 1/4, 1/8 IDCT, via ``Image.draft``): several
times cheaper than a full decode. The PDQ filter matrices are then folded onto the reduced grid
(see :mod:`perisai.media.pdq`), which keeps the hash within a few bits of a full decode.
"""

from __future__ import annotations

import ctypes
import io
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, UnidentifiedImageError

from perisai.media.pdq import Floats, luma_from_rgb


def quiet_decoders() -> None:
    """Keep hostile images from writing to stderr; their errors still reach us as exceptions.

    Pillow warns (``UserWarning: Corrupt EXIF data``, ``Truncated File Read``) and libtiff,
    which decodes compressed TIFFs, prints each error and warning itself (``LZWDecode: Not
    enough data at scanline 108``): one broken file put lines on the stderr of ``triage`` and
    ``victim-hash``, which must stay silent when it is not a terminal. Idempotent.
    """
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL(\.|$)")
    here = Path(PIL.__file__).resolve().parent
    libs = [*here.parent.glob("pillow.libs/libtiff*"), *here.glob(".dylibs/libtiff*")]
    for lib in libs:  # the copy Pillow's wheel bundles (and has already loaded)
        try:
            tiff = ctypes.CDLL(str(lib))
            tiff.TIFFSetErrorHandler.restype = ctypes.c_void_p
            tiff.TIFFSetWarningHandler.restype = ctypes.c_void_p
            tiff.TIFFSetErrorHandler(None)
            tiff.TIFFSetWarningHandler(None)
        except (OSError, AttributeError):  # not loadable here: only the noise stays
            continue


quiet_decoders()

# Telegram sends JPEG photos and WebP stickers; people forward PNG, GIF, BMP and TIFF files.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF")  # MPO opens as JPEG
# Pixels we are willing to decode. Below Pillow's own limit (89.5 MP warns, 179 MP raises),
# because a 60 MP PNG already costs ~240 MB as RGBA; a phone's 108 MP JPEG still passes, as it
# decodes at 1/8 scale.
MAX_PIXELS = 50_000_000
# Smallest short side a reduced JPEG decode may have: about four reduced pixels per Jarosz box
# (whose width is n / 128), whatever the image size; 1280x960 photos decode at 1/2 scale.
# Measured (benchmarks/media.py, 1280x960 JPEGs), drift from a full decode: 1/2 scale median 0,
# max 8 on photo crops; 1/4 median 0-2, max 12, 1.5x faster still, but it moved two of Meta's
# reference images 2 bits further from their reference hashes than python-threatexchange
# lands; 1/8 median 4, max 36, which is too much.
MIN_DRAFT_SIDE = 480
# Scans a JPEG may have. Each progressive scan is a pass over every block of the picture,
# and a scan that repeats an earlier one is only a warning to libjpeg: 2,000 repeated scans of
# 48 bytes each (a 380 KB file) held an 8000x6000 decode for a minute. Cameras and encoders
# write 1 (baseline) to about 10 (progressive); jpegtran scripts stay well under 100.
MAX_JPEG_SCANS = 256
# EXIF orientation -> (transpose, then mirror rows, then mirror columns) of the stored array.
_ORIENT: dict[int, tuple[bool, bool, bool]] = {
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}


class Rejected(Exception):
    """The file is not hashed: ``reason`` says why (never with a path in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Luma:
    """The luma plane in display orientation, and how to map it back to full resolution."""

    plane: Floats  # display orientation, possibly at reduced scale
    width: int  # full-resolution size, display orientation
    height: int
    scale: int  # 1, 2, 4 or 8
    flip_rows: bool  # display rows run opposite to the stored image's
    flip_cols: bool
    decode: str  # "full" or "draft-<scale>x"


def _reason(where: str, exc: BaseException) -> str:
    # Pillow's messages can quote file names; keep only our words and the exception type.
    text = str(exc).lower()
    what = "truncated" if "truncat" in text or isinstance(exc, EOFError) else "corrupt"
    return f"{what} {where}: {type(exc).__name__}"


def _open(data: bytes | Path) -> Image.Image:
    try:
        fp = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # noqa: SIM115
    except OSError as exc:
        raise Rejected(f"unreadable: {type(exc).__name__}") from None
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its limit; our own budget below decides instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(fp, formats=FORMATS)
    except Image.DecompressionBombError:
        raise Rejected("decompression bomb: too many pixels") from None
    except UnidentifiedImageError:
        raise Rejected("not an image (or an unsupported format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:
        raise Rejected(_reason("image header", exc)) from None


def _scale_for(img: Image.Image, allow_draft: bool) -> int:
    if not allow_draft or img.format not in ("JPEG", "MPO"):
        return 1
    short = min(img.size)
    for s in (8, 4, 2):
        if short // s >= MIN_DRAFT_SIDE:
            return s
    return 1


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block is common and must not lose the picture
        return 1
    return value if isinstance(value, int) and value in _ORIENT else 1


def _to_luma(img: Image.Image) -> Floats:
    mode = img.mode
    if mode == "L":
        return np.asarray(img, dtype=np.float32)
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit greyscale PNG/TIFF: Pillow's convert("RGB") would clip to white; rescale.
        arr = np.asarray(img.convert("I") if mode.startswith("I;16") else img, dtype=np.float32)
        return np.clip(arr * (255.0 / 65535.0 if mode != "F" else 1.0), 0, 255)
    if mode != "RGB":
        # CMYK, palette, greyscale+alpha, RGBA, YCbCr...: to RGB first (alpha is dropped, as
        # pdqhash and python-threatexchange do, so hashes from other tools still match).
        img = img.convert("RGB")
    return luma_from_rgb(np.asarray(img))


def decode_luma(data: bytes | Path, max_pixels: int = MAX_PIXELS, allow_draft: bool = True) -> Luma:
    """Decode an image to its luma plane, refusing bombs and broken files with a reason."""
    if isinstance(data, Path):
        try:
            data = data.read_bytes()
        except OSError as exc:
            raise Rejected(f"unreadable: {type(exc).__name__}") from None
    img = _open(data)
    try:
        if img.format in ("JPEG", "MPO"):
            # Start-of-scan markers: 0xFF 0xDA never occurs inside entropy-coded data (0xFF is
            # stuffed there), so counting the bytes over-counts only inside metadata.
            scans = data.count(b"\xff\xda")
            if scans > MAX_JPEG_SCANS:
                raise Rejected(
                    f"JPEG with {scans} scans, over the limit of {MAX_JPEG_SCANS} "
                    "(repeated scans make decoding slow without end)"
                )
        width, height = img.size
        scale = _scale_for(img, allow_draft)
        if width * height // (scale * scale) > max_pixels:
            raise Rejected(
                f"decompression bomb: {width}x{height} pixels is over the limit of {max_pixels:,}"
            )
        if scale > 1:
            # For a YCbCr JPEG, asking for "L" hands back the JPEG's own Y channel, which is
            # exactly PDQ's luma (JFIF uses the same 0.299/0.587/0.114), and skips chroma.
            img.draft(
                "L" if img.mode in ("RGB", "L") else img.mode, (width // scale, height // scale)
            )
            scale = round(width / img.size[0])
        try:
            img.load()
            # Only after load(): PNG's getexif() loads the image itself, and _orientation
            # swallows errors (a broken EXIF block must not lose the picture, a broken IDAT must).
            orientation = _orientation(img)
            plane = _to_luma(img)
        except Image.DecompressionBombError:
            raise Rejected("decompression bomb: too many pixels") from None
        except (OSError, SyntaxError, ValueError, EOFError, zlib.error, MemoryError) as exc:
            raise Rejected(_reason("image data", exc)) from None
    finally:
        img.close()
    transpose, flip_rows, flip_cols = _ORIENT.get(orientation, (False, False, False))
    if transpose:
        plane = plane.T
        width, height = height, width
    if flip_rows:
        plane = plane[::-1, :]
    if flip_cols:
        plane = plane[:, ::-1]
    decode = "full" if scale == 1 else f"draft-{scale}x"
    return Luma(np.ascontiguousarray(plane), width, height, scale, flip_rows, flip_cols, decode)
