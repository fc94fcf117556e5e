"""Project VIC VICS 2.0 JSON hash sets.

The OData export is `{"@odata.context": ".../2.0.xml/Default/$metadata#Media", "value":
[{"MediaID": 1, "Category": 0, "MD5": "ADEB...", "SHA1": "2B03...", "PhotoDNA": "...",
"IsPrecategorized": "true", ...}]}`; some producers nest the items one level deeper
(`"value": [{"Media": [...]}]`). Every JSON object with an MD5, SHA1 or SHA256 field is an
item, wherever it sits. Keys are matched without regard to case, booleans may be strings, hex
may be upper case, the file may start with a BOM. PhotoDNA is proprietary and ignored: an item
with only a PhotoDNA hash is skipped and counted. The VICS category stays in `extra` as the
number the list gives: its meaning differs by profile (0 is Non-Pertinent in the US profile,
Uncategorized in the old DHS scheme), so mapping it is the caller's decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .jsonwalk import read_json_items
from .model import HashRecord


def read_vics(path: Path, skipped: Counter[str], bare64: str | None = None) -> Iterator[HashRecord]:
    return read_json_items(path, skipped, bare64 or "sha256")
