"""Which reader a hash list needs, from its first bytes and, only as a tie-break, its name."""

from __future__ import annotations

from pathlib import Path

from .csvlist import DELIMITERS, looks_like_header
from .model import ListFormatError
from .text import BOM

FORMATS = ("txt", "csv", "vics", "ncmec", "stopncii")
HEAD = 64 * 1024
# Keys only a VICS export has (compared lower-case, with their quotes).
_VICS_MARKERS = (
    b'"odata.',
    b'"@odata',
    b'"mediaid"',
    b'"isprecategorized"',
    b'"photodna"',
    b'"isdistributed"',
    b'"victimidentified"',
    b'"media"',
    b'"mediafiles"',
)
_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"7z\xbc\xaf": "7z", b"Rar!": "rar"}


def detect_format(path: Path) -> str:
    """One of FORMATS. Raises ListFormatError for files no reader can take (binary, UTF-16)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD)
    except OSError as exc:
        raise ListFormatError(path, "", f"cannot read: {exc.strerror or exc}") from None
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise ListFormatError(path, "byte 0", f"a {kind} archive: unpack the list first")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ListFormatError(path, "byte 0", "UTF-16 text: save the list as UTF-8")
    body = head.removeprefix(BOM).lstrip()
    if b"\0" in body:
        raise ListFormatError(path, "", "binary data: not a hash list")
    suffix = path.suffix.lower()
    if body.startswith(b"<"):
        return "ncmec"
    if body.startswith((b"{", b"[")):
        lowered = body.lower()
        return "vics" if any(m in lowered for m in _VICS_MARKERS) else "stopncii"
    first = _first_line(body)
    if first is None:
        return "csv" if suffix in (".csv", ".tsv") else "txt"
    if looks_like_header(first):
        return "csv"
    if suffix in (".csv", ".tsv") and any(d in first for d in DELIMITERS):
        return "csv"  # so the error names the header it could not use
    return "txt"


def _first_line(body: bytes) -> str | None:
    for raw in body.splitlines():
        text = raw.decode("utf-8", errors="replace").strip()
        if text and not text.startswith("#"):
            return text
    return None
