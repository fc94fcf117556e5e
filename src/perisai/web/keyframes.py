"""Blurred greyscale keyframe strips of a video, made on the fly from the vault copy.

A video is never played in the review UI. Its pixels are shown only as one JPEG strip of a
few frames spread over the video, sampled as the hash stage samples them (the first frame at
or after each whole second, see `perisai.media.video.hash_video`), each made greyscale, small
and blurred; a reveal makes the same strip larger and less blurred. FFmpeg (PyAV) reads the
video from a private temporary file that is removed at once; the original bytes never leave
the server and the strip carries no metadata.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter

from ..media.decode import MAX_PIXELS

FRAMES = 4  # frames in a strip
PREVIEW_SIZE, PREVIEW_BLUR = 160, 22  # per frame; the same blur-to-size ratio as previews
REVEAL_SIZE, REVEAL_BLUR = 240, 6  # per frame; the same ratio as image reveals
MAX_DECODED = 3000  # frames decoded at most (a long video is sampled from its start)
GAP = 4  # px between frames


def sample_frames(data: bytes, count: int = FRAMES) -> list[Image.Image]:
    """Up to `count` greyscale frames spread over the video. Raises ValueError when the bytes
    are not a decodable video.

    The frames are those the hash stage's one-per-second sampling would pick (the first frame
    at or after a whole second), evenly chosen over the video's duration. A long video is not
    decoded from start to end: the decoder seeks to the keyframe before each chosen second."""
    import av

    with tempfile.TemporaryDirectory(prefix="perisai-") as tmp:
        path = Path(tmp) / "video"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            with av.open(str(path), metadata_errors="ignore") as container:
                if not container.streams.video:
                    raise ValueError("no video stream")
                stream = container.streams.video[0]
                ctx = stream.codec_context
                if (ctx.width or 0) * (ctx.height or 0) > MAX_PIXELS:
                    raise ValueError("frames over the pixel limit")
                duration = _duration(container, stream)
                frames: list[Image.Image] = []
                if duration >= SEEK_FROM:
                    frames = _by_seeking(container, stream, duration, count)
                if not frames:
                    container.seek(0)
                    frames = _in_order(container, stream, count)
        except av.FFmpegError as exc:
            raise ValueError(f"corrupt or unsupported video: {type(exc).__name__}") from None
    if not frames:
        raise ValueError("no decodable video frames")
    return frames


SEEK_FROM = 60.0  # seconds: shorter videos are decoded in order (cheap, and exact)


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE is microseconds
    return 0.0


def _checked(frame: Any) -> Any:
    # The header's size is only a claim: a stream can switch to larger frames part-way, and
    # to_image would allocate them (media/video.py checks every decoded frame the same way).
    if frame.width * frame.height > MAX_PIXELS:
        raise ValueError(f"a frame of {frame.width}x{frame.height} pixels is over the limit")
    return frame


def _grey(frame: Any) -> Image.Image:
    image = frame.to_image().convert("L")
    image.thumbnail((REVEAL_SIZE * 2, REVEAL_SIZE * 2))  # keep memory small
    return image


def _in_order(container: Any, stream: Any, count: int) -> list[Image.Image]:
    """One frame per second from the start (as the hash stage samples), evenly chosen."""
    rate = float(stream.average_rate or 0) or 25.0
    seconds: list[Image.Image] = []
    next_second = 0.0
    for index, frame in enumerate(container.decode(stream)):
        if index >= MAX_DECODED:
            break
        _checked(frame)
        ts = float(frame.time) if frame.time is not None else index / rate
        if ts + 1e-3 < next_second:
            continue
        next_second = math.floor(ts + 1e-3) + 1.0
        seconds.append(_grey(frame))
    if len(seconds) <= count:
        return seconds
    step = len(seconds) / count
    return [seconds[int(i * step + step / 2)] for i in range(count)]


def _by_seeking(container: Any, stream: Any, duration: float, count: int) -> list[Image.Image]:
    """For each of `count` whole seconds spread over the video, the first frame at or after
    it, found by seeking to the keyframe before it. Empty when seeking does not work."""
    out: list[Image.Image] = []
    for i in range(count):
        second = math.floor(duration * (i + 0.5) / count)
        container.seek(int(second / stream.time_base), stream=stream, backward=True)
        for n, frame in enumerate(container.decode(stream)):
            if n >= MAX_DECODED // count:
                return []
            _checked(frame)
            if frame.time is not None and frame.time + 1e-3 >= second:
                out.append(_grey(frame))
                break
        else:
            return []
    return out


def strip(data: bytes, size: int = PREVIEW_SIZE, blur: int = PREVIEW_BLUR) -> bytes:
    """JPEG bytes of the frames side by side: each at most `size` px, greyscale, blurred."""
    frames = []
    for frame in sample_frames(data):
        small = frame.copy()
        small.thumbnail((size, size))
        frames.append(small.filter(ImageFilter.GaussianBlur(blur)))
    width = sum(f.width for f in frames) + GAP * (len(frames) - 1)
    height = max(f.height for f in frames)
    out = Image.new("L", (width, height), 255)
    x = 0
    for f in frames:
        out.paste(f, (x, (height - f.height) // 2))
        x += f.width + GAP
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=70)
    return buf.getvalue()
