"""``perisai victim-hash``: hash a victim's own pictures and videos on her own device.

The document holds hashes only: no pixels, no thumbnails, no EXIF, no sizes, no folder paths
(a folder name such as ``/Users/<name>/...`` can identify her). Each item carries the file's
name only, so she can tell which of her files matched. A file that cannot be read or decoded
becomes an item with an ``error`` instead of hashes: one bad file must not lose the rest.
"""

from __future__ import annotations

import os
import stat
from functools import partial
from pathlib import Path
from typing import Any

import filetype

from perisai.media import features, regions
from perisai.media.decode import Rejected, decode_luma
from perisai.media.image import hash_image
from perisai.media.video import hash_video

FORMAT = "perisai-victim-hashes"
VERSION = 1
ORB_KEYPOINTS = 300  # her keypoints kept per picture: about 14 KB of base64 each
# No photo is this large (a 50-megapixel 16-bit TIFF is 300 MB): a bigger "image" is refused
# before it is read into memory whole.
MAX_IMAGE_BYTES = 512 << 20
_VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".3gp", ".mpg", ".mpeg"}


def _files(paths: list[Path]) -> list[Path]:
    """Files in the order given; folders expanded (sorted, hidden entries and links skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            # A folder that cannot be listed becomes an item (an error) instead of vanishing.
            for root, dirs, names in os.walk(path, onerror=partial(_unlisted, out, path)):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        else:
            out.append(path)
    return out


def _unlisted(out: list[Path], top: Path, exc: OSError) -> None:
    out.append(Path(exc.filename) if exc.filename else top)


def _kind(path: Path) -> str:
    """``image``, ``video``, or ``unknown`` (then tried as an image: Pillow knows more formats)."""
    try:
        guess = filetype.guess(str(path))
    except OSError:
        guess = None
    if guess is None:
        return "video" if path.suffix.lower() in _VIDEO_SUFFIXES else "unknown"
    return "video" if guess.mime.startswith("video/") else "image"


def hash_item(path: Path, local: bool = False) -> dict[str, Any]:
    """One item of the document; never raises for a bad file.

    ``local=True`` adds, for images, ``regions`` (region PDQ hashes) and ``orb`` (base64 of up
    to ORB_KEYPOINTS keypoints: x, y and 32-byte descriptors; docs/regions.md): they find crops,
    screenshots, collages and edited copies, at about 15 KB more per picture."""
    item: dict[str, Any] = {"name": path.name, "kind": "unknown"}  # "unknown" stays on errors
    try:
        try:
            info = path.stat()
        except OSError as exc:  # a dangling or looping link, no permission
            raise Rejected(f"unreadable: {type(exc).__name__}") from None
        if stat.S_ISDIR(info.st_mode):
            raise Rejected("a folder that could not be read")
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read forever, a device
            raise Rejected("not a regular file")  # such as /dev/zero never ends
        kind = _kind(path)
        item["kind"] = kind
        if kind != "video" and info.st_size > MAX_IMAGE_BYTES:
            raise Rejected(f"too large for an image: over {MAX_IMAGE_BYTES >> 20} MB")
        if kind == "video":
            video = hash_video(path, dense=True)  # dense: these hashes go into a list
            item.update(sha256=video["sha256"], md5=video["md5"], vpdq=video["frames"])
            item["vpdq_sampling"] = video["sampling"]
            if (
                video["cut_at_frame"] is not None
            ):  # the decoding budget ran out: later frames are missing
                item["vpdq_cut_at_frame"] = video["cut_at_frame"]
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
            if local:
                try:
                    item.update(_local(path))
                except Exception as exc:  # her PDQ hashes above stay usable without them
                    item["local_error"] = f"no local features: {type(exc).__name__}"
    except Rejected as exc:
        item["error"] = exc.reason
    except Exception as exc:  # never crash on her files; the type alone names no path
        item["error"] = f"could not hash: {type(exc).__name__}"
    return item


def _local(path: Path) -> dict[str, Any]:
    """Region hashes (8 dihedral variants each, PDQ quality >= 50 only) and ORB keypoints.

    Her picture may itself carry a border, a bar or a flat sky that a repost trims differently;
    the keypoints let a crop, a screenshot, a collage cell or an edited copy be verified.
    """
    plane = decode_luma(path, allow_draft=False).plane
    hashes = [
        h
        for r in regions.region_hashes(plane, dihedral=True)
        if r.quality >= regions.MIN_QUALITY
        for h in r.pdq
    ]
    feats = features.extract(plane)
    return {"regions": hashes, "orb": features.pack(feats, limit=ORB_KEYPOINTS)}


def victim_hash(paths: list[Path], local: bool = False) -> dict[str, Any]:
    """The ``victim-hash`` document (docs/interfaces.md) for files and folders.

    ``local=True``: image items also carry ``regions`` and ``orb`` (see :func:`hash_item`)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "items": [hash_item(p, local) for p in _files(paths)],
    }
