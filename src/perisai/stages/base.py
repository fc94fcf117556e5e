"""The stage contract: one entry point over a batch of items, a name and a version.

Evidence rows only ever grow, with rising primary keys, so a stage's progress is a watermark:
everything up to it is done at the stage's version. A batch's results and the new watermark
commit together, so a crash or Ctrl-C loses at most the batch in flight, and the next run
resumes after the last committed batch. A new version deletes the stage's old output and starts
again from zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from sqlalchemy import Connection, delete, insert, select, update

from ..custody import utc_now
from ..store import models as m


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

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        """Write one batch's results; returns counts for the custody event."""
        raise NotImplementedError

    def reset(self, conn: Connection) -> None:
        """Delete this stage's output (called when its version changes)."""
        raise NotImplementedError


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


def set_watermark(conn: Connection, stage: Stage, value: int) -> None:
    conn.execute(
        update(m.STAGE_STATE)
        .where(m.STAGE_STATE.c.stage == stage.name)
        .values(version=stage.version, watermark=value, updated_utc=utc_now())
    )


def delete_findings(conn: Connection, stage_name: str) -> None:
    conn.execute(delete(m.FINDINGS).where(m.FINDINGS.c.stage == stage_name))
