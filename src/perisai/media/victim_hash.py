"""``perisai victim-hash``: hash a victim's own pictures and videos on her own device.

The document holds hashes only: no pixels, no thumbnails, no EXIF, no sizes, no folder paths
(a folder name such as ``/Users/<name>/...`` can identify her). Each item carries the file's
name only, so she can tell which of her files matched. A file that cannot be read or decoded
becomes an item with an ``error`` instead of hashes: one bad file must not lose the rest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import filetype

from perisai.media.decode import Rejected
from perisai.media.image import hash_image
from perisai.media.video import hash_video

FORMAT = "perisai-victim-hashes"
VERSION = 1
_VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".3gp", ".mpg", ".mpeg"}


def _files(paths: list[Path]) -> list[Path]:
    """Files in the order given; folders expanded (sorted, hidden entries and links skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        else:
            out.append(path)
    return out


def _kind(path: Path) -> str:
    """``image``, ``video``, or ``unknown`` (then tried as an image: Pillow knows more formats)."""
    try:
        guess = filetype.guess(str(path))
    except OSError:
        guess = None
    if guess is None:
        return "video" if path.suffix.lower() in _VIDEO_SUFFIXES else "unknown"
    return "video" if guess.mime.startswith("video/") else "image"


def hash_item(path: Path) -> dict[str, Any]:
    """One item of the document; never raises for a bad file."""
    item: dict[str, Any] = {"name": path.name}
    try:
        kind = _kind(path)
        item["kind"] = kind  # "unknown" stays only on an error item
        if kind == "video":
            video = hash_video(path, dense=True)  # dense: these hashes go into a list
            item.update(sha256=video["sha256"], md5=video["md5"], vpdq=video["frames"])
            item["vpdq_sampling"] = video["sampling"]
        else:
            img = hash_image(path)
            item["kind"] = "image"
            item.update(
                sha256=img.sha256,
                md5=img.md5,
                pdq=img.pdq,
                pdq_quality=img.quality,
                pdq_dihedral=list(img.dihedral),
            )
    except Rejected as exc:
        item["error"] = exc.reason
    except Exception as exc:  # never crash on her files; the type alone names no path
        item["error"] = f"could not hash: {type(exc).__name__}"
    return item


def victim_hash(paths: list[Path]) -> dict[str, Any]:
    """The ``victim-hash`` document (docs/interfaces.md) for files and folders."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "items": [hash_item(p) for p in _files(paths)],
    }
