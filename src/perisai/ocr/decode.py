"""Opening untrusted image bytes: a header check for size before any pixel is decoded."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from perisai.media.decode import quiet_decoders

quiet_decoders()  # no libtiff or Pillow noise on stderr from a hostile image

MAX_PIXELS = 50_000_000
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


def open_checked(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Opens the header only; ValueError for non-images, unknown formats and over-large ones."""
    if not data:
        raise ValueError("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except (UnidentifiedImageError, Image.DecompressionBombError, Warning) as exc:
        raise ValueError(f"not a readable image: {exc}") from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"not a readable image: {exc}") from None
    width, height = img.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise ValueError(f"refused: {width}x{height} pixels is over {max_pixels:,}")
    return img


def load(img: Image.Image) -> Image.Image:
    """Decodes, applies the EXIF orientation and returns an 8-bit greyscale image."""
    try:
        img.load()
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(flat, rgba)
        return img.convert("L")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"corrupt image: {exc}") from None
