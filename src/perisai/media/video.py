"""vPDQ-style video hashes: a PDQ hash per sampled frame, decoded with PyAV.

Meta's ``vpdq`` package would need FFmpeg's development headers and a compiler on every machine;
PyAV's wheel ships FFmpeg, and the per-frame hash is the same PDQ as for images (frames go
through RGB, as vpdq's do), so the frame hashes compare with vPDQ lists by Hamming distance.

Sampling: ``"1fps"`` (the first frame at or after each whole second) is for triage; ``"dense"``
(every frame) is for hashes that go into a list, because a 1 fps bag on both sides misses
obvious near-duplicates (see docs/victim-hash.md). The result says which was used.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from perisai.media import pdq
from perisai.media.decode import MAX_PIXELS, Luma, Rejected
from perisai.media.image import pdq_of_luma

_CHUNK = 1 << 20
# Decoding budget. A P-frame that repeats the one before costs ~40 bytes of file but a whole
# frame of decoding, so a 50 MB file can hold a million 4K frames (hours of CPU) even though
# only one frame a second is hashed. Past either budget decoding stops: the frames hashed so
# far are kept and the result says where it was cut. 10^6 frames is over 9 hours at 30 fps;
# 5 * 10^11 pixels is about 4 hours of 1080p at 30 fps (minutes of decoding).
MAX_FRAMES = 1_000_000
MAX_DECODED_PIXELS = 500_000_000_000
# One-per-second sampling keeps at most this many frame hashes (10 hours): timestamps are the
# file's claim, and frames stamped a second or more apart would each be hashed and stored.
MAX_SAMPLED_FRAMES = 36_000


def file_digests(path: Path) -> tuple[str, str]:
    """SHA-256 and MD5 of a file, streamed (videos can be large)."""
    sha, md5 = hashlib.sha256(), hashlib.md5()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                sha.update(chunk)
                md5.update(chunk)
    except OSError as exc:
        raise Rejected(f"unreadable: {type(exc).__name__}") from None
    return sha.hexdigest(), md5.hexdigest()


def _frame_hash(rgb: Any) -> tuple[str, int]:
    plane = pdq.luma_from_rgb(rgb)
    h, w = plane.shape
    luma = Luma(plane, w, h, 1, False, False, "full")
    hex_hash, quality, _ = pdq_of_luma(luma)
    return hex_hash, quality


def hash_video(
    path: Path,
    dense: bool = False,
    max_pixels: int = MAX_PIXELS,
    max_frames: int | None = None,
    max_decoded_pixels: int | None = None,
) -> dict[str, Any]:
    """Frame hashes of a video: every frame when ``dense``, else one per second.

    Returns ``{"sha256", "md5", "duration", "frames": [{"frame", "pdq", "quality",
    "timestamp"}], "sampling": "dense" | "1fps", "cut_at_frame": None | N}``; raises
    :class:`Rejected` with a reason. ``cut_at_frame`` is set when the decoding budget
    (``max_frames``, ``max_decoded_pixels``; MAX_FRAMES and MAX_DECODED_PIXELS when None)
    ran out: frames from N on were not decoded.
    """
    frame_budget = MAX_FRAMES if max_frames is None else max_frames
    pixel_budget = MAX_DECODED_PIXELS if max_decoded_pixels is None else max_decoded_pixels
    try:
        import av
    except ImportError:
        raise Rejected("video support is not installed (pip install 'perisai[video]')") from None
    sha256, md5 = file_digests(path)
    frames: list[dict[str, Any]] = []
    cut_at: int | None = None
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise Rejected("no video stream")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx is None:  # a codec FFmpeg does not know (or a mangled codec id)
                raise Rejected("unsupported video codec")
            if (ctx.width or 0) * (ctx.height or 0) > max_pixels:
                raise Rejected(f"frames of {ctx.width}x{ctx.height} pixels are over the limit")
            rate = float(stream.average_rate or 0) or 25.0
            next_second = 0.0
            decoded = 0
            for index, frame in enumerate(container.decode(stream)):
                pixels = frame.width * frame.height
                if pixels > max_pixels:
                    # The header's size is only a claim: a stream can switch to larger frames
                    # part-way (a new sequence header), and to_ndarray would allocate them.
                    raise Rejected(
                        f"frame {index} of {frame.width}x{frame.height} pixels is over the limit"
                    )
                decoded += pixels
                if index >= frame_budget or decoded > pixel_budget:
                    cut_at = index
                    break
                ts = float(frame.time) if frame.time is not None else index / rate
                if not dense:
                    # Small tolerance: timestamps like 0.9999 belong to the next second's slot.
                    if ts + 1e-3 < next_second:
                        continue
                    if len(frames) >= MAX_SAMPLED_FRAMES:
                        cut_at = index
                        break
                    next_second = math.floor(ts + 1e-3) + 1.0
                hex_hash, quality = _frame_hash(frame.to_ndarray(format="rgb24"))
                frames.append(
                    {"frame": index, "pdq": hex_hash, "quality": quality, "timestamp": round(ts, 3)}
                )
            duration = _duration(container, stream, frames)
    except Rejected:
        raise
    except av.FFmpegError as exc:
        # FFmpeg's message names the file; the reason must not, so keep only the error type.
        raise Rejected(f"corrupt or unsupported video: {type(exc).__name__}") from None
    except (OSError, ValueError, MemoryError) as exc:
        raise Rejected(f"corrupt or unsupported video: {type(exc).__name__}") from None
    if not frames:
        raise Rejected("no decodable video frames")
    return {
        "sha256": sha256,
        "md5": md5,
        "duration": duration,
        "frames": frames,
        "sampling": "dense" if dense else "1fps",
        "cut_at_frame": cut_at,
    }


def _duration(container: Any, stream: Any, frames: list[dict[str, Any]]) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return round(float(stream.duration * stream.time_base), 3)
    if container.duration is not None:
        return round(container.duration / 1_000_000, 3)  # AV_TIME_BASE is microseconds
    return float(frames[-1]["timestamp"]) if frames else 0.0
