"""What a hash list turns into: records, the error every reader raises, and hash normalisation.

Readers never decide what a list *means* (its category is the importer's `--category`); they
only turn bytes into validated `HashRecord`s and say precisely where a file is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import BadInput

# Hex lengths per algorithm. sha256 and pdq are both 64 hex digits: the text reader needs a hint
# (a `pdq` prefix, a `# type: pdq` directive or a file name with "pdq" in it) to tell them apart.
HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
ALGORITHMS = tuple(HEX_LENGTH)
BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}

# A withdrawal that names only the list's own item id (NCMEC `deletedImage`, a StopNCII
# `withdraw` action without a hash): the caller removes every hash it imported with that id.
WITHDRAW_BY_ID = "id"
MAX_ID_LENGTH = 256

# How lists spell algorithm names, lower-cased with `-`, `_` and spaces removed.
_ALIASES = {
    "md5": "md5",
    "md5hash": "md5",
    "hashmd5": "md5",
    "videomd5": "md5",
    "sha1": "sha1",
    "sha1hash": "sha1",
    "hashsha1": "sha1",
    "sha256": "sha256",
    "sha256hash": "sha256",
    "hashsha256": "sha256",
    "pdq": "pdq",
    "pdqhash": "pdq",
    "hashpdq": "pdq",
    "pdqsignal": "pdq",
}
# Known algorithms we deliberately do not read: PhotoDNA is proprietary (its hashes are useless
# without Microsoft's licensed matcher), TMK and Videntifier likewise. Records carrying only
# these are skipped and counted, not refused.
IGNORED_ALGORITHMS = frozenset(
    {"photodna", "pdna", "photodnahash", "tmkpdqf", "tmk", "videntifier", "netclean"}
)
# Known but not supported yet: refused loudly so a list is never silently half-imported.
UNSUPPORTED_ALGORITHMS = frozenset({"vpdq", "vmd5"})

_HEX = re.compile(r"[0-9a-f]+")

# Our own categories (docs/interfaces.md). `benign` is an allow-list and can never suppress a
# match from another category: that rule lives in the matcher, the name lives here.
CATEGORIES = ("csam", "ncii", "voyeur", "doxx", "benign")


class ListFormatError(BadInput, ValueError):
    """A hash list that cannot be read as given; the message names the file, where and what.

    A `BadInput`, so the CLI exits 2 with this one line; also a `ValueError` for library users.
    """

    def __init__(self, path: Path | str, where: str, reason: str) -> None:
        self.path = str(path)
        self.where = where
        self.reason = reason
        super().__init__(f"{path}: {where}: {reason}" if where else f"{path}: {reason}")


class BadHash(ValueError):
    """A wrong hash value; readers add the file and place and re-raise it as ListFormatError."""


@lru_cache(maxsize=256)
def algorithm_name(name: str) -> str | None:
    """Our name for a list's algorithm label, or None when it is not one we read.

    Raises BadHash for labels we know but refuse (vPDQ) or do not know at all, so a typo in a
    list never silently drops its hashes.
    """
    key = re.sub(r"[\s_\-]", "", name.strip().lower())
    if key in _ALIASES:
        return _ALIASES[key]
    if key in IGNORED_ALGORITHMS:
        return None
    if key in UNSUPPORTED_ALGORITHMS:
        raise BadHash(f"{name!r} hashes are not supported yet")
    raise BadHash(f"unknown hash type {name[:40]!r}")


def hash_field(name: str) -> str | None:
    """The algorithm a column/key/element named `name` holds, "" for ones we ignore, else None.

    `name` is already squashed (see fields.squash). vPDQ columns are refused (BadHash).
    """
    if name in _ALIASES:
        return _ALIASES[name]
    if name in IGNORED_ALGORITHMS:
        return ""
    if name in UNSUPPORTED_ALGORITHMS:
        raise BadHash(f"{name!r} hashes are not supported yet")
    return None


def normalise_hash(algorithm: str, text: str) -> str:
    """Lower-case hex of the right length for `algorithm`, or BadHash saying what is wrong."""
    value = text.strip().lower()
    want = HEX_LENGTH[algorithm]
    if not _HEX.fullmatch(value):
        return _bad(algorithm, text, "is not hexadecimal")
    if len(value) != want:
        return _bad(algorithm, text, f"has {len(value)} hex digits, expected {want}")
    return value


def _bad(algorithm: str, text: str, why: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    raise BadHash(f"{algorithm} {shown!r} {why}")


def parse_quality(raw: Any) -> int:
    """PDQ quality 0..100 from an int, a float like 90.0 or a string; BadHash otherwise."""
    if isinstance(raw, bool):
        raise BadHash(f"quality {raw!r} is not a number")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise BadHash(f"quality {str(raw)[:40]!r} is not a number") from None
    if not number.is_integer() or not 0 <= number <= 100:
        raise BadHash(f"quality {str(raw)[:40]!r} is not a whole number from 0 to 100")
    return int(number)


_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f", ""})


def parse_bool(raw: Any) -> bool | None:
    """JSON true/false, or the strings VICS writes ("true", "False"), or None when unclear."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def parse_category(name: str) -> str:
    """Validate an import category (`--category`); ValueError names the allowed ones."""
    category = name.strip().lower()
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {name!r}: use one of {', '.join(CATEGORIES)}")
    return category


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One hash from a list. `value` is always validated lower-case hex for its algorithm.

    `withdrawn` records tell the caller to remove the hash (StopNCII withdrawals, NCMEC
    deletions); with `algorithm == "id"` the withdrawal names only the list's item id
    (`source_id`, also in `value`) and the caller removes every hash it holds under that id.
    De-duplication is the caller's job: a list may repeat a hash.
    """

    algorithm: str
    value: str
    withdrawn: bool = False
    quality: int | None = None
    source_id: str | None = None
    line: int | None = None
    extra: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Defence in depth: readers validate first (with file and line), but a record built
        # anywhere else must not smuggle a malformed hash into the matcher either.
        if self.algorithm == WITHDRAW_BY_ID:
            if not self.withdrawn or not self.value or len(self.value) > MAX_ID_LENGTH:
                raise ValueError("an id-only record must be a withdrawal with a short id")
            return
        if self.algorithm not in HEX_LENGTH:
            raise ValueError(f"unknown algorithm {self.algorithm!r}")
        if len(self.value) != HEX_LENGTH[self.algorithm] or not _HEX.fullmatch(self.value):
            raise ValueError(f"{self.algorithm} value {self.value[:80]!r} is not normalised hex")
        if self.quality is not None and not 0 <= self.quality <= 100:
            raise ValueError(f"quality {self.quality} is outside 0..100")


def clean_id(raw: Any) -> str | None:
    """The list's own item id as a string (numbers too), None when empty; BadHash if absurd."""
    if raw is None or isinstance(raw, dict | list):
        return None
    text = (str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)).strip()
    if len(text) > MAX_ID_LENGTH:
        raise BadHash(f"id is {len(text)} characters long, at most {MAX_ID_LENGTH} allowed")
    return text or None
