"""Runs stages over pending items, in-process or with a local process pool.

Each batch's results and the stage's new watermark commit in one transaction, so an
interrupted run resumes where it stopped. One custody event per stage run records what it did.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from . import settings
from .case import Case
from .errors import BadInput
from .stages.base import Stage, set_watermark, watermark
from .stages.dox import DoxStage
from .stages.grouping import GroupStage
from .stages.hashing import HashStage
from .stages.matching import MatchStage
from .stages.nudity import NudityStage
from .stages.ocr import OcrStage
from .stages.previews import PreviewStage
from .stages.regions import RegionStage
from .stages.text import TextStage
from .stages.victim_match import VictimMatchStage

Progress = Callable[[str, int, int], None]


def all_stages(case: Case, seal_to: Any = None) -> list[Stage]:
    """In data-flow order: hashes before matching, matching before anything shows pixels."""
    return [
        HashStage(case.vault.root, case.keys.purpose("vault")),
        RegionStage(case.vault.root, case.keys.purpose("vault")),
        GroupStage(),
        MatchStage(case, seal_to),
        VictimMatchStage(),
        NudityStage(case.vault.root, case.keys.purpose("vault")),
        PreviewStage(case.vault.root, case.keys.purpose("vault")),
        OcrStage(case.vault.root, case.keys.purpose("vault")),
        TextStage(),
        DoxStage(),
    ]


def select_stages(case: Case, only: str | None, seal_to: Any = None) -> list[Stage]:
    stages = all_stages(case, seal_to)
    if not only:
        return stages
    wanted = [s.strip() for s in only.split(",") if s.strip()]
    names = {s.name for s in stages}
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise BadInput(f"unknown stage {unknown[0]!r}: choose from {', '.join(sorted(names))}")
    return [s for s in stages if s.name in wanted]


def workers_from(value: int | str | None) -> int:
    raw = settings.WORKERS.value(None if value is None else str(value))
    if raw is None:
        return os.cpu_count() or 1
    try:
        n = int(raw)
    except ValueError:
        raise BadInput(f"--workers must be a whole number, not {raw!r}") from None
    if n < 1:
        raise BadInput("--workers must be at least 1")
    return n


def triage(
    case: Case,
    workers: int | None = None,
    only: str | None = None,
    progress: Progress | None = None,
    who: str | None = None,
    seal_to: str | Path | None = None,
    dask: Any = None,
    dask_files: str | None = None,
) -> dict[str, Any]:
    """Run every stage with pending work. `seal_to`: an X25519 public key file; files that
    match a csam list are then sealed to it instead of only deleted. `dask`: a scheduler
    address (or Client) to run on a Dask cluster instead (default: PERISAI_DASK);
    `dask_files`: how its workers get the files, shared or send (PERISAI_DASK_FILES)."""
    address = dask if dask is not None and not isinstance(dask, str) else settings.DASK.value(dask)
    n_workers = workers_from(workers) if not address else 1
    key = None
    if seal_to is not None:
        from .seal import load_public_key

        key = load_public_key(seal_to)
    summary: dict[str, Any] = {"stages": {}}
    if address:
        from .executors.dask import run_stages

        stages = select_stages(case, only, key)
        summary["stages"] = run_stages(case, stages, address, progress, who, files=dask_files)
        return summary
    for stage in select_stages(case, only, key):
        summary["stages"][stage.name] = _run_stage(case, stage, n_workers, progress, who)
    return summary


def _run_stage(case: Case, stage: Stage, n_workers: int, progress: Any, who: Any) -> dict:
    with case.begin() as conn:
        start = watermark(conn, stage)
        total = stage.total(conn, start)
    counts: Counter[str] = Counter()
    done = 0
    if total == 0:
        return {"version": stage.version, "items": 0, "found": {}}
    pool = ProcessPoolExecutor(n_workers) if n_workers > 1 and total > stage.batch_size else None
    try:
        with case.engine.connect() as reader:
            for high, results, size in _results(stage, reader, start, pool, n_workers):
                with case.begin() as conn:
                    counts.update(stage.store(conn, results))
                    set_watermark(conn, stage, high)
                done += size
                if progress:
                    progress(stage.name, done, total)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    body = {"stage": stage.name, "version": stage.version, "items": done, "found": dict(counts)}
    with case.begin() as conn:
        case.log(conn, "triage", body, who)
    return {"version": stage.version, "items": done, "found": dict(counts)}


def _results(
    stage: Stage, reader: Any, start: int, pool: ProcessPoolExecutor | None, n_workers: int
) -> Iterator[tuple[int, Any, int]]:
    batches = stage.batches(reader, start)
    if pool is None:
        for high, items in batches:
            yield high, stage.process(items), len(items)
        return
    # Keep a few batches in flight; store them strictly in order so the watermark is honest.
    in_flight: list[tuple[int, int, Future[Any]]] = []
    for high, items in batches:
        in_flight.append((high, len(items), pool.submit(stage.process, items)))
        if len(in_flight) >= n_workers * 2:
            h, size, fut = in_flight.pop(0)
            yield h, fut.result(), size
    for h, size, fut in in_flight:
        yield h, fut.result(), size
