"""Local features (OpenCV ORB) and geometric verification: crops, screenshots, collages, edits.

PDQ compares whole pictures; a crop, a photo inside a screenshot or a collage cell, or a
"photoshopped" picture where half of her photo was replaced, share *parts* of her photo. ORB
keypoints (corners with a 256-bit binary descriptor) survive those edits. ``verify`` matches
two keypoint sets (brute-force Hamming, Lowe's ratio test) and accepts a match only when
enough of them agree on one plausible geometric transform (RANSAC homography): no mirror, a
scale between 1/8 and 8, little perspective, and inliers spread over a real area on both sides.
It reports where in the query picture the match is and which area of the source matched.

Keypoints are computed on a greyscale copy shrunk to ``MAX_SIDE`` pixels on the long side, and
also on each region proposal (so a photo that is one small cell of a collage or a part of a
screenshot still gets enough keypoints). Coordinates are always in the full picture's pixels.

``pack``/``unpack`` turn a keypoint set into a short base64 string (x, y as uint16, then the
32-byte descriptors): what ``victim-hash`` stores, no pixels.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from perisai.media.regions import Box

MAX_SIDE = 640
NFEATURES = 500
REGION_FEATURES = 200
REGION_MAX_SHARE = 0.6  # larger regions get no keypoints of their own
RATIO = 0.8
MIN_INLIERS = 20
KNN = 4  # neighbours fetched per query keypoint, to find a second-best that is another corner
SAME_PX = 8.0  # two keypoints of one source closer than this are the same corner
RANSAC_PX = 6.0  # reprojection error in the source's shrunk pixels
MIN_SPREAD = 0.02  # inliers must cover at least this share of each side's area (bounding box)

cv2.setNumThreads(1)


@dataclass(frozen=True)
class Features:
    width: int
    height: int
    points: NDArray[np.float32]  # (n, 2) x, y in the full picture's pixels
    descriptors: NDArray[np.uint8]  # (n, 32)

    def __len__(self) -> int:
        return int(self.points.shape[0])


@dataclass(frozen=True)
class Match:
    inliers: int
    matches: int  # ratio-test survivors
    region: Box  # bounding box of the inliers in the query picture
    source_region: Box  # bounding box of the inliers in the source picture
    source_share: float  # area of source_region / area of the source picture


def _orb(n: int) -> Any:
    return cv2.ORB.create(nfeatures=n, scaleFactor=1.2, nlevels=8, edgeThreshold=15, patchSize=31)


def _detect(gray: NDArray[Any], box: Box, n: int) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    x0, y0, x1, y1 = box
    crop = gray[y0:y1, x0:x1]
    h, w = crop.shape
    f = min(1.0, MAX_SIDE / max(h, w))
    small = (
        crop
        if f >= 1.0
        # at least 1 pixel a side: a 1x60000 sliver shrinks to 1x640, not to 0x640 (cv2.error)
        else cv2.resize(
            crop, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
        )
    )
    small = np.ascontiguousarray(small, dtype=np.uint8)
    # ORB's pyramid asserts on a side of 1 pixel (a 1x1 sticker, a sliver): no corners there.
    kps, des = _orb(n).detectAndCompute(small, None) if min(small.shape) >= 2 else ((), None)
    if des is None or not kps:
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
    pts = np.array([k.pt for k in kps], dtype=np.float32) / f + np.array([x0, y0], np.float32)
    return pts, des


def extract(
    gray: NDArray[Any], regions: Sequence[Box] = (), nfeatures: int = NFEATURES
) -> Features:
    """ORB keypoints of a greyscale picture (uint8 or float 0..255), plus those of each region."""
    if gray.ndim == 3:
        gray = cv2.cvtColor(np.asarray(gray, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    gray = np.clip(gray, 0, 255).astype(np.uint8) if gray.dtype != np.uint8 else gray
    h, w = gray.shape
    parts = [_detect(gray, (0, 0, w, h), nfeatures)]
    for box in regions:
        # A region close to the whole picture adds the same corners again.
        if (box[2] - box[0]) * (box[3] - box[1]) < REGION_MAX_SHARE * w * h:
            parts.append(_detect(gray, box, REGION_FEATURES))
    pts = np.concatenate([p for p, _ in parts])
    des = np.concatenate([d for _, d in parts])
    return Features(w, h, pts, des)


def _bbox(pts: NDArray[np.float32]) -> Box:
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
    return (int(x0), int(y0), int(x1), int(y1))


def _sane(hom: NDArray[np.float64], scale_q: float, scale_s: float) -> bool:
    """No mirror, scale within 1/8..8, little perspective (in unit-normalised coordinates)."""
    a = hom[:2, :2]
    det = float(np.linalg.det(a))
    if det <= 0:
        return False
    s = np.sqrt(det) * scale_q / scale_s  # scale between the pictures in normalised units
    if not 1 / 8 <= s <= 8:
        return False
    sv = np.linalg.svd(a, compute_uv=False)
    if sv[1] <= 0 or sv[0] / sv[1] > 3:  # strong shear or anisotropic stretch
        return False
    persp = np.abs(hom[2, :2]) * scale_q
    return bool(persp.max() < 0.5)


def verify(
    query: Features,
    source: Features,
    min_inliers: int = MIN_INLIERS,
    ratio: float = RATIO,
    pairs: list[tuple[int, int]] | None = None,
) -> Match | None:
    """A geometric match of ``query`` against ``source``, or None.

    ``pairs`` (query index, source index) skips the descriptor matching when an index already
    found the ratio-test survivors.
    """
    if len(query) < 4 or len(source) < 4:
        return None
    if pairs is None:
        bf = cv2.BFMatcher(cv2.NORM_HAMMING)
        knn = bf.knnMatch(query.descriptors, source.descriptors, k=KNN)
        owner = np.zeros(len(source), np.int32)
        pairs = [(q, t) for q, _, t in ratio_pairs(knn, owner, source.points, ratio)]
    if len(pairs) < min_inliers:
        return None
    qi = np.array([p[0] for p in pairs])
    si = np.array([p[1] for p in pairs])
    qp = query.points[qi].astype(np.float64)
    sp = source.points[si].astype(np.float64)
    # RANSAC in the sources' shrunk scale so the pixel tolerance means the same everywhere.
    fs = min(1.0, MAX_SIDE / max(source.width, source.height))
    hom, mask = cv2.findHomography(qp, sp * fs, cv2.RANSAC, RANSAC_PX, maxIters=2000)
    if hom is None or mask is None:
        return None
    inl = mask.ravel().astype(bool)
    n = int(inl.sum())
    if n < min_inliers:
        return None
    hom = np.diag([1 / fs, 1 / fs, 1.0]) @ hom
    if not _sane(hom, max(query.width, query.height), max(source.width, source.height)):
        return None
    qbox, sbox = _bbox(query.points[qi[inl]]), _bbox(source.points[si[inl]])
    qa = (qbox[2] - qbox[0]) * (qbox[3] - qbox[1]) / (query.width * query.height)
    sa = (sbox[2] - sbox[0]) * (sbox[3] - sbox[1]) / (source.width * source.height)
    if qa < MIN_SPREAD or sa < MIN_SPREAD:
        return None
    # One keypoint matched many times (repetitive patterns) is not evidence.
    if len(set(si[inl].tolist())) < min_inliers or len(set(qi[inl].tolist())) < min_inliers:
        return None
    return Match(n, len(pairs), qbox, sbox, round(float(sa), 3))


class FeatureIndex:
    """All sources' descriptors in one matcher: each query is matched once against all of
    them, votes go to the sources with the most ratio-test survivors, and only the best few
    are verified geometrically. Cost per query grows with the number of source descriptors."""

    def __init__(self, sources: Sequence[Features]) -> None:
        self.sources = list(sources)
        owner = [np.full(len(f), i, np.int32) for i, f in enumerate(self.sources)]
        local = [np.arange(len(f), dtype=np.int32) for f in self.sources]
        self.owner = np.concatenate(owner) if owner else np.zeros(0, np.int32)
        pts = [f.points for f in self.sources]
        self.points = np.concatenate(pts) if pts else np.zeros((0, 2), np.float32)
        self.local = np.concatenate(local) if local else np.zeros(0, np.int32)
        des = [f.descriptors for f in self.sources if len(f)]
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self.ok = bool(des) and len(self.owner) >= 2
        if self.ok:
            self.matcher.add([np.concatenate(des)])

    def query(
        self, query: Features, top: int = 3, min_inliers: int = MIN_INLIERS
    ) -> list[tuple[int, Match]]:
        """(source position, match) for verified sources, most inliers first."""
        if not self.ok or len(query) < 4:
            return []
        knn = self.matcher.knnMatch(query.descriptors, k=KNN)
        votes: dict[int, list[tuple[int, int]]] = {}
        for q, own, t in ratio_pairs(knn, self.owner, self.points, RATIO):
            votes.setdefault(own, []).append((q, int(self.local[t])))
        ranked = sorted(votes.items(), key=lambda kv: -len(kv[1]))[:top]
        out = []
        for own, pairs in ranked:
            if len(pairs) < min_inliers:
                break
            match = verify(query, self.sources[own], min_inliers, pairs=pairs)
            if match is not None:
                out.append((own, match))
        out.sort(key=lambda om: -om[1].inliers)
        return out


def ratio_pairs(
    knn: Sequence[Sequence[Any]],
    owner: NDArray[np.int32],
    points: NDArray[np.float32],
    ratio: float,
) -> list[tuple[int, int, int]]:
    """(query index, source owner, train index) of matches passing Lowe's ratio test.

    The second-best neighbour is the nearest one that is *another* keypoint: from another
    source, or from the same source more than SAME_PX pixels away. A source's whole-picture and
    region keypoints repeat the same corners, and two copies of one corner must not cancel out.
    """
    out = []
    for cand in knn:
        if not cand:
            continue
        a = cand[0]
        own = int(owner[a.trainIdx])
        second = None
        for b in cand[1:]:
            if int(owner[b.trainIdx]) != own:
                second = b
                break
            if float(np.abs(points[b.trainIdx] - points[a.trainIdx]).max()) > SAME_PX:
                second = b
                break
        if second is None or a.distance < ratio * second.distance:
            out.append((a.queryIdx, own, a.trainIdx))
    return out


def pack(features: Features, limit: int = NFEATURES) -> str:
    """Base64 of up to ``limit`` keypoints: width, height (uint16), x, y (uint16), descriptors."""
    n = min(limit, len(features))
    head = np.array([features.width, features.height, n], dtype="<u4").tobytes()
    pts = np.clip(np.round(features.points[:n]), 0, 65535).astype("<u2").tobytes()
    return base64.b64encode(head + pts + features.descriptors[:n].tobytes()).decode("ascii")


def unpack(text: str) -> Features:
    """Inverse of :func:`pack`; raises ValueError on a malformed string."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("orb: not base64") from exc
    if len(raw) < 12:
        raise ValueError("orb: too short")
    w, h, n = (int(v) for v in np.frombuffer(raw[:12], dtype="<u4"))
    if len(raw) != 12 + n * 4 + n * 32 or n > 100_000 or not (0 < w <= 65535 and 0 < h <= 65535):
        raise ValueError("orb: bad length or size")
    pts = np.frombuffer(raw[12 : 12 + n * 4], dtype="<u2").reshape(n, 2).astype(np.float32)
    des = np.frombuffer(raw[12 + n * 4 :], dtype=np.uint8).reshape(n, 32).copy()
    return Features(w, h, pts, des)
