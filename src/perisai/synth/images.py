"""Benign, procedurally drawn pictures and the near-duplicate edits reposters make of them.

Nothing here depicts a person: gradients, shapes, skylines and patterns only, with enough
structure for perceptual hashes to be meaningful (PDQ quality well above 50). Pillow with a
fixed seed, fixed JPEG settings and no clock makes every file byte-identical across runs.
"""

from __future__ import annotations

import random
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

SIZES = [(1280, 960), (960, 1280), (800, 600), (1280, 720), (720, 1280), (1080, 1080)]
# Posted as photos: Telegram recompresses these and strips metadata.
PHOTO_TRANSFORMS = [
    "recompress",
    "resize",
    "greyscale",
    "mirror",
    "rotate",
    "crop",
    "border",
    "caption",
    "screenshot",
]
# Sent "as file", so the bytes (EXIF, colour mode, format) survive as the reposter made them.
FILE_TRANSFORMS = ["exif_rotate", "cmyk", "png_palette"]
TRANSFORMS = PHOTO_TRANSFORMS + FILE_TRANSFORMS
# What a PDQ pipeline done right should manage: a hint for tests of matching, not a promise.
PDQ_EXPECTATION = {
    "recompress": "match",
    "resize": "match",
    "greyscale": "match",
    "exif_rotate": "match_after_exif_transpose",
    "cmyk": "match_after_rgb_conversion",
    "png_palette": "match_after_rgb_conversion",
    "mirror": "dihedral",
    "rotate": "dihedral",
    "crop": "hard",
    "border": "hard",
    "caption": "hard",
    "screenshot": "hard",
}
ORIGINAL_QUALITY = 87


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _gradient(rng: random.Random, w: int, h: int) -> Image.Image:
    grad = Image.linear_gradient("L").resize((w, h))
    if rng.random() < 0.5:
        grad = grad.transpose(Image.Transpose.ROTATE_180)
    return ImageOps.colorize(grad, _colour(rng), _colour(rng))


def _skyline(rng: random.Random, img: Image.Image) -> None:
    w, h = img.size
    d = ImageDraw.Draw(img)
    horizon = int(h * rng.uniform(0.45, 0.7))
    sun = rng.randrange(w // 10, w - w // 10), rng.randrange(h // 10, horizon // 2)
    r = rng.randrange(w // 20, w // 8)
    d.ellipse((sun[0] - r, sun[1] - r, sun[0] + r, sun[1] + r), fill=_colour(rng))
    for _ in range(3):
        pts = (
            [(0, horizon)]
            + [(x, horizon - rng.randrange(h // 20, h // 4)) for x in range(0, w + 1, w // 6)]
            + [(w, horizon)]
        )
        d.polygon(pts, fill=_colour(rng))
    d.rectangle((0, horizon, w, h), fill=_colour(rng))
    x = 0
    while x < w:
        bw, bh = rng.randrange(w // 20, w // 8), rng.randrange(h // 10, h // 2)
        d.rectangle((x, horizon - bh, x + bw, horizon), fill=_colour(rng))
        win = _colour(rng)
        for wy in range(horizon - bh + 8, horizon - 12, 22):
            for wx in range(x + 6, x + bw - 10, 18):
                if rng.random() < 0.6:
                    d.rectangle((wx, wy, wx + 8, wy + 10), fill=win)
        x += bw + rng.randrange(0, w // 30)


def _abstract(rng: random.Random, img: Image.Image) -> None:
    w, h = img.size
    d = ImageDraw.Draw(img)
    for _ in range(rng.randrange(10, 26)):
        x0, y0 = rng.randrange(-w // 5, w), rng.randrange(-h // 5, h)
        x1, y1 = x0 + rng.randrange(w // 12, w // 2), y0 + rng.randrange(h // 12, h // 2)
        shape = rng.randrange(4)
        if shape == 0:
            d.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        elif shape == 1:
            d.rectangle((x0, y0, x1, y1), fill=_colour(rng))
        elif shape == 2:
            pts = [
                (rng.randrange(x0, x1), rng.randrange(y0, y1)) for _ in range(rng.randrange(3, 7))
            ]
            d.polygon(pts, fill=_colour(rng))
        else:
            d.line((x0, y0, x1, y1), fill=_colour(rng), width=rng.randrange(4, 30))


def _pattern(rng: random.Random, img: Image.Image) -> None:
    w, h = img.size
    d = ImageDraw.Draw(img)
    step = rng.randrange(24, 90)
    a, b = _colour(rng), _colour(rng)
    x0, y0 = rng.randrange(0, w // 2), rng.randrange(0, h // 2)
    x1, y1 = rng.randrange(x0 + w // 4, w + 1), rng.randrange(y0 + h // 4, h + 1)
    for y in range(y0, y1, step):
        for x in range(x0, x1, step):
            d.rectangle((x, y, x + step, y + step), fill=a if (x // step + y // step) % 2 else b)
    _abstract(rng, img)


def make_original(rng: random.Random) -> Image.Image:
    w, h = rng.choice(SIZES)
    img = _gradient(rng, w // 2, h // 2)
    rng.choice([_skyline, _abstract, _pattern])(rng, img)
    # Drawn at half size and scaled up: soft, photo-like edges (and realistic JPEG sizes) for
    # a fraction of what a Gaussian blur at full size costs.
    return img.resize((w, h), Image.Resampling.BICUBIC)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def thumbnail(img: Image.Image, side: int = 320) -> Image.Image:
    thumb = img.convert("RGB")
    thumb.thumbnail((side, side), Image.Resampling.BICUBIC)
    return thumb


def _screenshot(img: Image.Image, handle: str, clock: str) -> tuple[Image.Image, dict[str, Any]]:
    cw, ch = 720, 1560
    canvas = Image.new("RGB", (cw, ch), (250, 250, 250))
    d = ImageDraw.Draw(canvas)
    d.rectangle((0, 0, cw, 56), fill=(20, 20, 20))
    d.text((24, 12), clock, fill=(255, 255, 255), font=font(28))
    d.text((cw - 190, 12), "4G  87%", fill=(255, 255, 255), font=font(28))
    d.rectangle((cw - 56, 18, cw - 20, 38), outline=(255, 255, 255), width=3)
    d.text((70, 86), handle, fill=(10, 10, 10), font=font(34))
    d.polygon([(24, 104), (44, 88), (44, 120)], fill=(10, 10, 10))
    scaled = img.convert("RGB")
    scaled = scaled.resize((cw, round(img.height * cw / img.width)), Image.Resampling.BICUBIC)
    top = 160
    if top + scaled.height > ch - 240:
        scaled = scaled.resize(
            (round(scaled.width * (ch - 400) / scaled.height), ch - 400),
            Image.Resampling.BICUBIC,
        )
    left = (cw - scaled.width) // 2
    canvas.paste(scaled, (left, top))
    y = top + scaled.height + 20
    d.text((24, y), "1,204 likes", fill=(10, 10, 10), font=font(28))
    d.rectangle((0, ch - 110, cw, ch), fill=(240, 240, 240))
    for i in range(5):
        cx = 72 + i * 144
        d.ellipse((cx - 22, ch - 78, cx + 22, ch - 34), outline=(60, 60, 60), width=4)
    box = [left, top, left + scaled.width, top + scaled.height]
    return canvas, {"canvas": [cw, ch], "photo_box": box, "text": f"{clock} | {handle}"}


def derive(
    src: Image.Image, name: str, rng: random.Random, caption: str, handle: str, clock: str
) -> tuple[Image.Image, dict[str, Any], dict[str, Any]]:
    """(edited image, parameters for the ground truth, keyword arguments for save())."""
    img = src.convert("RGB")
    w, h = img.size
    save: dict[str, Any] = {"quality": ORIGINAL_QUALITY}
    params: dict[str, Any] = {}
    if name == "recompress":
        save["quality"] = params["quality"] = rng.choice([35, 45, 55, 65])
        out = img
    elif name == "resize":
        scale = rng.choice([0.5, 0.6, 0.75])
        out = img.resize((round(w * scale), round(h * scale)), Image.Resampling.BICUBIC)
        params = {"scale": scale, "width": out.width, "height": out.height}
    elif name == "greyscale":
        out = img.convert("L")
    elif name == "mirror":
        out, params = ImageOps.mirror(img), {"axis": "vertical"}
    elif name == "rotate":
        out, params = img.transpose(Image.Transpose.ROTATE_90), {"degrees_ccw": 90}
    elif name == "crop":
        m = rng.uniform(0.08, 0.2)
        box = [round(w * m), round(h * m * 0.7), round(w * (1 - m * 0.6)), round(h * (1 - m))]
        out, params = img.crop((box[0], box[1], box[2], box[3])), {"box": box}
    elif name == "border":
        px = rng.randrange(24, 90)
        colour = rng.choice([(0, 0, 0), (255, 255, 255), (200, 30, 60)])
        out = ImageOps.expand(img, border=px, fill=colour)
        params = {"px": px, "colour": f"#{colour[0]:02x}{colour[1]:02x}{colour[2]:02x}"}
    elif name == "caption":
        bar = max(48, h // 9)
        out = Image.new("RGB", (w, h + bar), (0, 0, 0))
        out.paste(img, (0, 0))
        text = f"{caption}  IG {handle}"
        ImageDraw.Draw(out).text(
            (16, h + bar // 5), text, fill=(255, 255, 255), font=font(bar // 2)
        )
        params = {"bar": "bottom", "bar_height": bar, "text": text}
    elif name == "screenshot":
        out, params = _screenshot(img, handle, clock)
    elif name == "exif_rotate":
        orientation = rng.choice([6, 8, 3])
        # Store the pixels turned the other way so that a viewer honouring the tag shows
        # the original; a hasher that ignores the tag sees a rotated picture.
        undo = {
            6: Image.Transpose.ROTATE_90,
            8: Image.Transpose.ROTATE_270,
            3: Image.Transpose.ROTATE_180,
        }[orientation]
        out = img.transpose(undo)
        exif = Image.Exif()
        exif[0x0112] = orientation
        save["exif"] = exif.tobytes()
        params = {"orientation": orientation}
    elif name == "cmyk":
        out = img.convert("CMYK")
    elif name == "png_palette":
        out = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        save = {"format": "PNG"}
        params = {"colors": 64}
    else:
        raise ValueError(f"unknown transform {name!r}")
    return out, params, save
