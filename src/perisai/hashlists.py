"""`perisai hashlist import`: bring a hotline's or a platform's hash list into the case."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from .case import Case
from .custody import utc_now
from .errors import BadInput
from .lists import WITHDRAW_BY_ID, ListReader
from .store import models as m

CATEGORIES = ("csam", "ncii", "voyeur", "doxx", "benign")
DEFAULT_THRESHOLD = 31  # PDQ's recommended match distance
BATCH = 5000


def import_list(
    case: Case,
    path: Path | str,
    name: str,
    category: str,
    fmt: str = "auto",
    threshold: int = DEFAULT_THRESHOLD,
    who: str | None = None,
) -> dict[str, Any]:
    path = Path(path)
    if category not in CATEGORIES:
        raise BadInput(f"unknown category {category!r}: choose from {', '.join(CATEGORIES)}")
    if not 0 <= threshold <= 64:
        raise BadInput("--threshold must be between 0 and 64 bits")
    if not path.is_file():
        raise BadInput(f"{path} does not exist or is not a file")
    if not name.strip():
        raise BadInput("--name must not be empty")
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            sha.update(block)
    counts = {"added": 0, "duplicates": 0, "withdrawn": 0}
    by_algorithm: dict[str, int] = {}
    with case.begin() as conn:
        list_id = conn.execute(
            insert(m.HASH_LISTS).values(
                name=name,
                category=category,
                format=fmt,  # replaced by the detected format below
                source_sha256=sha.hexdigest(),
                imported_utc=utc_now(),
                threshold=threshold,
                counts={},
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        same_name = select(m.HASH_LISTS.c.id).where(m.HASH_LISTS.c.name == name)
        seen: set[tuple[str, str]] = set()
        pending: list[dict[str, Any]] = []
        reader = ListReader(path, fmt)
        # A ListFormatError (a BadInput) raised while reading rolls the whole import back.
        for record in reader:
            key = (record.algorithm, record.value)
            if record.withdrawn:
                # A withdrawal removes the hash from every import of this list; NCMEC and
                # StopNCII may withdraw by their item id alone.
                if record.algorithm == WITHDRAW_BY_ID:
                    where = m.LIST_HASHES.c.source_id == record.value
                    pending = [p for p in pending if p["source_id"] != record.value]
                else:
                    where = (m.LIST_HASHES.c.algorithm == record.algorithm) & (
                        m.LIST_HASHES.c.value == record.value
                    )
                    pending = [p for p in pending if (p["algorithm"], p["value"]) != key]
                conn.execute(
                    delete(m.LIST_HASHES).where(m.LIST_HASHES.c.list_id.in_(same_name), where)
                )
                seen.discard(key)
                counts["withdrawn"] += 1
                continue
            if key in seen:
                counts["duplicates"] += 1
                continue
            seen.add(key)
            pending.append(
                {
                    "list_id": list_id,
                    "algorithm": record.algorithm,
                    "value": record.value,
                    "quality": record.quality,
                    "source_id": record.source_id,
                }
            )
            by_algorithm[record.algorithm] = by_algorithm.get(record.algorithm, 0) + 1
            if len(pending) >= BATCH:
                conn.execute(insert(m.LIST_HASHES), pending)
                counts["added"] += len(pending)
                pending = []
        if pending:
            conn.execute(insert(m.LIST_HASHES), pending)
            counts["added"] += len(pending)
        fmt = reader.format
        summary = {
            "list_id": list_id,
            "name": name,
            "category": category,
            "format": fmt,
            "threshold": threshold,
            "source_sha256": sha.hexdigest(),
            "by_algorithm": by_algorithm,
            **counts,
        }
        conn.execute(
            m.HASH_LISTS.update()
            .where(m.HASH_LISTS.c.id == list_id)
            .values(counts=summary, format=fmt)
        )
        case.log(conn, "hashlist.import", summary, who)
    return summary
