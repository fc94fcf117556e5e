"""The stage contract: one entry point over a batch of items, a name and a version.

Evidence rows only ever grow, with rising primary keys, so a stage's progress is a watermark:
everything up to it is done at the stage's version. A batch's results and the new watermark
commit together, so a crash or Ctrl-C loses at most the batch in flight, and the next run
resumes after the last committed batch. A new version deletes the stage's old output and starts
again from zero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, ClassVar

from sqlalchemy import Connection, Select, delete, func, insert, select, update

from ..custody import utc_now
from ..store import models as m
from ..vault import BLOB_NAME


class Stage:
    name: ClassVar[str]
    version: ClassVar[int]
    batch_size: ClassVar[int] = 2000

    def total(self, conn: Connection, after: int) -> int:
        """How many items are pending after the watermark (for progress)."""
        raise NotImplementedError

    def batches(self, conn: Connection, after: int) -> Iterator[tuple[int, list[Any]]]:
        """(highest key in batch, items) for every pending batch, in key order."""
        raise NotImplementedError

    def process(self, items: list[Any]) -> Any:
        """Pure work on one batch (may run in a worker process)."""
        raise NotImplementedError

    def blobs(self, items: list[Any]) -> list[str]:
        """The vault blobs (SHA-256) that `process(items)` may read: what the Dask executor
        sends with a batch to workers that cannot see the case folder (`--dask-files send`).
        Default: for a stage that reads the vault (it has a `vault_root`), every 64-hex string
        in its item tuples; the executor sends those the vault holds."""
        if getattr(self, "vault_root", None) is None:
            return []
        found: dict[str, None] = {}
        for item in items:
            for value in item if isinstance(item, tuple) else (item,):
                if isinstance(value, str) and BLOB_NAME.fullmatch(value):
                    found[value] = None
        return list(found)

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        """Write one batch's results; returns counts for the custody event."""
        raise NotImplementedError

    def reset(self, conn: Connection) -> None:
        """Delete this stage's output (called when its version changes)."""
        raise NotImplementedError


class QueryStage(Stage):
    """A stage whose pending items are the rows of one query, keyed by a rising first column.

    `pending(after)` must filter on that key (`> after`) and order by it; batches page
    through it so a large case is never loaded at once.
    """

    def pending(self, after: int) -> Select[Any]:
        raise NotImplementedError

    def ready(self) -> bool:
        """False when an optional dependency (a model, Tesseract) is missing: nothing to do."""
        return True

    def high(self, chunk: list[Any]) -> int:
        """The watermark after a batch: its highest key."""
        return int(chunk[-1][0])

    def total(self, conn: Connection, after: int) -> int:
        if not self.ready():
            return 0
        query = self.pending(after).subquery()
        return int(conn.execute(select(func.count()).select_from(query)).scalar() or 0)

    def batches(self, conn: Connection, after: int) -> Iterator[tuple[int, list[Any]]]:
        last = after
        while True:
            chunk = [tuple(r) for r in conn.execute(self.pending(last).limit(self.batch_size))]
            if not chunk:
                return
            last = chunk[-1][0]
            yield self.high(chunk), chunk


class RecomputeStage(Stage):
    """A stage redone whenever its inputs change: its watermark is a signature of them.

    Cheap, whole-case work (grouping, matching, dox scoring) that needs the database runs in
    `store()`; there is one batch and nothing for a worker to do.
    """

    def inputs(self, conn: Connection) -> Any:
        """Something whose repr changes whenever the stage's inputs do (counts, max ids)."""
        raise NotImplementedError

    def ready(self, conn: Connection) -> bool:
        return True

    def signature(self, conn: Connection) -> int:
        digest = hashlib.sha256(repr(self.inputs(conn)).encode()).hexdigest()
        return int(digest[:15], 16)  # fits the watermark column

    def total(self, conn: Connection, after: int) -> int:
        return 1 if self.ready(conn) and self.signature(conn) != after else 0

    def batches(self, conn: Connection, after: int) -> Iterator[tuple[int, list[Any]]]:
        if self.total(conn, after):
            yield self.signature(conn), [None]

    def process(self, items: list[Any]) -> Any:
        return None


def watermark(conn: Connection, stage: Stage) -> int:
    row = conn.execute(
        select(m.STAGE_STATE.c.version, m.STAGE_STATE.c.watermark).where(
            m.STAGE_STATE.c.stage == stage.name
        )
    ).first()
    if row is None:
        conn.execute(
            insert(m.STAGE_STATE).values(
                stage=stage.name, version=stage.version, watermark=0, updated_utc=utc_now()
            )
        )
        return 0
    if row.version != stage.version:
        stage.reset(conn)
        set_watermark(conn, stage, 0)
        return 0
    return int(row.watermark)


def stage_progress(conn: Connection, name: str) -> tuple[Any, ...]:
    """(version, watermark) of another stage, for an `inputs()` signature that must change when
    that stage rewrites rows it does not add (the regions stage fills in media_analysis)."""
    return tuple(
        conn.execute(
            select(m.STAGE_STATE.c.version, m.STAGE_STATE.c.watermark).where(
                m.STAGE_STATE.c.stage == name
            )
        ).all()
    )


def set_watermark(conn: Connection, stage: Stage, value: int) -> None:
    conn.execute(
        update(m.STAGE_STATE)
        .where(m.STAGE_STATE.c.stage == stage.name)
        .values(version=stage.version, watermark=value, updated_utc=utc_now())
    )


def delete_findings(conn: Connection, stage_name: str) -> None:
    conn.execute(delete(m.FINDINGS).where(m.FINDINGS.c.stage == stage_name))
