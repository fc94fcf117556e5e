"""ORB keypoints and geometric verification: crops, edits, unrelated pictures, packing."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageOps

from perisai.media import features as ft
from perisai.media.decode import decode_luma
from perisai.synth.images import make_original


def _feat(img: Image.Image, regions: list = []) -> ft.Features:  # noqa: B006
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=80)
    return ft.extract(decode_luma(buf.getvalue(), allow_draft=False).plane, regions)


@pytest.fixture(scope="module")
def pictures() -> list[Image.Image]:
    rng = random.Random(21)
    return [make_original(rng) for _ in range(8)]


def test_crop_matches_and_reports_the_area(pictures: list[Image.Image]) -> None:
    src = pictures[0]
    w, h = src.size
    box = (int(0.2 * w), int(0.1 * h), int(0.95 * w), int(0.85 * h))
    match = ft.verify(_feat(src.crop(box)), _feat(src))
    assert match is not None and match.inliers >= ft.MIN_INLIERS
    sx0, sy0, sx1, sy1 = match.source_region
    # Where her photo matched lies inside the crop (a few pixels of keypoint slack).
    assert sx0 >= box[0] - 8 and sy0 >= box[1] - 8 and sx1 <= box[2] + 8 and sy1 <= box[3] + 8
    assert match.source_share < 0.75


def test_manipulated_half_reports_the_surviving_half(pictures: list[Image.Image]) -> None:
    src, other = pictures[1], pictures[2]
    w, h = src.size
    edited = src.copy()
    edited.paste(other.resize((w // 2, h)), (w // 2, 0))  # right half replaced
    match = ft.verify(_feat(edited), _feat(src))
    assert match is not None
    assert match.source_region[2] <= w // 2 + 16  # only her left half matched
    assert match.region[2] <= w // 2 + 16


def test_unrelated_and_mirrored_pictures_do_not_match(pictures: list[Image.Image]) -> None:
    feats = [_feat(p) for p in pictures]
    for i in range(len(feats)):
        for j in range(len(feats)):
            if i != j:
                assert ft.verify(feats[i], feats[j]) is None, (i, j)
    assert ft.verify(_feat(ImageOps.mirror(pictures[3])), feats[3]) is None


def test_index_finds_the_right_source_in_a_collage(pictures: list[Image.Image]) -> None:
    index = ft.FeatureIndex([_feat(p) for p in pictures[:6]])
    cell, gap = 360, 8
    canvas = Image.new("RGB", (3 * cell + 4 * gap, 3 * cell + 4 * gap), (255, 255, 255))
    boxes = []
    rng = random.Random(4)
    for k in range(9):
        pic = pictures[4] if k == 4 else make_original(rng)
        x, y = gap + (k % 3) * (cell + gap), gap + (k // 3) * (cell + gap)
        canvas.paste(ImageOps.fit(pic, (cell, cell)), (x, y))
        boxes.append((x, y, x + cell, y + cell))
    hits = index.query(_feat(canvas, boxes))
    assert [i for i, _ in hits] == [4]
    x0, y0, x1, y1 = hits[0][1].region
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    assert boxes[4][0] <= cx <= boxes[4][2] and boxes[4][1] <= cy <= boxes[4][3]


def test_pack_roundtrip_and_hostile_strings(pictures: list[Image.Image]) -> None:
    f = _feat(pictures[5])
    text = ft.pack(f, limit=300)
    g = ft.unpack(text)
    assert len(g) == min(300, len(f)) and (g.width, g.height) == (f.width, f.height)
    assert np.array_equal(g.descriptors, f.descriptors[: len(g)])
    assert np.abs(g.points - f.points[: len(g)]).max() <= 0.5
    assert ft.verify(g, f) is not None  # a packed set still verifies against the picture
    for bad in ["", "!!!", "QUJD", text[:-8], "A" * 64]:
        with pytest.raises(ValueError):
            ft.unpack(bad)


def test_blank_and_tiny_pictures_have_no_features() -> None:
    assert len(ft.extract(np.full((300, 300), 90, np.uint8))) == 0
    f = ft.extract(np.zeros((10, 10), np.uint8))
    assert ft.verify(f, f) is None
    assert ft.FeatureIndex([]).query(f) == []
