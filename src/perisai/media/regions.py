"""Region proposals: the photo inside a screenshot, a border, a caption bar or a collage cell.

PDQ hashes the whole picture, so a photo reposted inside an app's frame, with a border, with a
caption bar or as one cell of a collage hashes 60 to 146 bits away from the photo itself. This
module finds the rectangles where an embedded photo probably is, so that each can be hashed
on its own. It is a pure function over a greyscale array (no decoding here) and cheap: it works
on a copy shrunk to at most ``ANALYSIS_SIDE`` pixels on the long side.

Three proposals, each a rectangle in the coordinates of the array given:

* ``trim``: near-uniform margins (borders) trimmed from all four sides: rows or columns where
  almost every pixel is within a few grey levels of the edge's own colour.
* ``content``: the largest band of rows (then of columns inside it) that are *not* background:
  a row is background when most of its pixels are near one of the background colours (the
  colours of the four edges and the commonest flat colour), which holds for flat UI bars, the
  white space between lines of text and caption bars with sparse text, but rarely for a photo.
  This finds the photo in a phone screenshot and above or below a caption bar.
* ``cell``: collage cells, split on thin gutters (runs of 1 to ~4% of the side of rows or
  columns of near-constant grey that span the whole content box), recursively once (rows, then
  columns in each band, or the other way round).

Proposals smaller than ``MIN_SIDE`` pixels or ``MIN_AREA`` of the image, and proposals that are
almost the whole image (the whole-image hash already covers them), are dropped; near-duplicate
rectangles are merged; at most ``MAX_REGIONS`` are returned (a 3x3 collage needs 9 cells).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from perisai.media import pdq

ANALYSIS_SIDE = 384  # long side of the shrunk copy the proposals are computed on
MAX_REGIONS = 12
MIN_QUALITY = 50  # region hashes below this PDQ quality are too weak to match on
MIN_SIDE = 64  # pixels, in the caller's coordinates
MIN_AREA = 0.04  # of the image area
NEAR_WHOLE = 0.985  # a proposal covering more than this share of both sides is the whole image
TOL = 10.0  # grey levels: "the same colour" in the shrunk copy (JPEG noise and blur)
STRICT = 0.97  # share of a row near the edge colour for a border row
BAR_TEXT = 0.2  # a caption bar's text rows: at least this share near the bar's colour
BAR_CLEAN = 0.9  # a caption bar's clean rows (between and around the lines of text)
BAR_DEPTH = 0.3  # a caption bar is at most this share of the side
LOOSE = 0.6  # share of a row near a background colour for a background row (text is sparse)
FLAT_STD = 4.0  # grey-level spread of a gutter row along the content box
GUTTER_MAX = 0.045  # a gutter is at most this share of the side (a sky is not a gutter)
HASH_SIDE = 320  # region hashing works on a copy where each region keeps this short side
CELL_MIN = 0.15  # a collage cell is at least this share of the content box's side

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


@dataclass(frozen=True)
class Region:
    box: Box  # in the coordinates of the array given to propose()
    kind: str  # "trim", "content" or "cell"


def _shrink(gray: NDArray[Any]) -> tuple[NDArray[np.float32], float]:
    """Area-averaged copy with the long side at most ANALYSIS_SIDE, and the factor back."""
    h, w = gray.shape
    f = max(1, int(np.ceil(max(h, w) / ANALYSIS_SIDE)))
    if f == 1:
        return gray.astype(np.float32), 1.0
    hh, ww = h // f, w // f
    small = gray[: hh * f, : ww * f].astype(np.float32).reshape(hh, f, ww, f).mean(axis=(1, 3))
    return small, float(f)


def _edge_run(near: NDArray[np.bool_], share: float) -> int:
    """How many leading rows are near the edge colour.

    ``share`` >= STRICT: every row must pass (a border). Otherwise a bar: rows with text on it
    pass when at least BAR_TEXT of their pixels are near the colour, and the bar ends at the
    last row within BAR_DEPTH of the side that is a clean bar row again (share >= BAR_CLEAN).
    """
    shares = near.mean(axis=1)
    bad = np.flatnonzero(shares < share)
    if share >= STRICT:
        return int(bad[0]) if bad.size else near.shape[0]
    depth = max(1, int(BAR_DEPTH * near.shape[0]))
    broken = np.flatnonzero(shares[:depth] < BAR_TEXT)
    stop = int(broken[0]) if broken.size else depth
    clean = np.flatnonzero(shares[:stop] >= BAR_CLEAN)
    end = int(clean[-1]) + 1 if clean.size else 0
    # A bar ends where the picture begins: the next row is mostly not the bar's colour.
    if end == 0 or end >= near.shape[0] or shares[end] >= LOOSE:
        return 0
    return end


def _trim(img: NDArray[np.float32], share: float) -> Box:
    """Box left after trimming rows/columns near each edge's colour from all four sides."""
    h, w = img.shape
    top_c, bottom_c = np.median(img[0]), np.median(img[-1])
    left_c, right_c = np.median(img[:, 0]), np.median(img[:, -1])
    t = _edge_run(np.abs(img - top_c) <= TOL, share)
    b = _edge_run(np.abs(img[::-1] - bottom_c) <= TOL, share)
    if t + b >= h:
        return (0, 0, w, h)
    band = img[t : h - b]
    # Caption bars run along the top or bottom: the sides are trimmed as strict borders only.
    side = max(share, STRICT)
    lft = _edge_run((np.abs(band - left_c) <= TOL).T, side)
    rgt = _edge_run((np.abs(band[:, ::-1] - right_c) <= TOL).T, side)
    if lft + rgt >= w:
        return (0, t, w, h - b)
    return (lft, t, w - rgt, h - b)


def _symmetric(img: NDArray[np.float32], box: Box) -> Box | None:
    """A border of equal width on all sides (the thinnest side's), when a side ran further
    because the picture's own edge has the border's colour."""
    h, w = img.shape
    runs = [box[0], box[1], w - box[2], h - box[3]]
    if min(runs) < 1 or max(runs) == min(runs):
        return None
    k = min(runs)
    return (k, k, w - k, h - k)


def _background_colours(img: NDArray[np.float32]) -> NDArray[np.float32]:
    edges = [np.median(img[0]), np.median(img[-1]), np.median(img[:, 0]), np.median(img[:, -1])]
    # The commonest grey among flat pixels (page background of a screenshot).
    gy = np.abs(np.diff(img, axis=0))[:, :-1]
    gx = np.abs(np.diff(img, axis=1))[:-1, :]
    flat = img[:-1, :-1][(gy < 2) & (gx < 2)]
    if flat.size > img.size // 10:
        hist = np.bincount(np.clip(flat, 0, 255).astype(np.int64) // 4, minlength=64)
        edges.append(np.float32(hist.argmax() * 4 + 2))
    return np.unique(np.round(np.array(edges, dtype=np.float32)))


def _longest_run(mask: NDArray[np.bool_], gap: int) -> tuple[int, int]:
    """(start, end) of the longest run of True, bridging runs of False up to ``gap`` long."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return (0, 0)
    splits = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate([[idx[0]], idx[splits + 1]])
    ends = np.concatenate([idx[splits], [idx[-1]]]) + 1
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k])


def _content(img: NDArray[np.float32]) -> Box:
    """Largest band of non-background rows, then of non-background columns inside it."""
    h, w = img.shape
    bg = _background_colours(img)
    near = np.zeros(img.shape, dtype=bool)
    for c in bg:
        near |= np.abs(img - c) <= TOL
    y0, y1 = _longest_run(near.mean(axis=1) < LOOSE, max(1, h // 100))
    if y1 - y0 < 2:
        return (0, 0, w, h)
    x0, x1 = _longest_run(near[y0:y1].mean(axis=0) < LOOSE, max(1, w // 100))
    if x1 - x0 < 2:
        return (0, y0, w, y1)
    return (x0, y0, x1, y1)


def _gutters(img: NDArray[np.float32], axis: int) -> list[tuple[int, int]]:
    """Segments between thin runs of flat lines (rows for axis 0) that span the whole box."""
    n = img.shape[axis]
    spread = img.std(axis=1 - axis)
    flat = spread <= FLAT_STD
    # Also a gutter: a line whose colour differs from both neighbours' by a step (a thin line).
    segments: list[tuple[int, int]] = []
    start, i = 0, 0
    longest = max(1, int(GUTTER_MAX * n))
    while i < n:
        if flat[i]:
            j = i
            while j < n and flat[j]:
                j += 1
            if j - i <= longest and i > 0 and j < n:
                segments.append((start, i))
                start = j
            i = j
        else:
            i += 1
    segments.append((start, n))
    keep = [(a, b) for a, b in segments if b - a >= CELL_MIN * n]
    return keep if len(keep) >= 2 else []


def _cells(img: NDArray[np.float32], box: Box) -> list[Box]:
    x0, y0, x1, y1 = box
    sub = img[y0:y1, x0:x1]
    out: list[Box] = []
    for first in (0, 1):
        found: list[Box] = []
        for a, b in _gutters(sub, first) or [(0, sub.shape[first])]:
            part = sub[a:b] if first == 0 else sub[:, a:b]
            for c, d in _gutters(part, 1 - first) or [(0, part.shape[1 - first])]:
                if first == 0:
                    found.append((x0 + c, y0 + a, x0 + d, y0 + b))
                else:
                    found.append((x0 + a, y0 + c, x0 + b, y0 + d))
        if len(found) >= 2:
            out.extend(found)
    return out


def _same(a: Box, b: Box, tol: float) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


def propose(gray: NDArray[Any], max_regions: int = MAX_REGIONS) -> list[Region]:
    """Region proposals for a greyscale image (2-D array, any numeric dtype), largest first.

    An image with no border, bar, frame or gutters gets an empty list: its whole-image hash
    is all there is.
    """
    if gray.ndim == 3:
        gray = gray.astype(np.float32) @ pdq._LUMA
    h, w = gray.shape
    if min(h, w) < MIN_SIDE:
        return []
    small, f = _shrink(gray)
    sh, sw = small.shape
    strict = _trim(small, STRICT)
    loose = _trim(small, LOOSE)
    raw: list[tuple[Box, str]] = [(strict, "trim"), (loose, "trim")]
    # A bar at one end only (the other end's trim may have eaten into a flat sky).
    raw += [((0, loose[1], sw, sh), "trim"), ((0, 0, sw, loose[3]), "trim")]
    sym = _symmetric(small, strict)
    if sym is not None:
        raw.append((sym, "trim"))
    content = _content(small)
    raw.append((content, "content"))
    trimmed = raw[1][0]
    for base in {content, trimmed, (0, 0, sw, sh)}:
        raw.extend((b, "cell") for b in _cells(small, base))
    out: list[Region] = []
    for (x0, y0, x1, y1), kind in raw:
        box = (
            int(x0 * f),
            int(y0 * f),
            w if x1 >= sw else int(x1 * f),
            h if y1 >= sh else int(y1 * f),
        )
        bw, bh = box[2] - box[0], box[3] - box[1]
        if bw < MIN_SIDE or bh < MIN_SIDE or bw * bh < MIN_AREA * w * h:
            continue
        if bw >= NEAR_WHOLE * w and bh >= NEAR_WHOLE * h:
            continue
        if any(_same(box, r.box, 2 * f) for r in out):
            continue
        out.append(Region(box, kind))
    out.sort(key=lambda r: -(r.box[2] - r.box[0]) * (r.box[3] - r.box[1]))
    return out[:max_regions]


def pdq_region(plane: NDArray[Any], box: Box, dihedral: bool = False) -> tuple[list[str], int]:
    """PDQ of one rectangle of a luma plane: ([hash] or its 8 dihedral hashes, quality)."""
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(plane[y0:y1, x0:x1], dtype=np.float32)
    rows = pdq.axis_filter(crop.shape[0])
    cols = pdq.axis_filter(crop.shape[1])
    buf = pdq.buffer64(crop, rows, cols)
    coeffs = pdq.dct(buf)
    variants = pdq.dihedral(coeffs) if dihedral else [coeffs]
    return [pdq.hash_hex(c) for c in variants], pdq.quality(buf)


@dataclass(frozen=True)
class RegionHash:
    box: Box  # in the plane's coordinates
    kind: str
    pdq: list[str]  # one hash, or 8 dihedral variants (the region as displayed first)
    quality: int


def region_hashes(
    plane: NDArray[Any], dihedral: bool = False, max_regions: int = MAX_REGIONS
) -> list[RegionHash]:
    """Propose regions on a luma plane and PDQ-hash each one."""
    if plane.ndim == 3:
        plane = plane.astype(np.float32) @ pdq._LUMA
    proposals = propose(plane, max_regions)
    if not proposals:
        return []
    # PDQ reduces every region to 64 x 64 anyway: hash from a copy block-averaged so that the
    # smallest region keeps at least HASH_SIDE pixels on its short side (several times cheaper
    # on large pictures; the Jarosz filter on top of a block mean moves a hash by a few bits).
    short = min(min(r.box[2] - r.box[0], r.box[3] - r.box[1]) for r in proposals)
    k = max(1, short // HASH_SIDE)
    small = plane
    if k > 1:
        h, w = plane.shape
        small = plane[: h // k * k, : w // k * k].astype(np.float32)
        small = small.reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    out = []
    for r in proposals:
        x0, y0, x1, y1 = (v // k for v in r.box)
        hashes, q = pdq_region(small, (x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)), dihedral)
        out.append(RegionHash(r.box, r.kind, hashes, q))
    return out
