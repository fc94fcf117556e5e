"""Hostile files through triage, victim-hash, hash-list import and verify-bundle.

Each bad file must end as a recorded rejection with a reason (or exit 2 / exit 1 with one line):
never a traceback, a hang, gigabytes of memory, noise on stderr or a half-written case.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from perisai.case import Case
from perisai.errors import BadInput, CheckFailed
from perisai.evidence import signing
from perisai.evidence.bundle import CUSTODY_LOG, MANIFEST, PUBLIC_KEY, SIGNATURE, write_zip
from perisai.evidence.verify_bundle import verify_bundle
from perisai.hashlists import import_list
from perisai.media import victim_hash

from helpers import msg, run_cli, snapshot, write_export

MD5 = "a" * 32


def _enc(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_bomb() -> bytes:
    """A 60000x60000 greyscale PNG header over a few KB of zlib data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")

    ihdr = (60000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 60001 * 20)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _video(fmt: str, width: int, height: int, frames: int, step: int) -> bytes:
    """An MPEG-4 part 2 video of flat grey frames (frame i at grey level i * step)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            arr = np.full((height, width, 3), i * step, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return buf.getvalue()


def _mp4() -> bytes:
    return _video("mp4", 64, 48, 20, 10)


def hostile_files() -> dict[str, bytes]:
    """Benign generated pictures, broken or lying in every way the task lists."""
    grad = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    jpeg = _enc(grad, "JPEG")
    frames = [grad.rotate(i * 20) for i in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    bogus = Image.Exif()
    bogus[0x0112] = 99  # EXIF orientation: only 1..8 exist
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("a.txt", "hi")
    mp4 = _mp4()
    lzw = _enc(grad, "TIFF", compression="tiff_lzw")
    deflate = bytearray(_enc(grad, "TIFF", compression="tiff_adobe_deflate"))
    deflate[len(deflate) // 3] ^= 0xFF
    return {
        # libtiff printed its errors on stderr, Pillow warned about the "corrupt EXIF"
        "photos/trunc_lzw.tif": lzw[: len(lzw) // 2],
        "photos/bad_deflate.tif": bytes(deflate),
        "photos/trunc.jpg": jpeg[:2000],
        "photos/trunc.png": _enc(grad, "PNG")[:5000],
        "photos/trunc.gif": gif.getvalue()[:3000],
        "photos/trunc.webp": _enc(grad, "WEBP")[:500],
        "photos/bomb.png": _png_bomb(),
        "photos/one.png": _enc(Image.new("RGB", (1, 1), "red"), "PNG"),
        "photos/wide.png": _enc(Image.new("L", (100000, 1), 128), "PNG"),
        "photos/tall.jpg": _enc(Image.new("L", (1, 20000), 90), "JPEG"),
        "photos/cmyk.jpg": _enc(grad.convert("CMYK"), "JPEG"),
        "photos/i16.png": _enc(Image.new("I;16", (300, 200), 40000), "PNG"),
        "photos/palette.png": _enc(grad.convert("P"), "PNG"),
        "photos/alpha.png": _enc(grad.convert("RGBA"), "PNG"),
        "photos/anim.gif": gif.getvalue(),
        "photos/orient99.jpg": _enc(grad.rotate(5), "JPEG", exif=bogus.tobytes()),
        "photos/html.jpg": b"<html><script>alert(1)</script></html>",
        "photos/zip.jpg": zipped.getvalue(),
        "video_files/zero.mp4": b"",
        "video_files/trunc.mp4": mp4[: len(mp4) // 2],
        "video_files/random.mp4": bytes(range(256)) * 300,
        "video_files/ok.mp4": mp4,
        "stickers/s.webm": b"\x1a\x45\xdf\xa3" + bytes(300),
        "stickers/s.tgs": zlib.compress(b'{"v":"5.5.2"}'),
        "files/broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\n" + bytes(50),
    }


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


# --- triage ----------------------------------------------------------------------------------


def test_triage_records_every_hostile_file_and_stays_quiet(tmp_path):
    export = tmp_path / "export"
    files = hostile_files()
    _write(export, files)
    messages = []
    for i, name in enumerate(sorted(files), 1):
        if name.startswith("photos/"):
            messages.append(msg(i, photo=name))
        elif name.startswith("video_files/"):
            messages.append(msg(i, file=name, media_type="video_file", mime_type="video/mp4"))
        elif name.startswith("stickers/"):
            messages.append(msg(i, file=name, media_type="sticker", sticker_emoji="x"))
        else:
            messages.append(msg(i, file=name, mime_type="application/pdf"))
    write_export(export, messages)
    case = tmp_path / "case"
    assert run_cli("ingest", str(case), str(export)).returncode == 0
    r = run_cli("triage", str(case), "--workers", "1", "--json")
    assert r.returncode == 0, r.stderr
    # stderr is not a terminal: no progress, and no RuntimeWarnings from a 1-pixel sliver either
    assert r.stderr == ""
    assert set(json.loads(r.stdout)["stages"]) >= {"hash", "nudity", "ocr", "preview"}
    con = sqlite3.connect(case / "perisai.db")
    rows = con.execute(
        "select o.export_path, a.status, a.reason from media_occurrences o "
        "join media_analysis a on a.media_id = o.media_id"
    ).fetchall()
    details = dict(
        con.execute(
            "select o.export_path, a.detail from media_occurrences o "
            "join media_analysis a on a.media_id = o.media_id"
        ).fetchall()
    )
    con.close()
    status = {path: (st, reason) for path, st, reason in rows}
    assert set(status) == set(files)
    for name in ("trunc.jpg", "bomb.png", "trunc.webp", "trunc_lzw.tif", "bad_deflate.tif"):
        st, reason = status[f"photos/{name}"]
        assert st == "rejected" and reason, name
    assert "decompression bomb" in status["photos/bomb.png"][1]
    for name in ("video_files/trunc.mp4",):
        assert status[name][0] == "rejected" and status[name][1]
    for name in ("photos/html.jpg", "photos/zip.jpg", "video_files/zero.mp4", "files/broken.pdf"):
        assert status[name][0] in ("skipped", "rejected") and status[name][1], name
    for name in ("one.png", "wide.png", "tall.jpg", "cmyk.jpg", "i16.png", "palette.png"):
        assert status[f"photos/{name}"][0] == "hashed", name
    for name in ("alpha.png", "anim.gif", "orient99.jpg"):
        assert status[f"photos/{name}"][0] == "hashed", name
    for name in ("one.png", "wide.png", "tall.jpg"):  # ORB asserted on a 1-pixel side
        assert "regions_error" not in json.loads(details[f"photos/{name}"]), name
    assert status["video_files/ok.mp4"][0] == "hashed"
    v = run_cli("verify", str(case))
    assert v.returncode == 0, v.stderr


def _scan_bomb(width: int, height: int, repeats: int) -> bytes:
    """A flat progressive JPEG whose last AC scan (with its Huffman table) repeats."""
    data = _enc(Image.new("L", (width, height), 128), "JPEG", progressive=True)
    segments: list[tuple[int, bytes]] = []
    i = 2
    while data[i + 1] != 0xD9:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        end = i + 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not stuffed
            while data[end] != 0xFF or data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 1
        segments.append((marker, data[i:end]))
        i = end
    last = max(k for k, (m, _) in enumerate(segments) if m == 0xDA)
    scan = segments[last - 1][1] + segments[last][1]  # DHT + SOS
    assert segments[last - 1][0] == 0xC4
    return data[:2] + b"".join(seg for _, seg in segments) + scan * repeats + b"\xff\xd9"


def test_a_jpeg_of_thousands_of_repeated_scans_is_refused_at_once(tmp_path):
    """2,000 scans of 48 bytes held an 8000x6000 decode for a minute (every scan is a pass)."""
    import time

    from perisai.media import Rejected, hash_image
    from perisai.media.decode import MAX_JPEG_SCANS

    ok = _scan_bomb(640, 480, 20)  # 27 scans: decodes as before
    assert len(hash_image(ok).pdq) == 64
    bomb = _scan_bomb(1200, 900, 3000)
    assert bomb.count(b"\xff\xda") > MAX_JPEG_SCANS
    start = time.monotonic()
    with pytest.raises(Rejected, match=r"JPEG with \d+ scans, over the limit"):
        hash_image(bomb)
    assert time.monotonic() - start < 1.0
    (tmp_path / "bomb.jpg").write_bytes(bomb)
    item = victim_hash([tmp_path / "bomb.jpg"], local=True)["items"][0]
    assert item["error"].startswith("JPEG with")


def test_nudity_never_pads_a_sliver_to_a_giant_square(monkeypatch):
    from perisai.classify import NudityModel, model_available

    if not model_available():
        pytest.skip("NudeNet is not installed")
    model = NudityModel(threads=1)
    real = model._cv2.copyMakeBorder
    padded: list[int] = []

    def border(src, top, bottom, left, right, *args):
        side = max(src.shape[0] + top + bottom, src.shape[1] + left + right)
        padded.append(side)
        if side > 8000:  # 1x60000 padded to 60000x60000x3 is 10.8 GB: refuse, don't allocate
            raise MemoryError(f"padded to {side} a side")
        return real(src, top, bottom, left, right, *args)

    monkeypatch.setattr(model._cv2, "copyMakeBorder", border)
    for size in ((1, 60000), (60000, 1), (20, 30000)):
        score = model.score_image(_enc(Image.new("L", size, 100), "PNG"))
        assert 0.0 <= score.score <= 1.0
    assert padded and max(padded) <= 7072
    # an ordinary photo is padded exactly as NudeNet pads it
    padded.clear()
    model.score_image(_enc(Image.new("RGB", (640, 480), "gray"), "JPEG"))
    assert padded == [640]


def test_text_screen_of_a_sliver_warns_nothing():
    from perisai.ocr import looks_textual

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for size in ((1, 500), (500, 1), (1, 1)):
            textual, m = looks_textual(_enc(Image.new("L", size, 128), "PNG"))
            assert textual is False and m["edge_density"] == 0.0


def _elementary(width: int, height: int, frames: int) -> bytes:
    """A raw MPEG-4 part 2 stream: two of them concatenated switch frame size part-way."""
    return _video("m4v", width, height, frames, 20)


def test_a_video_that_grows_its_frames_midway_is_rejected(tmp_path):
    from perisai.media import Rejected, hash_video

    path = tmp_path / "grow.m4v"
    path.write_bytes(_elementary(64, 48, 4) + _elementary(320, 240, 4))
    assert len(hash_video(path, dense=True)["frames"]) == 8  # within the limit: all hashed
    # the header says 64x48 (3,072 pixels); the frames after the switch are 76,800
    with pytest.raises(Rejected, match="frame 4 of 320x240 pixels is over the limit"):
        hash_video(path, dense=True, max_pixels=10_000)
    with pytest.raises(Rejected, match="over the limit"):
        hash_video(path, max_pixels=10_000)


def test_a_video_of_an_unknown_codec_is_rejected_with_a_reason(tmp_path):
    from perisai.media import Rejected, hash_video

    data = _video("matroska", 64, 48, 3, 20)
    assert data.count(b"V_MPEG4/ISO/ASP") == 1
    path = tmp_path / "unknown.mkv"
    path.write_bytes(data.replace(b"V_MPEG4/ISO/ASP", b"V_ZZZZZ/ISO/ASP"))  # no such codec
    with pytest.raises(Rejected, match="unsupported video codec"):
        hash_video(path)  # was an AttributeError on the missing codec context
    assert victim_hash([path])["items"][0]["error"] == "unsupported video codec"


def test_a_video_of_a_million_cheap_frames_stops_at_the_decoding_budget(tmp_path, monkeypatch):
    """Repeated P-frames cost ~40 bytes each: decoding, not file size, must be bounded."""
    from perisai.media import hash_video
    from perisai.media import video as video_module

    path = tmp_path / "long.mp4"
    path.write_bytes(_mp4())  # 20 frames of 64x48 at 10 fps
    whole = hash_video(path, dense=True)
    assert len(whole["frames"]) == 20 and whole["cut_at_frame"] is None
    cut = hash_video(path, dense=True, max_frames=7)
    assert cut["cut_at_frame"] == 7 and [f["frame"] for f in cut["frames"]] == list(range(7))
    by_pixels = hash_video(path, dense=True, max_decoded_pixels=64 * 48 * 3)
    assert by_pixels["cut_at_frame"] == 3 and len(by_pixels["frames"]) == 3
    # the module budgets apply when none is given: triage's hash stage and victim-hash
    monkeypatch.setattr(video_module, "MAX_SAMPLED_FRAMES", 1)  # 1 fps keeps frames 0 and 10
    sampled = hash_video(path)
    assert sampled["cut_at_frame"] == 10 and [f["frame"] for f in sampled["frames"]] == [0]
    monkeypatch.setattr(video_module, "MAX_SAMPLED_FRAMES", 36_000)
    monkeypatch.setattr(video_module, "MAX_FRAMES", 12)
    assert hash_video(path)["cut_at_frame"] == 12
    item = victim_hash([path])["items"][0]
    assert item["vpdq_cut_at_frame"] == 12 and len(item["vpdq"]) == 12
    from perisai.ingest.telegram_export import ingest
    from perisai.pipeline import triage

    export = tmp_path / "export"
    _write(export, {"video_files/long.mp4": path.read_bytes()})
    write_export(export, [msg(1, file="video_files/long.mp4", media_type="video_file")])
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    triage(case, workers=1, only="hash")
    con = sqlite3.connect(case.root / "perisai.db")
    status, detail = con.execute("select status, detail from media_analysis").fetchone()
    con.close()
    assert status == "hashed" and json.loads(detail)["cut_at_frame"] == 12


# --- victim-hash -----------------------------------------------------------------------------


def test_victim_hash_hostile_files_become_error_items(tmp_path):
    root = tmp_path / "mine"
    files = hostile_files()
    _write(root, files)
    (root / "photos" / "loop").symlink_to("..")  # a folder loop: links are not followed
    (root / "self.jpg").symlink_to("self.jpg")  # a link to itself
    (root / "gone.jpg").symlink_to("nowhere.jpg")
    doc = victim_hash([root])
    items = {i["name"]: i for i in doc["items"]}
    expected = {Path(n).name for n in files} | {"self.jpg", "gone.jpg"}
    assert set(items) == expected
    for name in ("trunc.jpg", "bomb.png", "html.jpg", "zip.jpg", "zero.mp4", "trunc.mp4"):
        assert items[name].get("error"), name
    for name in ("random.mp4", "s.webm", "s.tgs", "broken.pdf", "self.jpg", "gone.jpg"):
        assert items[name].get("error"), name
    for name in ("trunc_lzw.tif", "bad_deflate.tif"):
        assert items[name].get("error"), name
    assert all(i["kind"] in ("image", "video", "unknown") for i in items.values())
    for name in ("one.png", "wide.png", "tall.jpg", "cmyk.jpg", "i16.png", "anim.gif"):
        assert len(items[name]["pdq"]) == 64, name
    assert items["ok.mp4"]["vpdq"]
    assert all(str(tmp_path) not in json.dumps(i) for i in doc["items"])


def test_victim_hash_local_features_of_slivers_and_a_single_pixel(tmp_path):
    names = {
        "one.png": (1, 1),
        "wide.png": (30000, 1),
        "tall.png": (1, 30000),
        "thin.png": (2, 900),
    }
    for name, size in names.items():
        (tmp_path / name).write_bytes(_enc(Image.new("L", size, 77), "PNG"))
    items = victim_hash(sorted(tmp_path.iterdir()), local=True)["items"]
    for item in items:  # was "could not hash: error" (cv2.error from ORB): no PDQ either
        assert "error" not in item and len(item["pdq"]) == 64, item
        assert item["regions"] == [] and isinstance(item["orb"], str)


def test_victim_hash_keeps_her_pdq_when_local_features_fail(tmp_path, monkeypatch):
    from perisai.media import features

    def boom(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(features, "extract", boom)
    (tmp_path / "a.png").write_bytes(_enc(Image.linear_gradient("L"), "PNG"))
    item = victim_hash([tmp_path / "a.png"], local=True)["items"][0]
    assert "error" not in item and len(item["pdq"]) == 64
    assert item["local_error"] == "no local features: MemoryError" and "orb" not in item


def test_victim_hash_a_fifo_in_her_folder_does_not_hang(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "a.png").write_bytes(_enc(Image.linear_gradient("L"), "PNG"))
    os.mkfifo(root / "pipe.jpg")  # reading it would block forever
    code = (
        "import json, sys; from pathlib import Path; from perisai.media import victim_hash; "
        "print(json.dumps(victim_hash([Path(sys.argv[1])])))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    items = {i["name"]: i for i in json.loads(r.stdout)["items"]}
    assert items["pipe.jpg"]["error"] == "not a regular file"
    assert "pdq" in items["a.png"]


def test_victim_hash_refuses_a_giant_image_before_reading_it(tmp_path, monkeypatch):
    module = importlib.import_module("perisai.media.victim_hash")  # the name is the function
    monkeypatch.setattr(module, "MAX_IMAGE_BYTES", 1 << 20)
    big = tmp_path / "big.jpg"
    with big.open("wb") as fh:  # sparse: 3 MB that take no disk
        fh.write(b"\xff\xd8\xff\xe0")
        fh.truncate(3 << 20)
    reads: list[Path] = []
    real = Path.read_bytes

    def spy(self: Path) -> bytes:
        reads.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    item = victim_hash([big])["items"][0]
    assert item["error"].startswith("too large for an image") and big not in reads


def test_victim_hash_cli_hostile_folder_exit_0(tmp_path):
    root = tmp_path / "mine"
    _write(root, {k: v for k, v in hostile_files().items() if k.startswith("photos/")})
    (root / "photos" / "loop").symlink_to("..")
    out = tmp_path / "hashes.json"
    r = run_cli("victim-hash", str(root), "-o", str(out))
    assert r.returncode == 0 and r.stderr.count("\n") == 1, r.stderr
    assert "unreadable" in r.stderr and out.is_file()
    r = run_cli("victim-hash", str(tmp_path / "nope.jpg"), "-o", str(out))
    assert r.returncode == 2 and r.stderr.count("\n") == 1


# --- hashlist import -------------------------------------------------------------------------


@pytest.fixture
def case(tmp_path):
    c = Case.open(tmp_path / "case")
    (tmp_path / "first.txt").write_text(MD5 + "\n")
    import_list(c, tmp_path / "first.txt", "first", "ncii")
    return c


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("empty.txt", b"", "auto"),
        ("comments.txt", b"# nothing here\n\n", "auto"),
        ("object.json", json.dumps({"hashes": {"a": 1}}).encode(), "auto"),
        ("numbers.json", b"[1, 2, 3]", "auto"),
        ("nohash.json", json.dumps([{"name": "x"}]).encode(), "stopncii"),
        ("header-only.csv", b"md5,name\n", "auto"),
    ],
)
def test_a_list_without_hashes_is_exit_2_and_changes_nothing(tmp_path, case, name, content, fmt):
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(case.root)
    with pytest.raises(BadInput, match="no hashes found"):
        import_list(case, path, "n", "ncii", fmt)
    assert snapshot(case.root) == before
    r = run_cli(
        "hashlist", "import", str(case.root), str(path), "--name", "n", "--category", "ncii"
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and name in r.stderr
    assert snapshot(case.root) == before


@pytest.mark.parametrize(
    ("content", "args", "words"),
    [
        (os.urandom(4000) + b"\x00", [], "binary"),
        ("\ufeffmd5\n" + "g" * 32 + "\n", [], "not hexadecimal"),
        ("md5\n" + "a" * 100_000 + "\n", [], "longer than"),
        ("abc123\n", [], "not a hash"),
        (MD5 + "\n", ["--category", "porn"], "unknown category"),
        (MD5 + "\n", ["--format", "ncmec"], "XML"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<report><fileDetails><hashValue type="MD5">&x;</hashValue></fileDetails></report>',
            [],
            "DOCTYPE refused",
        ),
    ],
)
def test_hostile_lists_are_exit_2_with_one_line(tmp_path, case, content, args, words):
    path = tmp_path / "list.bin"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = snapshot(case.root)
    cli = ["hashlist", "import", str(case.root), str(path), "--name", "n"]
    if "--category" not in args:
        cli += ["--category", "ncii"]
    r = run_cli(*cli, *args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert words in r.stderr
    assert snapshot(case.root) == before


# --- verify-bundle ---------------------------------------------------------------------------


def _self_signed(path: Path, manifest: dict, members: list[tuple[str, bytes]]) -> Path:
    """A bundle signed by its own (an attacker's) key: the signature verifies, the content lies."""
    key = Ed25519PrivateKey.generate()
    manifest.setdefault("signing_key", {"fingerprint": signing.fingerprint(key.public_key())})
    body = json.dumps(manifest).encode()
    sig = base64.b64encode(key.sign(body)) + b"\n"
    pem = signing.public_pem(key.public_key())
    write_zip(path, [(MANIFEST, body), (SIGNATURE, sig), (PUBLIC_KEY, pem), *members])
    return path


@pytest.mark.parametrize(
    ("field", "value"), [("signing_key", "a string"), ("custody", ["not", "an", "object"])]
)
def test_a_self_signed_manifest_of_the_wrong_shape_fails_the_check(tmp_path, field, value):
    log = b""
    entry = {"path": CUSTODY_LOG, "size": 0, "sha256": hashlib.sha256(log).hexdigest()}
    manifest = {"format": "perisai-bundle", "version": 1, "files": [entry], field: value}
    path = _self_signed(tmp_path / "forged.zip", manifest, [(CUSTODY_LOG, log)])
    with pytest.raises(CheckFailed):
        verify_bundle(path)
    r = run_cli("verify-bundle", str(path))
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr


def test_hostile_zips_are_exit_1_or_2_with_one_line(tmp_path):
    cases: dict[str, tuple[bytes | None, int]] = {}
    cases["not-a-zip.zip"] = (b"<html>not a zip</html>", 2)
    cases["zero.zip"] = (b"", 2)
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w"):
        pass
    cases["empty.zip"] = (empty.getvalue(), 2)
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("../../evil.txt", "x")
        z.writestr(MANIFEST, "{}")
    cases["slip.zip"] = (slip.getvalue(), 1)
    for name, (data, code) in cases.items():
        (tmp_path / name).write_bytes(data or b"")
        r = run_cli("verify-bundle", str(tmp_path / name))
        assert r.returncode == code and r.stderr.count("\n") == 1, (name, r.stderr)


def test_a_zip_of_a_million_entries_is_refused_from_its_end_record(tmp_path, monkeypatch):
    """zipfile makes an object per entry before anything is checked: 630 MB for 10^6 entries."""
    from perisai.evidence import verify_bundle as vb

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(MANIFEST, "{}")
        for i in range(60):
            z.writestr(zipfile.ZipInfo(f"{i:03d}"), b"")
    monkeypatch.setattr(vb, "MAX_ENTRIES", 50)
    opened: list[object] = []
    real = zipfile.ZipFile

    def spy(*args, **kwargs):
        opened.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(vb.zipfile, "ZipFile", spy)
    with pytest.raises(CheckFailed, match="declares 61 entries"):
        verify_bundle(path)
    assert opened == []  # refused before the central directory was parsed
    monkeypatch.setattr(vb, "MAX_ENTRIES", 10_000)
    with pytest.raises(CheckFailed, match="manifest.sig is missing"):
        verify_bundle(path)  # under the limit: checked as usual


def test_victim_hash_unreadable_files_and_folders_are_named_not_dropped(tmp_path, monkeypatch):
    root = tmp_path / "mine"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "inside.jpg").write_bytes(b"x")
    (root / "ok.png").write_bytes(_enc(Image.linear_gradient("L"), "PNG"))
    (root / "secret.jpg").write_bytes(_enc(Image.linear_gradient("L").convert("RGB"), "JPEG"))
    (root / "secret.jpg").chmod(0)
    (root / "locked").chmod(0)
    real_scandir, real_read = os.scandir, Path.read_bytes
    if os.geteuid() == 0:  # root reads anything: refuse as the kernel would for a user

        def scandir(path="."):
            if Path(path).name == "locked":
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        def read_bytes(self):
            if self.name == "secret.jpg":
                raise PermissionError(13, "Permission denied", str(self))
            return real_read(self)

        monkeypatch.setattr(os, "scandir", scandir)
        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    try:
        items = {i["name"]: i for i in victim_hash([root])["items"]}
    finally:
        (root / "locked").chmod(0o755)
        (root / "secret.jpg").chmod(0o644)
    assert items["secret.jpg"]["error"] == "unreadable: PermissionError"
    assert items["locked"]["error"] == "a folder that could not be read"  # was silently skipped
    assert "pdq" in items["ok.png"]


def _unreadable(monkeypatch, path: Path) -> None:
    """chmod 000, and as root (who reads anything) a Path.open that refuses like the kernel."""
    path.chmod(0)
    if os.geteuid() == 0:
        real = Path.open

        def refusing(self, *args, **kwargs):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refusing)


def test_an_unreadable_list_or_bundle_is_bad_input_not_a_crash(tmp_path, case, monkeypatch):
    listed = tmp_path / "locked.txt"
    listed.write_text(MD5 + "\n")
    bundle = tmp_path / "locked.zip"
    bundle.write_bytes(b"PK\x05\x06" + bytes(18))
    _unreadable(monkeypatch, listed)
    _unreadable(monkeypatch, bundle)
    before = snapshot(case.root)
    with pytest.raises(BadInput, match="cannot read .*locked.txt: Permission denied"):
        import_list(case, listed, "n", "ncii")  # was a PermissionError: exit 3
    assert snapshot(case.root) == before
    with pytest.raises(BadInput, match="cannot read .*locked.zip: Permission denied"):
        verify_bundle(bundle)


def test_nudity_refuses_an_oversized_keyframe_before_converting_it(tmp_path, monkeypatch):
    from perisai.classify import model_available
    from perisai.stages import nudity

    if not model_available():
        pytest.skip("NudeNet is not installed")
    import perisai.classify as classify

    data = _elementary(64, 48, 3) + _elementary(320, 240, 3)  # keyframe 3 grows to 320x240
    monkeypatch.setattr(classify, "MAX_PIXELS", 10_000)
    with pytest.raises(ValueError, match="keyframe of 320x240"):
        nudity._score_video(nudity._model(), data)
    monkeypatch.setattr(classify, "MAX_PIXELS", 50_000_000)
    assert nudity._score_video(nudity._model(), data).score >= 0.0


def _stopncii(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records))
    return path


def test_withdrawals_keep_their_meaning_across_batches(tmp_path, monkeypatch):
    """Adds, duplicates, withdrawals by hash and by id, re-adds: the same rows and counts as
    the one-pass-per-withdrawal importer gave (computed with it, then written down here)."""
    from perisai import hashlists

    def add(c: str, case_id: str | None = None) -> dict:
        rec = {"hash": c * 64, "hashType": "pdq", "status": "active"}
        return {**rec, "caseId": case_id} if case_id else rec

    records = [
        add("a", "c1"),
        add("b", "c2"),
        add("c", "c3"),  # batch of 3 stored here
        add("a", "c1"),  # stored by the batch before: a duplicate
        {"hash": "b" * 64, "hashType": "pdq", "status": "withdrawn"},
        add("d", "c1"),
        {"caseId": "c1", "status": "withdrawn"},  # a (stored) and d (waiting)
        add("b", "c4"),  # back after its withdrawal
        add("e", "c5"),
        add("b", "c4"),  # waiting already: a duplicate
        {"hash": "e" * 64, "hashType": "pdq", "status": "deleted"},
        add("e", "c6"),
        add("f", "c6"),
        {"caseId": "c3", "status": "withdrawn"},
        add("c", "c7"),
    ]
    case = Case.open(tmp_path / "case")
    (tmp_path / "first.txt").write_text(f"pdq {'f' * 64}\npdq {'9' * 64}\n")
    monkeypatch.setattr(hashlists, "BATCH", 3)
    import_list(case, tmp_path / "first.txt", "L", "ncii")
    result = import_list(case, _stopncii(tmp_path / "l.json", records), "L", "ncii")
    assert {k: result[k] for k in ("added", "duplicates", "withdrawn", "by_algorithm")} == {
        "added": 7,
        "duplicates": 2,
        "withdrawn": 4,
        "by_algorithm": {"pdq": 9},
    }
    con = sqlite3.connect(case.root / "perisai.db")
    rows = sorted(
        con.execute("select list_id, substr(value, 1, 2), source_id from list_hashes").fetchall()
    )
    con.close()
    assert rows == [
        (1, "99", None),
        (1, "ff", None),
        (2, "bb", "c4"),
        (2, "cc", "c7"),
        (2, "ee", "c6"),
        (2, "ff", "c6"),
    ]


def test_a_list_of_many_withdrawals_imports_in_seconds(tmp_path):
    """Each withdrawal used to filter the waiting batch and rebuild its key set: 20,000 of them
    over 4,000 waiting hashes took 15 s here, so a list of 10^7 would have run for hours."""
    import time

    adds = [{"hash": f"{i:064x}", "hashType": "pdq", "status": "active"} for i in range(4000)]
    gone = [
        {"hash": f"{10**9 + i:064x}", "hashType": "pdq", "status": "withdrawn"}
        for i in range(30000)
    ]
    path = _stopncii(tmp_path / "w.json", adds + gone)
    case = Case.open(tmp_path / "case")
    start = time.monotonic()
    result = import_list(case, path, "w", "ncii")
    assert result["added"] == 4000 and result["withdrawn"] == 30000
    assert time.monotonic() - start < 10  # about 1.5 s now; 20 s and more before


def _custody_bundle(path: Path, log: bytes | None, compression: int, size: int) -> Path:
    """A self-signed bundle whose custody log is `log` (or `size` newlines, streamed)."""
    key = Ed25519PrivateKey.generate()
    digest = hashlib.sha256(log if log is not None else b"\n" * size).hexdigest()
    manifest = {
        "format": "perisai-bundle",
        "version": 1,
        "signing_key": {"fingerprint": signing.fingerprint(key.public_key())},
        "custody": {},
        "files": [{"path": CUSTODY_LOG, "size": size, "sha256": digest}],
    }
    body = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr(MANIFEST, body)
        z.writestr(SIGNATURE, base64.b64encode(key.sign(body)) + b"\n")
        z.writestr(PUBLIC_KEY, signing.public_pem(key.public_key()))
        z.writestr(CUSTODY_LOG, log if log is not None else b"\n" * size)
    return path


def test_a_deflated_custody_log_is_refused_before_it_is_inflated(tmp_path):
    """A 200 KB zip whose custody log inflated to 200 MB of newlines took 2.1 GB of memory."""
    path = _custody_bundle(tmp_path / "bomb.zip", None, zipfile.ZIP_DEFLATED, 20 << 20)
    assert path.stat().st_size < 100_000
    with pytest.raises(CheckFailed, match="compressed in the zip"):
        verify_bundle(path)
    r = run_cli("verify-bundle", str(path))
    assert r.returncode == 1 and r.stderr.count("\n") == 1


def test_a_custody_log_of_bare_newlines_is_read_line_by_line(tmp_path):
    import tracemalloc

    size = 4 << 20
    path = _custody_bundle(tmp_path / "lines.zip", None, zipfile.ZIP_STORED, size)
    tracemalloc.start()
    try:
        with pytest.raises(CheckFailed, match="line 1 is not JSON"):
            verify_bundle(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * size  # splitlines() held 4 M empty strings: about 50 bytes per line


def test_a_custody_body_with_unicode_line_separators_still_verifies(tmp_path):
    """The log is UTF-8 JSON lines with U+2028/U+0085 unescaped: split on newlines only."""
    from perisai.evidence.bundle import create_bundle

    case = Case.open(tmp_path / "case")
    (tmp_path / "l.txt").write_text(f"md5 {MD5}\n")
    import_list(case, tmp_path / "l.txt", "list\u2028two\x85three\x1cfour", "ncii")
    out = tmp_path / "b.zip"
    create_bundle(case, out)
    assert verify_bundle(out)["ok"]  # was "custody/custody.jsonl line 3 is not JSON"


def test_review_keyframes_refuse_a_frame_that_grows_past_the_limit(monkeypatch):
    """The review UI's keyframe strip checks every decoded frame, not only the header."""
    from perisai.web import keyframes

    data = _elementary(64, 48, 12) + _elementary(320, 240, 12)  # header 64x48, then 320x240
    assert keyframes.strip(data)[:2] == b"\xff\xd8"  # within the limit: a JPEG strip
    monkeypatch.setattr(keyframes, "MAX_PIXELS", 10_000)
    with pytest.raises(ValueError, match="frame of 320x240 pixels is over the limit"):
        keyframes.strip(data)
