"""The victim-hash document: hashes only, file names only, bad files as error items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from test_media_pdq import drawing, encode

from perisai.media import hamming, hash_image, victim_hash

FOLDER = "Nur Aisyah private"  # a folder name that would identify her: must never be emitted


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / FOLDER
    (root / "Camera").mkdir(parents=True)
    (root / "Camera" / "IMG_0012.jpg").write_bytes(encode(drawing((1280, 960)), quality=90))
    (root / "Camera" / "IMG_0013.png").write_bytes(encode(drawing((400, 300), seed=3), "PNG"))
    (root / "broken.jpg").write_bytes(encode(drawing((640, 480)))[:300])
    (root / "notes.txt").write_text("not a picture")
    (root / ".hidden.jpg").write_bytes(b"skipped")
    return root


def _strings(doc: object) -> list[str]:
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in [k, *_strings(v)]]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []


def test_document_shape(photos: Path) -> None:
    doc = victim_hash([photos])
    assert doc["format"] == "perisai-victim-hashes" and doc["version"] == 1
    items = {i["name"]: i for i in doc["items"]}
    assert sorted(items) == ["IMG_0012.jpg", "IMG_0013.png", "broken.jpg", "notes.txt"]
    img = items["IMG_0012.jpg"]
    assert img["kind"] == "image"
    assert set(img) == {"name", "kind", "sha256", "md5", "pdq", "pdq_quality", "pdq_dihedral"}
    assert len(img["pdq_dihedral"]) == 8 and img["pdq_dihedral"][0] == img["pdq"]
    assert img["pdq_quality"] >= 50
    direct = hash_image(photos / "Camera" / "IMG_0012.jpg")
    assert img["sha256"] == direct.sha256 and hamming(img["pdq"], direct.pdq) == 0
    json.dumps(doc)  # plain JSON types only


def test_bad_files_become_error_items(photos: Path, tmp_path: Path) -> None:
    missing = tmp_path / FOLDER / "gone.jpg"
    doc = victim_hash([photos / "broken.jpg", photos / "notes.txt", missing])
    for item in doc["items"]:
        assert set(item) == {"name", "kind", "error"}, item
    assert [i["kind"] for i in doc["items"]] == ["image", "unknown", "unknown"]
    reasons = [i["error"] for i in doc["items"]]
    assert "truncated" in reasons[0] and "not an image" in reasons[1] and "unreadable" in reasons[2]


def test_never_folder_paths_or_pixels(photos: Path) -> None:
    doc = victim_hash([photos, photos / "Camera" / "IMG_0013.png"])
    text = json.dumps(doc)
    assert FOLDER not in text and "Camera" not in text and str(photos.parent) not in text
    for s in _strings(doc):
        assert "/" not in s and "\\" not in s
        assert len(s) <= 80  # hashes and short reasons: room for no picture data
    assert len(text) < 4000


def test_video_items(tmp_path: Path) -> None:
    pytest.importorskip("av")
    from test_media_video import make_video

    clip = make_video(tmp_path / "clip.mp4", seconds=2)
    Image.new("RGB", (8, 8)).save(tmp_path / "tiny.png")
    doc = victim_hash([clip])
    (item,) = doc["items"]
    assert item["name"] == "clip.mp4" and item["kind"] == "video"
    assert item["vpdq_sampling"] == "dense"  # hashes for a list: every frame
    assert [f["frame"] for f in item["vpdq"]] == list(range(20))
    assert set(item["vpdq"][0]) == {"frame", "pdq", "quality", "timestamp"}
    assert "pdq" not in item
