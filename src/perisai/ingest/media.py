"""Media references in an export: resolve strictly inside the export, hash, sniff, store.

Paths in an export are untrusted. A path that is absolute, climbs out with `../`, or reaches
outside through a symlink is refused and recorded, and its target is never opened.
"""

from __future__ import annotations

import mimetypes
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filetype
from PIL import Image

from ..vault import Digests, Vault, digest_file
from .normalize import is_placeholder


@dataclass
class MediaResult:
    status: str  # present | empty | missing | placeholder | refused
    reason: str | None = None
    digests: Digests | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    path: Path | None = None

    @property
    def fingerprint(self) -> list[Any]:
        return [self.status, self.digests.sha256 if self.digests else None]


def resolve(root: Path, ref: str) -> tuple[Path | None, str | None]:
    """The file a reference names, or why it is refused. `root` must already be resolved."""
    if "\x00" in ref:
        return None, "path contains a NUL byte"
    norm = ref.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or os.path.isabs(ref):
        return None, "absolute path"
    candidate = root / norm
    if ".." in Path(norm).parts:
        lexical = Path(os.path.normpath(candidate))
        if lexical != root and root not in lexical.parents:
            return None, "path leaves the export folder (../)"
    real = Path(os.path.realpath(candidate))
    if real != root and root not in real.parents:
        return None, "path leads outside the export folder through a symlink"
    return real, None


def _sniff(head: bytes, name: str) -> tuple[str, str | None]:
    kind = filetype.guess(head)
    if kind is not None:
        mime = kind.mime
    elif not head:
        mime = "application/x-empty"
    elif b"\x00" not in head[:1024]:
        mime = "text/plain"
    else:
        mime = "application/octet-stream"
    expected, _ = mimetypes.guess_type(name)
    note = None
    if expected and head and expected != mime and expected.split("/")[0] != "text":
        note = f"content is {mime} but the name says {expected}"
    return mime, note


def _dimensions(path: Path) -> tuple[int | None, int | None, str | None]:
    """Header-only read: no pixels are decoded, so bombs cost nothing here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                return im.width, im.height, None
        except Image.DecompressionBombError as exc:
            return None, None, f"image refused as a decompression bomb: {exc}"
        except Exception as exc:  # noqa: BLE001 - any unreadable header is a recorded fact
            return None, None, f"image header unreadable: {type(exc).__name__}"


def probe(root: Path, ref: str) -> MediaResult:
    """Classify and hash a reference without storing anything."""
    if is_placeholder(ref):
        return MediaResult("placeholder", reason=ref.strip())
    path, refusal = resolve(root, ref)
    if path is None:
        return MediaResult("refused", reason=refusal)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return MediaResult("missing", reason="file not in the export folder")
    except OSError as exc:
        return MediaResult("missing", reason=f"cannot stat: {exc.strerror}")
    if not stat.S_ISREG(st.st_mode):
        return MediaResult("refused", reason="not a regular file")
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
            fh.seek(0)
            digests = digest_file(fh)
    except OSError as exc:
        return MediaResult("missing", reason=f"cannot read: {exc.strerror}")
    mime, note = _sniff(head, path.name)
    width = height = None
    if mime.startswith("image/"):
        width, height, why = _dimensions(path)
        note = "; ".join(x for x in (note, why) if x) or None
    return MediaResult(
        "empty" if digests.size == 0 else "present",
        reason=note,
        digests=digests,
        mime=mime,
        width=width,
        height=height,
        path=path,
    )


def store(result: MediaResult, vault: Vault) -> bool:
    """Put a probed file's bytes in the vault; True when this call added the blob."""
    if result.digests is None or result.path is None or vault.has(result.digests.sha256):
        return False
    with result.path.open("rb") as fh:
        return vault.put(fh, result.digests.sha256)


def declared(msg: dict[str, Any], role: str) -> dict[str, Any]:
    """What the export says about the file (kept even when the file itself is absent)."""
    keys = {
        "photo": ("photo_file_size", "width", "height", "media_spoiler"),
        "file": (
            "file_name",
            "file_size",
            "mime_type",
            "media_type",
            "duration_seconds",
            "width",
            "height",
            "media_spoiler",
        ),
        "thumbnail": ("thumbnail_file_size",),
    }[role]
    return {k: msg[k] for k in keys if k in msg}
