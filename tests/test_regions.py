"""Region proposals: the photo inside a border, a caption bar, a screenshot or a collage."""

from __future__ import annotations

import hashlib
import io
import random

import numpy as np
import pytest
from PIL import Image, ImageOps

from perisai.media import regions as rg
from perisai.media.decode import decode_luma
from perisai.media.image import hash_image
from perisai.media.pdq import hamming
from perisai.synth.images import derive, make_original


def _luma(img: Image.Image, quality: int = 85) -> np.ndarray:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return decode_luma(buf.getvalue(), allow_draft=False).plane


def _her(img: Image.Image) -> list[str]:
    """Her side: whole-picture dihedral hashes and her own region hashes (dihedral)."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    whole = list(hash_image(buf.getvalue()).dihedral)
    return whole + [h for r in rg.region_hashes(_luma(img, 90), dihedral=True) for h in r.pdq]


def _best(query: np.ndarray, hers: list[str]) -> tuple[int, int]:
    """(distance of the whole query picture, best distance of any of its regions)."""
    whole = hash_image(_jpeg_of_plane(query)).pdq
    regions = [h for r in rg.region_hashes(query) for h in r.pdq]
    far = min(hamming(whole, h) for h in hers)
    near = min((hamming(q, h) for q in regions for h in hers), default=256)
    return far, near


def _jpeg_of_plane(plane: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(plane, 0, 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["border", "caption", "screenshot"])
def test_region_hash_finds_the_photo_whole_pdq_misses(kind: str) -> None:
    rng = random.Random(11)
    found = 0
    whole_found = 0
    for _ in range(6):
        src = make_original(rng)
        out, _, _ = derive(src, kind, rng, "siapa ni", "@someone", "12:04")
        far, near = _best(_luma(out), _her(src))
        whole_found += far <= 31
        found += near <= 31
    assert whole_found <= 1  # the problem: plain PDQ misses these
    assert found >= 5


def test_screenshot_box_is_the_embedded_photo() -> None:
    rng = random.Random(3)
    hits = 0
    for _ in range(5):
        src = make_original(rng)
        out, params, _ = derive(src, "screenshot", rng, "x", "@someone", "09:41")
        boxes = [r.box for r in rg.propose(_luma(out))]
        truth = params["photo_box"]
        hits += any(all(abs(a - b) <= 12 for a, b in zip(box, truth, strict=True)) for box in boxes)
    assert hits >= 4


def test_collage_cells() -> None:
    rng = random.Random(5)
    gap, cell = 10, 390
    side = 2 * cell + 3 * gap
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    truth = []
    for k in range(4):
        x, y = gap + (k % 2) * (cell + gap), gap + (k // 2) * (cell + gap)
        canvas.paste(ImageOps.fit(make_original(rng), (cell, cell)), (x, y))
        truth.append((x, y, x + cell, y + cell))
    found = [r.box for r in rg.propose(_luma(canvas)) if r.kind == "cell"]
    for t in truth:
        assert any(all(abs(a - b) <= 8 for a, b in zip(box, t, strict=True)) for box in found), t


def test_caps_and_small_and_flat_pictures() -> None:
    assert rg.propose(np.full((40, 300), 128.0)) == []  # under the minimum side
    assert rg.propose(np.full((600, 800), 200.0)) == []  # nothing but a flat colour
    noise = np.random.default_rng(0).integers(0, 256, (700, 900)).astype(np.float32)
    assert rg.propose(noise) == []  # a textured picture with no frame: nothing to propose
    rng = random.Random(9)
    # A 4x4 grid of pictures: more cells than the cap allows.
    grid = Image.new("RGB", (1200, 1200), (0, 0, 0))
    for k in range(16):
        grid.paste(make_original(rng).resize((290, 290)), (8 + (k % 4) * 298, 8 + (k // 4) * 298))
    props = rg.propose(_luma(grid))
    assert 0 < len(props) <= rg.MAX_REGIONS
    for r in props:
        x0, y0, x1, y1 = r.box
        assert 0 <= x0 < x1 <= 1200 and 0 <= y0 < y1 <= 1200
        assert min(x1 - x0, y1 - y0) >= rg.MIN_SIDE


def test_rgb_input_and_dihedral_region_hashes() -> None:
    img = ImageOps.expand(make_original(random.Random(2)), border=40, fill=(0, 0, 0))
    rgb = np.asarray(img.convert("RGB"))
    props = rg.propose(rgb)
    assert props and props[0].kind == "trim"
    hashes = rg.region_hashes(rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114]), True)
    assert all(len(r.pdq) == 8 and len(r.pdq[0]) == 64 for r in hashes)


def test_case_finds_her_photo_in_a_screenshot_a_crop_and_an_edit(tmp_path) -> None:
    """End to end: regions stage, victim-hash with local features, victim_match methods."""
    import json

    from perisai.case import Case
    from perisai.findings import findings
    from perisai.ingest.telegram_export import ingest
    from perisai.media.victim_hash import victim_hash
    from perisai.pipeline import triage
    from perisai.victims import add_victim, read_hashes_file

    from helpers import msg, write_export

    rng = random.Random(31)
    hers = make_original(rng)
    other = make_original(random.Random(77))
    her_dir = tmp_path / "her"
    her_dir.mkdir()
    hers.save(her_dir / "IMG_1.jpg", quality=92)
    w, h = hers.size
    shot, _, _ = derive(hers, "screenshot", rng, "x", "@someone", "09:41")
    edited = hers.copy()
    edited.paste(other.resize((w // 2, h)), (w // 2, 0))
    posted = {
        "shot.jpg": shot,
        "crop.jpg": hers.crop((int(0.25 * w), int(0.1 * h), w, int(0.8 * h))),
        "edit.jpg": edited,
        "other.jpg": other,
    }
    export = tmp_path / "export"
    (export / "photos").mkdir(parents=True)
    for name, img in posted.items():
        img.convert("RGB").save(export / "photos" / name, quality=80)
    write_export(export, [msg(i, photo=f"photos/{n}") for i, n in enumerate(posted, 1)])
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    triage(case, workers=1, only="hash,regions")

    doc = victim_hash([her_dir], local=True)
    item = doc["items"][0]
    assert item["regions"] == [] or all(len(x) == 64 for x in item["regions"])
    assert 0 < len(item["orb"]) < 16_000  # 300 keypoints at most: about 14 KB
    hashes = tmp_path / "hashes.json"
    hashes.write_text(json.dumps(doc))
    rows, _ = read_hashes_file(hashes)
    assert sum(r["algorithm"] == "orb" for r in rows) > 100
    add_victim(case, "v", hashes_file=hashes)

    got = {}
    by_sha = {hashlib.sha256((export / "photos" / n).read_bytes()).hexdigest(): n for n in posted}
    for f in findings(case, "media.victim_match"):
        got[by_sha[f["media_sha256"]]] = f["detail"]
    assert "other.jpg" not in got  # an unrelated picture is never hers
    assert got["shot.jpg"]["method"] in ("pdq_region", "features")
    assert got["crop.jpg"]["method"] == "features" and got["crop.jpg"]["inliers"] >= 20
    x0, y0, x1, y1 = got["edit.jpg"]["source_region"]
    assert got["edit.jpg"]["method"] == "features" and x1 <= w // 2 + 16  # her left half
    for d in got.values():
        assert len(d["region"]) == 4


def test_hash_list_matches_a_bordered_and_a_captioned_copy_by_region(tmp_path) -> None:
    from perisai.case import Case
    from perisai.findings import findings
    from perisai.hashlists import import_list
    from perisai.ingest.telegram_export import ingest
    from perisai.pipeline import triage

    from helpers import msg, write_export

    rng = random.Random(41)
    original = make_original(rng)
    buf = io.BytesIO()
    original.save(buf, "JPEG", quality=92)
    listed = hash_image(buf.getvalue()).pdq
    bordered, _, _ = derive(original, "border", rng, "x", "@someone", "09:41")
    captioned, _, _ = derive(original, "caption", rng, "siapa ni", "@someone", "09:41")
    posted = {"b.jpg": bordered, "c.jpg": captioned, "u.jpg": make_original(random.Random(5))}
    export = tmp_path / "export"
    (export / "photos").mkdir(parents=True)
    for name, img in posted.items():
        img.convert("RGB").save(export / "photos" / name, quality=80)
    write_export(export, [msg(i, photo=f"photos/{n}") for i, n in enumerate(posted, 1)])
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    (tmp_path / "list.txt").write_text(f"pdq {listed}\n")
    import_list(case, tmp_path / "list.txt", "ncii-hotline", "ncii")
    triage(case, workers=1, only="hash,regions,match")
    by_sha = {hashlib.sha256((export / "photos" / n).read_bytes()).hexdigest(): n for n in posted}
    got = {by_sha[f["media_sha256"]]: f["detail"] for f in findings(case, "media.match")}
    assert set(got) == {"b.jpg", "c.jpg"}
    for d in got.values():
        assert d["method"] == "pdq_region" and d["algorithm"] == "pdq" and d["distance"] <= 31
        assert len(d["region"]) == 4
