"""Caseworkers' report: where only part of a posted image matched her photo it says so, in
Malay and English, with the area; whole matches do not; no image; the police report is
untouched by the registry."""

from __future__ import annotations

import pytest
from partial_case import ALIAS, build, size_of

from perisai.reports import render
from perisai.reports.victims import area, context

MS = "sebahagian imej ini sepadan dengan fotonya"
EN = "part of this image matches her photo"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    try:
        b = build(tmp_path_factory.mktemp("partial-report"))
        (path,) = render(b["case"], "victims", b["export"].parent / "out" / "victims.html")
        b["html"] = path.read_text("utf-8")
        (police,) = render(b["case"], "police", b["export"].parent / "out" / "police.html")
        b["police"] = police.read_text("utf-8")
    finally:
        mp.undo()
    return b


def _row(html: str, sha: str) -> str:
    at = html.index(sha)
    return html[html.rfind("<tr>", 0, at) : html.find("</tr>", at)]


def test_partial_matches_say_so_with_the_area(built):
    html, sha = built["html"], built["sha"]
    dossier = html[html.index(ALIAS) :]
    for name in ("crop.jpg", "border.jpg", "shot.jpg"):
        row = _row(dossier, sha[name])
        assert MS in row and EN in row, name
        x0, y0, x1, y1 = built["victim"][sha[name]]["region"]
        w, h = size_of(built["case"], sha[name])
        assert f"(area: x {x0}–{x1}, y {y0}–{y1} of {w}×{h} px (about " in row
        assert f"(kawasan: x {x0}–{x1}, y {y0}–{y1} daripada {w}×{h} piksel (kira-kira " in row
    crop = _row(dossier, sha["crop.jpg"])
    sx0, sy0, sx1, sy1 = built["victim"][sha["crop.jpg"]]["source_region"]
    assert f"part of her photo: x {sx0}–{sx1}, y {sy0}–{sy1} px" in crop
    assert f"bahagian fotonya: x {sx0}–{sx1}, y {sy0}–{sy1} piksel" in crop
    whole = _row(dossier, sha["whole.jpg"])
    assert EN not in whole and MS not in whole
    # The listed file and the unrelated picture are not hers: not in her dossier at all.
    assert sha["listed.jpg"] not in dossier and sha["other.jpg"] not in dossier
    assert html.count(EN) == 3
    assert "data:image" not in html and "<img" not in html  # text only


def test_context_carries_method_and_area(built):
    ctx = context(built["case"])
    (d,) = [d for d in ctx["dossiers"] if d["type"] == "registered"]
    by_sha = {r["media_sha256"]: r["match"] for r in d["matches"]}
    assert by_sha[built["sha"]["crop.jpg"]]["method"] == "features"
    assert by_sha[built["sha"]["crop.jpg"]]["partial"] is True
    assert by_sha[built["sha"]["whole.jpg"]]["partial"] is False
    assert by_sha[built["sha"]["whole.jpg"]]["area"] is None


def test_police_report_never_mentions_the_registry_or_partial_match(built):
    police = built["police"]
    assert ALIAS not in police and EN not in police and MS not in police
    assert "her photo" not in police


def test_area_words():
    ms, en = area([0, 0, 50, 50], 100, 100)
    assert en == "x 0–50, y 0–50 of 100×100 px (about 25% of the image, top left)"
    assert ms == "x 0–50, y 0–50 daripada 100×100 piksel (kira-kira 25% imej, atas kiri)"
    assert area([300, 0, 400, 100], 400, 400)[1].endswith("top right)")
    assert area([300, 0, 400, 100], 400, 400)[0].endswith("atas kanan)")
    assert area([100, 100, 300, 300], 400, 400)[1].endswith("centre)")
    assert area([1, 2, 3, 4], None, None) == ("x 1–3, y 2–4 piksel", "x 1–3, y 2–4 px")
