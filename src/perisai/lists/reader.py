"""`read_list`: one entry point over every format, with counts of what was skipped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from .csvlist import read_csv
from .detect import FORMATS, detect_format
from .model import HashRecord, ListFormatError
from .ncmec import read_ncmec
from .stopncii import read_stopncii
from .text import read_txt
from .vics import read_vics

Reader = Callable[[Path, Counter[str], str | None], Iterator[HashRecord]]
READERS: dict[str, Reader] = {
    "txt": read_txt,
    "csv": read_csv,
    "vics": read_vics,
    "ncmec": read_ncmec,
    "stopncii": read_stopncii,
}


class ListReader:
    """Iterate a hash list lazily; afterwards `records` and `skipped` say what it held.

    The format is resolved when the reader is made (so `fmt="auto"` errors come first), the
    file is read only while iterating. Records before an error have already been yielded: an
    importer must apply a list in one transaction and roll back on ListFormatError.
    `bare64` ("sha256" or "pdq") overrides what an unlabelled 64-digit hash is.
    """

    def __init__(self, path: Path | str, fmt: str = "auto", *, bare64: str | None = None):
        self.path = Path(path)
        if fmt not in ("auto", *FORMATS):
            raise ValueError(f"unknown list format {fmt!r}: use auto, {', '.join(FORMATS)}")
        if bare64 not in (None, "sha256", "pdq"):
            raise ValueError(f"bare64 must be sha256 or pdq, not {bare64!r}")
        if not self.path.is_file():
            raise ListFormatError(self.path, "", "no such file")
        self.format = detect_format(self.path) if fmt == "auto" else fmt
        self.bare64 = bare64
        self.records = 0
        self.by_algorithm: Counter[str] = Counter()
        self.withdrawn = 0
        self.skipped: Counter[str] = Counter()

    def __iter__(self) -> Iterator[HashRecord]:
        for record in READERS[self.format](self.path, self.skipped, self.bare64):
            self.records += 1
            self.by_algorithm[record.algorithm] += 1
            self.withdrawn += record.withdrawn
            yield record


def read_list(
    path: Path | str, fmt: str = "auto", *, bare64: str | None = None
) -> Iterator[HashRecord]:
    """Stream the records of a hash list (fmt: auto, txt, csv, vics, ncmec or stopncii)."""
    return iter(ListReader(path, fmt, bare64=bare64))
