"""vPDQ frame hashes of small videos generated here with PyAV (gradients and moving shapes)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from perisai.media import Rejected, hamming, hash_video

av = pytest.importorskip("av", reason="PyAV (the 'video' extra) is not installed")


def scene_frame(scene: int, i: int, size: tuple[int, int]) -> Image.Image:
    """Shapes drawn in proportion to the frame (a copy at another size shows the same picture);
    a new scene each second, so 1 fps samples differ from each other."""
    w, h = size
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    for k in range(8):
        x, y = (k * 37 + scene * 53) % 120 / 160 * w, (k * 23 + scene * 29) % 90 / 120 * h
        colour = ((k * 70 + scene * 50) % 256, (k * 30 + scene * 90) % 256, (250 - k * 30) % 256)
        box = (x, y, x + (20 + k * 5) / 160 * w, y + (15 + k * 4) / 120 * h)
        (draw.rectangle if (k + scene) % 2 else draw.ellipse)(box, fill=colour)
    x0 = (i % 10) * 8 / 160 * w  # a square sliding across, so frames within a second differ
    draw.rectangle((x0, h * 0.4, x0 + w * 0.15, h * 0.6), fill=(255, 255, 255))
    return img


def make_video(
    path: Path, seconds: int = 3, fps: int = 10, size: tuple[int, int] = (160, 120), q: int = 4
) -> Path:
    """A benign clip of 1-second scenes of shapes, encoded with MPEG-4 part 2 at quantiser q."""
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.qmax = q
        for i in range(seconds * fps):
            rgb = np.asarray(scene_frame(i // fps, i, size))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4")


def test_one_frame_per_second(clip: Path) -> None:
    result = hash_video(clip)
    assert result["sampling"] == "1fps"
    assert [f["frame"] for f in result["frames"]] == [0, 10, 20]
    assert [f["timestamp"] for f in result["frames"]] == [0.0, 1.0, 2.0]
    assert abs(result["duration"] - 3.0) < 0.2
    assert len(result["sha256"]) == 64 and len(result["md5"]) == 32
    for f in result["frames"]:
        assert len(f["pdq"]) == 64 and 0 <= f["quality"] <= 100
    # Different scenes hash far apart.
    a, b = result["frames"][0]["pdq"], result["frames"][1]["pdq"]
    assert hamming(a, b) > 31


def test_dense_hashes_every_frame(clip: Path) -> None:
    result = hash_video(clip, dense=True)
    assert result["sampling"] == "dense"
    assert [f["frame"] for f in result["frames"]] == list(range(30))
    assert result["frames"][5]["timestamp"] == pytest.approx(0.5)
    sparse = hash_video(clip)["frames"]
    assert [f["pdq"] for f in sparse] == [result["frames"][i]["pdq"] for i in (0, 10, 20)]


def test_reencoded_copy_matches(clip: Path, tmp_path: Path) -> None:
    # The same clip recompressed much harder, as a re-poster's app would.
    copy = make_video(tmp_path / "copy.mp4", q=20)
    a = hash_video(clip, dense=True)["frames"]
    b = hash_video(copy, dense=True)["frames"]
    close = sum(hamming(x["pdq"], y["pdq"]) <= 31 for x, y in zip(a, b, strict=True))
    assert close == 30, close


@pytest.mark.parametrize("content", [b"", b"not a video at all", os.urandom(5000)])
def test_broken_video_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "private-folder" / "broken.mp4"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(Rejected) as exc:
        hash_video(path)
    assert "private-folder" not in exc.value.reason


def test_truncated_video_rejected_or_partial(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    try:
        result = hash_video(path, dense=True)
    except Rejected as exc:
        assert "cut.mp4" not in exc.reason
    else:
        assert 0 < len(result["frames"]) < 30
