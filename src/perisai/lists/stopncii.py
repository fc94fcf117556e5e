"""StopNCII-style exchange records, withdrawals included.

A JSON array, a wrapper object holding one, or JSON lines, of records such as
`{"hash": "...", "hashType": "pdq", "quality": 90, "caseId": "C-1", "status": "active"}`.
`status` (or `action`) `withdrawn`, `deleted`, `withdraw`, `remove`... and `deleted: true`
give `withdrawn=True`: the caller removes the hash. A withdrawal that carries only the case id
gives an `algorithm="id"` record. An unknown status word is an error, never a guess. Without a
`hashType`, a 64-digit hash is PDQ here: StopNCII shares PDQ for images and MD5 for videos.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .jsonwalk import read_json_items
from .model import HashRecord


def read_stopncii(
    path: Path, skipped: Counter[str], bare64: str | None = None
) -> Iterator[HashRecord]:
    return read_json_items(path, skipped, bare64 or "pdq")
