"""Short procedural MP4s through PyAV (optional: its wheel bundles FFmpeg).

One encoder thread and fixed options keep the output byte-identical between runs; the frames
are drawn from the seed, so a near-duplicate is the same frames encoded again smaller.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw


def available() -> bool:
    """PyAV is optional: synth() refuses videos > 0 without it."""
    return importlib.util.find_spec("av") is not None


def _frames(seed: int, size: tuple[int, int], count: int) -> list[Image.Image]:
    rng = random.Random(f"video-frames:{seed}")
    w, h = size
    bg = [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(2)]
    balls = [
        (
            rng.uniform(0, w),
            rng.uniform(0, h),
            rng.uniform(-9, 9),
            rng.uniform(-7, 7),
            rng.randrange(w // 16, w // 5),
            (rng.randrange(256), rng.randrange(256), 90),
        )
        for _ in range(5)
    ]
    frames = []
    for i in range(count):
        t = i / max(1, count - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(bg[0], bg[1], strict=True))
        img = Image.new("RGB", (w, h), colour)
        d = ImageDraw.Draw(img)
        for x, y, dx, dy, r, c in balls:
            cx, cy = (x + dx * i * w / 320) % w, (y + dy * i * h / 240) % h
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
        d.rectangle((0, h - h // 8, w * (i + 1) // count, h), fill=(240, 240, 240))
        frames.append(img)
    return frames


def write_mp4(path: Path, seed: int, size: tuple[int, int], seconds: int, crf: int) -> Image.Image:
    """Writes the video and returns its first frame (for the _thumb.jpg)."""
    import av  # imported here: PyAV (and its FFmpeg) loads only when videos are asked for

    fps = 10
    # Frames are drawn at the base size, then scaled: a smaller re-encode shows the same scene.
    frames = _frames(seed, (320, 240), seconds * fps)
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    container: Any = av.open(str(path), "w", format="mp4")
    try:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "crf": str(crf)}
        for img in frames:
            frame = av.VideoFrame.from_image(img.resize(size))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return frames[0].resize(size)
