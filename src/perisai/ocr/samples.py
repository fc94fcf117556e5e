"""Synthetic screenshots with planted, fictional Malaysian PII, for tests and benchmarks/ocr_eval.

Chat bubbles and a profile page, light or dark, drawn with Pillow and a real TrueType font
(DejaVu Sans from Debian's fonts-dejavu-core). Every number and handle here is invented.
"""

from __future__ import annotations

import glob
import io
import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

FONT_GLOBS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/**/DejaVuSans.ttf",
    "/usr/share/fonts/**/LiberationSans-Regular.ttf",
)
LIGHT = {"bg": (255, 255, 255), "in": (235, 235, 240), "out": (220, 248, 198), "fg": (20, 20, 20)}
DARK = {"bg": (16, 22, 28), "in": (36, 46, 56), "out": (40, 90, 70), "fg": (235, 235, 235)}


def font_path() -> str | None:
    for pattern in FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


@dataclass
class Sample:
    data: bytes
    kind: str
    dark: bool
    phones: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    ics: list[str] = field(default_factory=list)


def _font(size: int) -> ImageFont.FreeTypeFont:
    path = font_path()
    if path is None:
        raise RuntimeError("no TrueType font: install fonts-dejavu-core")
    return ImageFont.truetype(path, size)


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buf.getvalue()


def chat(lines: list[str], dark: bool = False, size: int = 26, width: int = 720) -> bytes:
    """A phone chat screenshot: status bar, header, alternating bubbles holding `lines`."""
    c = DARK if dark else LIGHT
    f, small = _font(size), _font(max(12, size * 2 // 3))
    height = 200 + len(lines) * (size * 2 + 40)
    img = Image.new("RGB", (width, height), c["bg"])
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, width, 56), fill=c["in"])
    d.text((20, 14), "21:47", fill=c["fg"], font=small)
    d.text((90, 80), "Lepak Geng MY", fill=c["fg"], font=f)
    y = 140
    for i, text in enumerate(lines):
        box = d.textbbox((0, 0), text, font=f)
        bw, bh = int(box[2] - box[0]) + 36, int(box[3] - box[1]) + 28
        x = 24 if i % 2 == 0 else width - bw - 24
        d.rounded_rectangle((x, y, x + bw, y + bh), 18, fill=c["out" if i % 2 else "in"])
        d.text((x + 18, y + 12), text, fill=c["fg"], font=f)
        y += bh + 24
    return _encode(img.crop((0, 0, width, min(height, y + 40))), "PNG")


def profile(
    name: str, handle: str, bio: list[str], dark: bool = False, size: int = 28, fmt: str = "JPEG"
) -> bytes:
    """An Instagram-like profile page: avatar, handle, counts, name and bio lines."""
    c = DARK if dark else LIGHT
    f, big = _font(size), _font(size + 6)
    width, height = 720, 560 + len(bio) * (size + 16)
    img = Image.new("RGB", (width, height), c["bg"])
    d = ImageDraw.Draw(img)
    d.text((24, 20), handle, fill=c["fg"], font=big)
    d.ellipse((24, 100, 184, 260), fill=(200, 120, 150))
    for i, (n, label) in enumerate(
        [("128", "posts"), ("2,041", "followers"), ("310", "following")]
    ):
        d.text((230 + i * 160, 140), n, fill=c["fg"], font=f)
        d.text((230 + i * 160, 140 + size + 8), label, fill=c["fg"], font=_font(size * 3 // 4))
    y = 300
    d.text((24, y), name, fill=c["fg"], font=f)
    for line in bio:
        y += size + 16
        d.text((24, y), line, fill=c["fg"], font=f)
    d.rounded_rectangle((24, y + 70, width - 24, y + 120), 10, fill=c["in"])
    return _encode(img, fmt)


FIRST = ["nur", "siti", "aina", "farah", "mira", "balqis", "izzah", "dayang", "alya", "hani"]
LAST = ["aisyah", "hajar", "sofea", "amani", "qistina", "zahra", "nabila", "irdina"]


def _phone(rng: random.Random) -> tuple[str, str]:
    """(as written, digits with the leading 0)."""
    p = rng.choice(["12", "13", "14", "16", "17", "18", "19"])
    a, b = rng.randrange(100, 1000), rng.randrange(1000, 10000)
    digits = f"0{p}{a}{b}"
    style = rng.randrange(4)
    written = [f"0{p}-{a} {b}", f"+60 {p}-{a} {b}", f"0{p}-{a}{b}", f"0{p} {a} {b}"][style]
    return written, digits


def _handle(rng: random.Random) -> str:
    sep = rng.choice([".", "_", ""])
    return f"{rng.choice(FIRST)}{sep}{rng.choice(LAST)}{rng.choice(['', '_99', '.x', '07'])}"


def random_sample(rng: random.Random) -> Sample:
    dark, size = rng.random() < 0.4, rng.choice([20, 24, 28, 32])
    phone, digits = _phone(rng)
    handle = _handle(rng)
    born = f"{rng.randrange(80, 100)}0{rng.randrange(1, 10)}1{rng.randrange(0, 10)}"
    ic = f"{born}-14-{rng.randrange(1000, 10000)}"
    if rng.random() < 0.5:
        lines = [
            "korang kenal tak minah ni",
            f"no dia {phone}",
            f"IG: {handle}",
            "spam dia ramai2",
            f"IC {ic}",
        ]
        data = chat(lines, dark, size)
        kind = "chat"
    else:
        bio = [f"WhatsApp {phone}", "Shah Alam | 22", f"tiktok @{handle}"]
        data = profile(handle.replace(".", " ").title(), f"@{handle}", bio, dark, size)
        kind = "profile"
        ic = ""
    return Sample(data, kind, dark, [digits], [handle], [ic] if ic else [])
