"""A cheap "is this text-heavy?" test run before OCR: about a millisecond per photo.

Decodes at reduced size (JPEG draft mode), greyscale about 256 pixels wide, then measures what
screenshots and captioned images have and photos lack: rows crossed by many short, sharp
strokes (text lines), and a few flat background colours (screens, chat bubbles, caption bars).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from perisai.ocr.decode import MAX_PIXELS, load, open_checked

SIDE = 256  # the long side the test looks at
STROKE = 40  # a horizontal step of at least this many grey levels is a stroke edge
TEXT_ROW = 6  # a row with at least this many stroke edges per 100 pixels may be a text row


def _small(data: bytes) -> np.ndarray:
    img = open_checked(data, MAX_PIXELS)
    width, height = img.size
    if img.format == "JPEG":
        img.draft("L", (SIDE, SIDE))
    grey = load(img)
    scale = SIDE / max(grey.size)
    if scale < 1:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.int16)


def measure(data: bytes) -> dict[str, float]:
    a = _small(data)
    h, w = a.shape
    dx = np.abs(np.diff(a, axis=1))
    strong = dx >= STROKE
    per_row = strong.sum(axis=1) * 100.0 / max(1, w - 1)
    text_rows = per_row >= TEXT_ROW
    # Letters are short: in text rows few stroke edges continue straight on into the next row,
    # while the edges of checkerboards, windows and buildings do.
    vert = strong[1:, :] & strong[:-1, :]
    rows = text_rows[1:]
    text_edges = int(strong[1:][rows].sum())
    text_vertical = float(vert[rows].sum() / text_edges) if text_edges else 1.0
    hist = np.bincount((a // 8).ravel(), minlength=32)
    top3 = float(np.sort(hist)[-3:].sum() / a.size)
    return {
        "width": float(w),
        "height": float(h),
        "edge_density": float(strong.mean()) if strong.size else 0.0,  # a 1-pixel-wide sliver
        "text_row_share": float(text_rows.mean()),
        "text_vertical_share": text_vertical,
        "top3_grey_share": top3,
    }


MIN_TEXT_ROWS = 0.02  # share of rows that look like text lines (a one-line caption bar: ~0.04)
MAX_TEXT_VERTICAL = 0.78  # text measured 0.62-0.75 on synthetic screenshots; shapes 0.83-0.93


def decide(m: dict[str, float]) -> bool:
    return m["text_row_share"] >= MIN_TEXT_ROWS and m["text_vertical_share"] <= MAX_TEXT_VERTICAL


def looks_textual(data: bytes) -> tuple[bool, dict[str, float]]:
    """(whether the image is worth OCR, the measurements). ValueError for unreadable bytes."""
    m = measure(data)
    return decide(m), m
