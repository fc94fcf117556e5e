"""Review UI: partial matches (her photo cropped, bordered, in a screenshot; a listed file with a
border) are said in words and outlined on the blurred preview; nothing else changes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from partial_case import build, size_of, stored_preview
from PIL import Image
from test_web_cases import PASSWORD, login

from perisai.decisions import decide
from perisai.users import add_user
from perisai.web import review as rv
from perisai.web.app import create_app

HER = "Part of this image matches her photo"
LISTED = "Part of this image matches a listed file"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    try:
        b = build(tmp_path_factory.mktemp("partial"))
    finally:
        mp.undo()
    add_user(b["case"], "inv-p", "investigator", PASSWORD, who="setup")
    b["app"] = create_app(b["case"])
    client = TestClient(b["app"], base_url="https://testserver")
    login(client, "inv-p")
    b["client"] = client
    return b


def _cluster(built, name):
    return next(c for c in rv.clusters(built["case"]) if c["sha256"] == built["sha"][name])


def test_the_case_has_partial_and_whole_matches(built):
    sha, victim = built["sha"], built["victim"]
    assert victim[sha["whole.jpg"]]["method"] in ("exact", "pdq")
    assert victim[sha["crop.jpg"]]["method"] == "features"
    for name in ("border.jpg", "shot.jpg"):
        assert victim[sha[name]]["method"] in ("pdq_region", "features")
    assert built["listed"][sha["listed.jpg"]]["method"] == "pdq_region"
    assert sha["other.jpg"] not in victim and sha["other.jpg"] not in built["listed"]
    # Each posted picture is its own cluster with a stored preview.
    for name in sha:
        c = _cluster(built, name)
        assert c["members"] == 1 and c["has_preview"], name


def test_partial_matches_are_described_in_words(built):
    c = built["client"]
    for name in ("crop.jpg", "border.jpg", "shot.jpg"):
        found = _cluster(built, name)["partial"]
        assert [p["finding"] for p in found] == ["media.victim_match"], name
        assert found[0]["region"] == built["victim"][built["sha"][name]]["region"]
        page = c.get(f"/review/{built['sha'][name]}").text
        assert HER in page and LISTED not in page
        x0, y0, x1, y1 = found[0]["region"]
        assert f"area x {x0}–{x1}, y {y0}–{y1} of " in page
        assert "outlined on the preview" in page
        # Words first, then the preview.
        assert page.index(HER) < page.index(f"/media/{built['sha'][name]}/preview.jpg")
    crop = c.get(f"/review/{built['sha']['crop.jpg']}").text
    sx0, sy0, sx1, sy1 = built["victim"][built["sha"]["crop.jpg"]]["source_region"]
    assert f"matching area of her photo is x {sx0}–{sx1}, y {sy0}–{sy1} px" in crop
    listed = c.get(f"/review/{built['sha']['listed.jpg']}").text
    assert f"{LISTED} (ncii-hotline)" in listed and HER not in listed
    for name in ("whole.jpg", "other.jpg"):
        assert _cluster(built, name)["partial"] == []
        page = c.get(f"/review/{built['sha'][name]}").text
        assert "Part of this image" not in page and "Outlined" not in page
    queue = c.get("/review").text
    assert queue.count(HER) == 3 and queue.count(LISTED) == 1


def _grey(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "L"
        return np.asarray(im, dtype=np.int16)


@pytest.mark.parametrize("name", ["crop.jpg", "border.jpg", "shot.jpg", "listed.jpg"])
def test_partial_preview_has_the_area_outlined(built, name):
    sha = built["sha"][name]
    plain = stored_preview(built["case"], sha)
    assert plain is not None
    r = built["client"].get(f"/media/{sha}/preview.jpg")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("no-store")
    assert r.content != plain
    before, after = _grey(plain), _grey(r.content)
    assert before.shape == after.shape and max(after.shape) <= 256
    ph, pw = after.shape
    detail = (built["victim"] | built["listed"])[sha]
    w, h = size_of(built["case"], sha)
    x0, y0, x1, y1 = detail["region"]
    px0, py0 = round(x0 / w * pw), round(y0 / h * ph)
    px1, py1 = min(round(x1 / w * pw) - 1, pw - 1), min(round(y1 / h * ph) - 1, ph - 1)
    band = max(2, round(max(pw, ph) / 100))
    mid_x, mid_y = (px0 + px1) // 2, (py0 + py1) // 2
    # A black band on the box's edge, a white band just inside it, on all four sides.
    assert after[mid_y, px0] < 70 and after[mid_y, px0 + band + 1] > 185
    assert after[mid_y, px1] < 70 and after[mid_y, px1 - band - 1] > 185
    assert after[py0, mid_x] < 70 and after[py0 + band + 1, mid_x] > 185
    assert after[py1, mid_x] < 70 and after[py1 - band - 1, mid_x] > 185
    # Away from the outline the blurred preview is what was stored (JPEG noise only).
    inside = (slice(py0 + 3 * band, py1 - 3 * band), slice(px0 + 3 * band, px1 - 3 * band))
    assert np.abs(after[inside] - before[inside]).mean() < 4


@pytest.mark.parametrize("name", ["whole.jpg", "other.jpg"])
def test_preview_without_a_partial_match_is_the_stored_one(built, name):
    sha = built["sha"][name]
    r = built["client"].get(f"/media/{sha}/preview.jpg")
    assert r.status_code == 200 and r.content == stored_preview(built["case"], sha)


def test_outline_is_drawn_on_the_preview_never_from_the_original(built, monkeypatch):
    case, sha = built["case"], built["sha"]["border.jpg"]
    read = []
    real = case.vault.read

    def spy(digest):
        read.append(digest)
        return real(digest)

    monkeypatch.setattr(case.vault, "read", spy)
    made = rv.preview_bytes(case, sha)
    assert made is not None and sha not in read and len(read) == 1
    original = real(sha)
    assert made[:2048] not in original


def test_blocked_cluster_shows_no_preview_even_with_a_partial_match(built):
    sha = built["sha"]["shot.jpg"]
    assert _cluster(built, "shot.jpg")["partial"]
    decide(built["case"], sha, "csam", "test", who="inv-p")
    c = built["client"]
    assert c.get(f"/media/{sha}/preview.jpg").status_code == 404
    assert rv.preview_bytes(built["case"], sha) is None
    page = c.get(f"/review/{sha}").text
    assert "Nothing is shown for this cluster" in page
    assert f"/media/{sha}/preview.jpg" not in page and "outlined on the preview" not in page
