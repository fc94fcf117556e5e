"""Web UI: video keyframe strips and their reveals, links only through the warning page,
and ids from another case never showing anything."""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageChops, ImageFilter, ImageStat
from sqlalchemy import select
from test_web_cases import PASSWORD, build_case, login

from perisai.case import Case
from perisai.store import models as m
from perisai.users import add_user
from perisai.web import keyframes
from perisai.web import review as rv
from perisai.web.app import create_app
from perisai.web.links import linkify, target


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    try:
        b = build_case(tmp_path_factory.mktemp("web"))
    finally:
        mp.undo()
    b["app"] = create_app(b["case"])
    return b


def client(built, name="inv1"):
    c = TestClient(built["app"], base_url="https://testserver")
    return c, login(c, name)


def _videos(built):
    return [c for c in rv.clusters(built["case"]) if c["kind"] == "video"]


def _sharpness(data: bytes) -> float:
    """Mid-scale detail inside the first frame of a strip (difference of Gaussians, which
    ignores JPEG pixel noise): high for detail, near zero for heavy blur."""
    im = Image.open(io.BytesIO(data)).convert("L")
    im = im.crop((4, 4, int(im.width * 0.2), im.height - 4))  # inside the first frame
    fine, coarse = im.filter(ImageFilter.GaussianBlur(1)), im.filter(ImageFilter.GaussianBlur(4))
    return ImageStat.Stat(ImageChops.difference(fine, coarse)).mean[0]


def _reveal_events(built):
    with built["case"].engine.connect() as conn:
        rows = conn.execute(
            select(m.CUSTODY.c.actor, m.CUSTODY.c.body).where(m.CUSTODY.c.action == "media.reveal")
        ).all()
    return [(r.actor, json.loads(r.body)) for r in rows]


# -- videos ---------------------------------------------------------------------------------
def test_video_clusters_show_a_blurred_greyscale_keyframe_strip_never_the_video(built):
    videos = _videos(built)
    assert len(videos) >= 2 and all(v["keyframes"] and not v["has_preview"] for v in videos)
    assert any(v["members"] >= 2 for v in videos), "the synthetic export reposts one video"
    c, _ = client(built)
    for v in videos:
        page = c.get(f"/review/{v['sha256']}").text
        assert f'src="/media/{v["sha256"]}/keyframes.jpg"' in page
        assert "<video" not in page.lower() and "autoplay" not in page.lower()
        assert 'id="reveal-btn"' in page and "Reveal less-blurred keyframes" in page
        r = c.get(f"/media/{v['sha256']}/keyframes.jpg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.headers["cache-control"].startswith("no-store")
        im = Image.open(io.BytesIO(r.content))
        assert im.mode == "L" and im.height <= keyframes.PREVIEW_SIZE
        # A strip of several frames, not one picture.
        assert im.width > 2 * im.height
        original = built["case"].vault.read(v["sha256"])
        assert r.content[:4096] not in original and original[:4096] not in r.content
        # Blurred: far less detail than the same frames unblurred.
        sharp = keyframes.strip(original, size=keyframes.PREVIEW_SIZE, blur=0)
        assert _sharpness(r.content) < 0.25 * _sharpness(sharp)
    # An image has no keyframe strip, and no page ever has a video element.
    assert c.get(f"/media/{built['ncii']}/keyframes.jpg").status_code == 404
    for url in ("/review", "/messages", "/"):
        assert "<video" not in c.get(url).text.lower()


def test_keyframes_are_sampled_across_the_video(monkeypatch):
    import tempfile
    from pathlib import Path

    from perisai.synth.video import write_mp4

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.mp4"
        write_mp4(path, seed=3, size=(320, 240), seconds=12, crf=23)
        data = path.read_bytes()
    in_order = keyframes.sample_frames(data)
    assert len(in_order) == keyframes.FRAMES and all(f.mode == "L" for f in in_order)
    # Spread over the video: the sampled frames are not all the same picture.
    assert len({f.tobytes() for f in in_order}) > 1
    # Long videos are sampled by seeking; it picks exactly the frames decoding in order does.
    monkeypatch.setattr(keyframes, "SEEK_FROM", 0.0)
    monkeypatch.setattr(keyframes, "_in_order", lambda *a: pytest.fail("did not seek"))
    seeking = keyframes.sample_frames(data)
    assert [f.tobytes() for f in seeking] == [f.tobytes() for f in in_order]
    with pytest.raises(ValueError):
        keyframes.sample_frames(b"not a video at all" * 100)


def test_video_reveal_is_a_less_blurred_strip_logged_and_counted(built):
    v = next(v for v in _videos(built) if v["members"] >= 2)
    c, csrf = client(built, "inv1")
    uid = _uid(built, "inv1")
    before = rv.meter(built["case"], uid)
    r = c.post(f"/review/{v['sha256']}/reveal", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert 'id="reveal-img"' in page and 'http-equiv="refresh"' in page
    assert "<video" not in page.lower()
    src = page.split('id="reveal-img" src="')[1].split('"')[0]
    shown = c.get(src)
    assert shown.status_code == 200
    im = Image.open(io.BytesIO(shown.content))
    assert im.mode == "L" and im.height <= keyframes.REVEAL_SIZE and im.width > 2 * im.height
    preview = c.get(f"/media/{v['sha256']}/keyframes.jpg").content
    assert _sharpness(shown.content) > 1.5 * _sharpness(preview)
    original = built["case"].vault.read(v["sha256"])
    assert shown.content[:4096] not in original
    after = rv.meter(built["case"], uid)
    assert after["reveals_used"] == before["reveals_used"] + 1
    actor, event = _reveal_events(built)[-1]
    assert actor == "inv1" and event["sha256"] == v["sha256"]
    assert event["seconds"] == rv.REVEAL_SECONDS and event["user"] == "inv1"
    # Only the reviewer who revealed may load it.
    other, _ = client(built, "sup1")
    assert other.get(src).status_code == 404


def _uid(built, name):
    with built["case"].engine.connect() as conn:
        return conn.execute(select(m.WEB_USERS.c.id).where(m.WEB_USERS.c.name == name)).scalar()


def test_a_video_decided_csam_shows_nothing(built):
    v = next(v for v in _videos(built) if v["members"] == 1)
    c, csrf = client(built, "sup1")
    assert c.get(f"/media/{v['sha256']}/keyframes.jpg").status_code == 200  # warms the cache
    r = c.post(
        f"/review/{v['sha256']}/decide",
        data={"csrf": csrf, "category": "csam"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # The cached strip is never served once the cluster is blocked.
    assert c.get(f"/media/{v['sha256']}/keyframes.jpg").status_code == 404
    page = c.get(f"/review/{v['sha256']}").text
    assert "keyframes.jpg" not in page and 'id="reveal-btn"' not in page
    r = c.post(f"/review/{v['sha256']}/reveal", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 403
    assert not [e for _, e in _reveal_events(built) if e["sha256"] == v["sha256"]]
    assert rv.keyframe_bytes(built["case"], v["sha256"]) is None
    assert not [key for key in rv._STRIPS if key.endswith(v["sha256"])]  # dropped from memory
    assert rv.reveal_bytes(built["case"], v["sha256"]) is None


# -- links ----------------------------------------------------------------------------------
HREF = re.compile(r"""\shref\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)


def test_links_in_messages_only_lead_to_the_warning_page(built):
    c, _ = client(built)
    page = c.get("/messages", params={"q": "evil"}).text + c.get("/messages").text
    hrefs = HREF.findall(page)
    assert hrefs and all(h.startswith("/") for h in hrefs), [
        h for h in hrefs if not h.startswith("/")
    ]
    outs = {h for h in hrefs if h.startswith("/out?to=")}
    assert "/out?to=https%3A%2F%2Ft.me%2Fjoinchat%2FAAAAevil" in outs
    assert "/out?to=tg%3A%2F%2Fresolve%3Fdomain%3Devil_bot" in outs
    assert "/out?to=t.me%2Fevilchannel" in outs  # the sentence's full stop is not part of it
    assert "/out?to=https%3A%2F%2Fevil.example%2F" in outs
    assert not any("javascript" in h.lower() or "data%3a" in h.lower() for h in outs)
    low = page.lower()
    assert "<script" not in low and 'href="javascript' not in low and "href=javascript" not in low
    assert not re.search(r"<[a-z]+[^<>]*\son[a-z]+\s*=", page, re.I)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "javascript:alert(document.cookie)" in page  # shown as text


def test_warning_page_offers_only_safe_targets_as_plain_links(built):
    c, _ = client(built, "cw1")  # any logged-in role may see the warning
    r = c.get("/out", params={"to": "https://t.me/joinchat/AAAAevil"})
    assert r.status_code == 200 and r.headers["referrer-policy"] == "no-referrer"
    assert 'id="leave-warning"' in r.text
    assert (
        '<a id="leave-continue" href="https://t.me/joinchat/AAAAevil" '
        'rel="nofollow noopener noreferrer" referrerpolicy="no-referrer">'
    ) in r.text
    r = c.get("/out", params={"to": "tg://resolve?domain=evil_bot"})
    assert 'href="tg://resolve?domain=evil_bot"' in r.text
    r = c.get("/out", params={"to": "t.me/evilchannel"})
    assert 'href="https://t.me/evilchannel"' in r.text
    hostile = [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        'https://evil.example/"><script>alert(2)</script>',
        "https://evil.example/x' onmouseover='alert(3)",
        "https://user:pw@evil.example/",
        "https://evil.example/\u202egpj.exe",
        "//evil.example/",
        "https:evil.example",
        "",
    ]
    for url in hostile:
        r = c.get("/out", params={"to": url})
        assert r.status_code == 200, url
        assert 'id="leave-continue"' not in r.text, url
        assert 'id="leave-refused"' in r.text or not url, url
        assert "<script" not in r.text.lower(), url
        assert not re.search(r"<[a-z]+[^<>]*\son[a-z]+\s*=", r.text, re.I), url
        hrefs = HREF.findall(r.text)
        assert all(h.startswith("/") for h in hrefs), (url, hrefs)
        assert "\u202e" not in r.text
    r = c.get("/out", params={"to": 'https://evil.example/"><script>alert(2)</script>'})
    assert "https://evil.example/&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in r.text
    anon = TestClient(built["app"], base_url="https://testserver")
    r = anon.get("/out", params={"to": "https://t.me/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_linkify_and_target_units():
    html = str(linkify('x <b>https://a.example/p?q=1&r="2"</b> y'))
    assert html == (
        'x &lt;b&gt;<a class="ext" rel="nofollow noopener noreferrer" '
        'href="/out?to=https%3A%2F%2Fa.example%2Fp%3Fq%3D1%26r%3D">https://a.example/p?q=1&amp;r=</a>'
        "&#34;2&#34;&lt;/b&gt; y"
    )
    assert str(linkify("javascript:alert(1)")) == "javascript:alert(1)"
    assert "\\u202e" in str(linkify("a\u202eb")) and "\u202e" not in str(linkify("a\u202eb"))
    assert target("HTTPS://A.EXAMPLE/x") == "HTTPS://A.EXAMPLE/x"
    assert target("https://a.example/" + "x" * 3000) is None
    for bad in ("javascript:x", "data:x", "tg:resolve", "http://", "ftp://a.example/"):
        assert target(bad) is None, bad


# -- ids of another case ----------------------------------------------------------------------
def test_ids_and_cookies_of_another_case_show_nothing(built, tmp_path, monkeypatch):
    monkeypatch.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    other = Case.open(tmp_path / "other")
    add_user(other, "inv1", "investigator", PASSWORD)
    app = create_app(other)
    c = TestClient(app, base_url="https://testserver")
    csrf = login(c, "inv1")
    video = _videos(built)[0]["sha256"]
    for sha in (built["ncii"], built["csam"], video):
        assert c.get(f"/review/{sha}").status_code == 404
        assert c.get(f"/media/{sha}/preview.jpg").status_code == 404
        assert c.get(f"/media/{sha}/keyframes.jpg").status_code == 404
        r = c.post(f"/review/{sha}/reveal", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code in (403, 404)
    # Reveals of the first case, by id, are not reachable from the other case.
    with built["case"].engine.connect() as conn:
        ids = list(conn.execute(select(m.REVEALS.c.id)).scalars())
    assert ids
    for reveal_id in ids:
        assert c.get(f"/reveal/{reveal_id}.jpg").status_code == 404
    # A session cookie of the first case is no login in the other (and vice versa).
    first, _ = client(built)
    stolen = TestClient(app, base_url="https://testserver")
    stolen.cookies.set("__Host-perisai", first.cookies.get("__Host-perisai"))
    r = stolen.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    back = TestClient(built["app"], base_url="https://testserver")
    back.cookies.set("__Host-perisai", c.cookies.get("__Host-perisai"))
    assert back.get("/", follow_redirects=False).status_code == 303
