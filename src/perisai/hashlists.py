"""`perisai hashlist import`: bring a hotline's or a platform's hash list into the case."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from .case import Case
from .custody import utc_now
from .errors import BadInput
from .lists import WITHDRAW_BY_ID, ListReader
from .store import models as m

CATEGORIES = ("csam", "ncii", "voyeur", "doxx", "benign")
DEFAULT_THRESHOLD = 31  # PDQ's recommended match distance
BATCH = 5000
# Which of these values of one algorithm are stored, by the (algorithm, value) index every list
# hash has; the list id is checked in Python, as a condition on it could lead SQLite to scan the
# import's rows through the list_id index. One statement with its values bound at execution:
# statements built per batch, each holding its values, were kept (SQLAlchemy's cache).
_STORED = select(m.LIST_HASHES.c.list_id, m.LIST_HASHES.c.value).where(
    m.LIST_HASHES.c.algorithm == bindparam("algorithm"),
    m.LIST_HASHES.c.value.in_(bindparam("values", expanding=True)),
)


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
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                sha.update(block)
    except OSError as exc:  # no permission, a file that vanished, an I/O error
        raise BadInput(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
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
        # Duplicates within this import: a hash already waiting in `pending`, or one an earlier
        # batch of this import stored (looked up per batch in the database, so a list of 10^7
        # hashes needs no set of 10^7 keys in memory). `pending` is keyed by (algorithm, value)
        # and `by_id` indexes it by sharing id, so a withdrawal costs O(1) here, not a pass over
        # the batch: a list of 20,000 withdrawals took 15 s, 10^7 would have taken hours.
        Key = tuple[str, str]
        pending: dict[Key, dict[str, Any]] = {}
        by_id: dict[str, set[Key]] = {}
        unchecked: list[Key] = []  # keys added since the last settle()

        def settle() -> None:
            nonlocal unchecked
            rows = [pending[k] for k in dict.fromkeys(unchecked) if k in pending]
            unchecked = []
            _, dropped = _drop_stored(conn, list_id, rows)
            for p in dropped:
                counts["duplicates"] += 1
                by_algorithm[p["algorithm"]] -= 1  # counted when it was read
                del pending[(p["algorithm"], p["value"])]

        reader = ListReader(path, fmt)
        # A ListFormatError (a BadInput) raised while reading rolls the whole import back.
        for record in reader:
            key = (record.algorithm, record.value)
            if record.withdrawn:
                # A withdrawal removes the hash from every import of this list; NCMEC and
                # StopNCII may withdraw by their item id alone.
                settle()  # a waiting hash that an earlier batch stored counts as a duplicate
                if record.algorithm == WITHDRAW_BY_ID:
                    for k in by_id.pop(record.value, ()):
                        if k in pending and pending[k]["source_id"] == record.value:
                            del pending[k]
                    conn.execute(_WITHDRAW_ID, {"name": name, "source_id": record.value})
                else:
                    pending.pop(key, None)
                    conn.execute(
                        _WITHDRAW_HASH,
                        {"name": name, "algorithm": record.algorithm, "value": record.value},
                    )
                counts["withdrawn"] += 1
                continue
            if key in pending:
                counts["duplicates"] += 1
                continue
            pending[key] = {
                "list_id": list_id,
                "algorithm": record.algorithm,
                "value": record.value,
                "quality": record.quality,
                "source_id": record.source_id,
            }
            unchecked.append(key)
            if record.source_id is not None:
                by_id.setdefault(record.source_id, set()).add(key)
            by_algorithm[record.algorithm] = by_algorithm.get(record.algorithm, 0) + 1
            if len(pending) >= BATCH:
                settle()
                if pending:
                    conn.execute(insert(m.LIST_HASHES), list(pending.values()))
                counts["added"] += len(pending)
                pending, by_id = {}, {}
        if reader.records == 0:
            # An empty file, or JSON/CSV of some other shape that holds no hash (an object of
            # objects, a list of numbers): importing "0 hashes" would look like a clean list.
            skipped = ", ".join(f"{n} {why}" for why, n in sorted(reader.skipped.items()))
            raise BadInput(
                f"{path}: no hashes found (read as {reader.format}"
                + (f"; skipped: {skipped}" if skipped else "")
                + "); nothing was imported"
            )
        settle()
        if pending:
            conn.execute(insert(m.LIST_HASHES), list(pending.values()))
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


# Withdrawals: one prebuilt statement each, values bound at execution (one per withdrawal).
_SAME_NAME = select(m.HASH_LISTS.c.id).where(m.HASH_LISTS.c.name == bindparam("name"))
_WITHDRAW_HASH = delete(m.LIST_HASHES).where(
    m.LIST_HASHES.c.list_id.in_(_SAME_NAME),
    m.LIST_HASHES.c.algorithm == bindparam("algorithm"),
    m.LIST_HASHES.c.value == bindparam("value"),
)
_WITHDRAW_ID = delete(m.LIST_HASHES).where(
    m.LIST_HASHES.c.list_id.in_(_SAME_NAME),
    m.LIST_HASHES.c.source_id == bindparam("source_id"),
)


def _drop_stored(
    conn: Any, list_id: int, pending: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`pending` split into the hashes import `list_id` has not stored yet and those it has."""
    if not pending:
        return pending, []
    by_algorithm: dict[str, list[str]] = {}
    for p in pending:
        by_algorithm.setdefault(p["algorithm"], []).append(p["value"])
    stored: set[tuple[str, str]] = set()
    for algorithm, values in by_algorithm.items():
        rows = conn.execute(_STORED, {"algorithm": algorithm, "values": values})
        stored.update((algorithm, v) for lid, v in rows if lid == list_id)
    if not stored:
        return pending, []
    kept = [p for p in pending if (p["algorithm"], p["value"]) not in stored]
    return kept, [p for p in pending if (p["algorithm"], p["value"]) in stored]
