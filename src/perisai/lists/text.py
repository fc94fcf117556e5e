"""Plain-text hash lists, and the bounded line reader the CSV reader shares.

One hash a line: `md5 <hex>`, `sha256:<hex>`, `pdq <hex> [quality]`, or a bare hash whose type
comes from its length. 32 and 40 digits are md5 and sha1; 64 digits are sha256 *unless* the
file says pdq: a `# type: pdq` directive or a `[pdq]` section (which then applies to every
bare hash after it, strictly), or a file name with a `pdq` word in it (which only changes what
a bare 64-digit hash means). md5sum/sha256sum output (`<hex>  name`) reads too; the name goes
into `extra["name"]`. Comments start with `#`; blank lines, CRLF and a UTF-8 BOM are fine.
A line that is none of these raises ListFormatError with its line number: a garbled list is
refused, never half-imported in silence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .fields import guess
from .model import (
    BadHash,
    HashRecord,
    ListFormatError,
    algorithm_name,
    normalise_hash,
    parse_quality,
)

MAX_LINE = 64 * 1024  # bytes; md5sum lines carry a path, nothing legitimate comes close
BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

_DIRECTIVE = re.compile(
    r"#\s*(?:type|algorithm|hash|hash[_ -]?type|format)\s*[:=]\s*([A-Za-z0-9_-]+)\s*$", re.I
)
_SECTION = re.compile(r"\[\s*([A-Za-z0-9_-]+)\s*\]$")
_LABELLED = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)\s*[:=]\s*(\S+)$")
_NON_HEX = re.compile(r"[^0-9a-fA-F]")
_PDQ_WORD = re.compile(r"(?:^|[^a-z])pdq(?:[^a-z]|$)")


def lines(path: Path, fh: BinaryIO) -> Iterator[tuple[int, str]]:
    """(line number, decoded line with its ending), refusing over-long lines and bad UTF-8.

    Reads with a byte limit so a gigabyte without a newline costs 64 KiB, not a gigabyte.
    """
    number = 0
    while True:
        raw = fh.readline(MAX_LINE + 1)
        if not raw:
            return
        number += 1
        if number == 1:
            if raw.startswith(_UTF16_BOMS):
                raise ListFormatError(path, "line 1", "UTF-16 text: save the list as UTF-8")
            raw = raw.removeprefix(BOM)
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise ListFormatError(path, f"line {number}", f"longer than {MAX_LINE} bytes")
        if b"\0" in raw:
            raise ListFormatError(path, f"line {number}", "NUL byte: this is not a text file")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ListFormatError(
                path, f"line {number}", f"not UTF-8 (byte {exc.start + 1} of the line)"
            ) from None


def name_says_pdq(path: Path) -> bool:
    """A file named like `pdq.txt`, `ncii-pdq-2024.txt` or `hashes_pdq.txt` holds PDQ."""
    return bool(_PDQ_WORD.search(path.name.lower()))


def read_txt(path: Path, skipped: Counter[str], bare64: str | None = None) -> Iterator[HashRecord]:
    default64 = bare64 or ("pdq" if name_says_pdq(path) else "sha256")
    declared: str | None = None  # set by a directive or section: applies to every bare hash
    with path.open("rb") as fh:
        for number, raw in lines(path, fh):
            text = raw.strip()
            if not text:
                continue
            try:
                if text.startswith("#") or (text.startswith("[") and _SECTION.match(text)):
                    declared = _directive(text, declared)
                    continue
                record = _parse_line(text, declared, default64, number)
            except BadHash as exc:
                raise ListFormatError(path, f"line {number}", str(exc)) from None
            if record is None:
                skipped["ignored hash type"] += 1
            else:
                yield record


def _directive(text: str, declared: str | None) -> str | None:
    match = _DIRECTIVE.match(text) or _SECTION.match(text)
    if not match:
        return declared  # an ordinary comment
    label = match.group(1)
    if label.lower() in ("auto", "any", "mixed"):
        return None
    name = algorithm_name(label)
    if name is None:
        raise BadHash(f"section {label!r}: that hash type is not one we read")
    return name


def _split(text: str) -> tuple[str, str, str]:
    parts = text.split(None, 1)
    return parts[0], " ", parts[1].strip() if len(parts) > 1 else ""


def _parse_line(text: str, declared: str | None, default64: str, number: int) -> HashRecord | None:
    first, _, rest = _split(text)
    labelled = _LABELLED.match(first)
    if labelled and _NON_HEX.search(labelled.group(1)):  # `pdq:<hex>`, `sha256=<hex>`
        algorithm = algorithm_name(labelled.group(1))
        value = labelled.group(2)
    elif _NON_HEX.search(first) and rest:  # `pdq <hex> [quality]`
        algorithm = algorithm_name(first.rstrip(":="))  # `md5 <hex>`, `md5: <hex>`
        value, _, rest = _split(rest)
    elif _NON_HEX.search(first):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise BadHash(f"{shown!r} is neither a hash nor a comment")
    else:
        value = first
        algorithm = declared or guess(value, default64)
    if algorithm is None:
        return None
    hexed = normalise_hash(algorithm, value)
    quality = None
    extra = None
    if rest and algorithm == "pdq" and rest.split(",")[0].isdigit():
        quality = parse_quality(rest.split(",")[0])
    elif rest:
        # sha256sum/md5sum output: `<hex>  name` or `<hex> *name` (binary mode marker)
        extra = {"name": rest.removeprefix("*")}
    return HashRecord(algorithm, hexed, False, quality, None, number, extra)
