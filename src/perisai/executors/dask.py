"""Triage on a Dask distributed cluster: the same stage `process()` functions, elsewhere.

The client (the machine that runs `perisai triage --dask ADDRESS`) reads the pending items,
sends batches of a few hundred to the cluster with a bounded number in flight, and stores the
results itself, strictly in key order, each batch with the stage's new watermark in one
transaction: exactly what the local executor does, so the results are the same and a batch is
stored once or not at all (idempotent per item, stage and version: an item at or below the
watermark of its stage version is never sent again).

Workers get the files one of two ways (`--dask-files`, PERISAI_DASK_FILES):

- `shared` (default): workers decrypt files from the vault themselves, so the case folder must
  be reachable at the same path on every worker (a shared filesystem);
- `send`: the client reads each batch's encrypted blobs from its vault (what the stage's
  `blobs(items)` names) and sends the ciphertext with the batch, at most SEND_BYTES per task.
  The worker writes them to a private temporary vault folder with the vault's layout, runs the
  stage unchanged against it (a shallow copy with `vault_root` pointing there), sends back the
  ciphertext of any blob the stage added (previews), and removes the folder whatever happens.
  Workers then never open the case folder.

See docs/scale.md.

When a worker dies, Dask re-runs its tasks elsewhere. A task that was on a dying worker more
than the scheduler's `distributed.scheduler.allowed-failures` times fails with KilledWorker;
the batch is then split in halves and retried, down to the single item that keeps killing
workers, which is recorded as rejected (in the stage's own "rejected" shape where it has one)
instead of stopping the run. Rejected items are kept in a ledger file in the case folder
(`dask-ledger.json`) so a rerun never sends them again.
"""

from __future__ import annotations

import copy
import ctypes
import itertools
import json
import os
import shutil
import tempfile
import uuid
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import settings
from ..case import Case
from ..custody import utc_now
from ..errors import BadInput, PerisaiError
from ..stages.base import QueryStage, Stage, set_watermark, watermark
from ..vault import BLOB_NAME, Vault

Progress = Callable[[str, int, int], None]

BATCH = 256  # items per Dask task, unless the stage's own batches are larger
LEDGER = "dask-ledger.json"
INSTALL = "pip install 'perisai[scale]'"
FILES = ("shared", "send")  # how workers get the files (--dask-files)
SEND_BYTES = 32 * 2**20  # ciphertext per task in `send` mode (one larger file goes alone)
SEND_PREFIX = "perisai-send-"  # the worker's temporary vault folders


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise BadInput(f"the Dask executor needs Dask distributed: {INSTALL}") from None
    return distributed


class ClusterLost(PerisaiError):
    """The scheduler went away mid-run: what was stored stays; a rerun resumes after it."""


# --- worker side -------------------------------------------------------------------------

_STAGES: dict[str, Stage] = {}  # per worker process: one stage object per run and stage


def _process(token: str, stage: Stage, items: list[Any]) -> Any:
    """Runs on a worker. The first task of a run keeps its stage object, so whatever a stage
    loads lazily (models) is loaded once per worker process, not once per batch."""
    kept = _STAGES.setdefault(token, stage)
    return kept.process(items)


def _scratch() -> str | None:
    """The worker's own Dask scratch folder (purged by Dask should the process die before its
    `finally`), or the system temporary folder outside a worker."""
    try:
        from distributed import get_worker

        return str(get_worker().local_directory)
    except (ImportError, ValueError, AttributeError):
        return None


def _process_sent(
    token: str, stage: Stage, items: list[Any], blobs: dict[str, bytes]
) -> tuple[Any, dict[str, bytes]]:
    """Runs on a worker in `send` mode: the batch's ciphertext goes into a private temporary
    vault folder, the stage runs against it, and the folder is removed whatever happens.
    Returns the stage's results and the ciphertext of blobs the stage added (previews)."""
    kept = _STAGES.setdefault(token, stage)
    folder = Path(tempfile.mkdtemp(prefix=SEND_PREFIX, dir=_scratch()))
    try:
        layout = Vault(folder, kept.vault_key)  # type: ignore[attr-defined]
        for sha, data in blobs.items():
            layout.put_ciphertext(sha, data)
        work: Any = copy.copy(kept)  # models live in module caches; the copy is cheap
        work.vault_root = folder
        results = work.process(items)
        made = {
            p.name: p.read_bytes()
            for p in folder.glob("??/*")
            if BLOB_NAME.fullmatch(p.name) and p.name not in blobs and p == layout.path(p.name)
        }
        return results, made
    finally:
        shutil.rmtree(folder, ignore_errors=True)


TRIM_THRESHOLD = 256 * 2**20  # glibc M_TRIM_THRESHOLD for workers
MMAP_THRESHOLD = 32 * 2**20  # glibc M_MMAP_THRESHOLD for workers


def tune_malloc() -> bool:
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also freezes glibc's
    mmap threshold at 128 KiB: every decoded image array is then mmapped and unmapped, and the
    hash stage ran 2.5 times slower than in-process (docs/scale.md). Raise both thresholds
    for this process; False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-1, TRIM_THRESHOLD) == 1 and libc.mallopt(-3, MMAP_THRESHOLD) == 1)
    except (OSError, AttributeError):
        return False


def quiet_profiler(worker: Any) -> list[str]:
    """Stop Dask's statistical profiler on this worker. Every 10 ms it takes the GIL from the
    task thread to walk its stack; stages whose C code releases the GIL often (the regions
    stage's OpenCV calls) then ran about 30% longer on a worker than in-process (docs/scale.md).
    The dashboard's Profile tab stays empty for perisai's workers. Returns what was stopped."""
    stopped = []
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.pop(name, None)
        if callback is not None:
            callback.stop()
            stopped.append(name)
    return stopped


def worker_plugin() -> Any:
    """A WorkerPlugin that prepares each worker once: one OpenMP thread per task (Tesseract and
    ONNX otherwise oversubscribe the cores), glibc malloc thresholds for image work, Dask's
    sampling profiler off, and a fresh stage cache."""
    distributed = _distributed()

    class PerisaiWorker(distributed.WorkerPlugin):  # type: ignore[name-defined]
        name = "perisai"

        def setup(self, worker: Any) -> None:
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            os.environ.setdefault("OMP_NUM_THREADS", "1")
            tune_malloc()
            quiet_profiler(worker)
            _STAGES.clear()

    return PerisaiWorker()


# --- the ledger ----------------------------------------------------------------------------


class Ledger:
    """Per stage and version: batches stored, the last watermark, and items rejected because
    they kept killing workers. The database watermark is the authority on what is stored; the
    ledger adds what the database cannot say (which items must never be sent again)."""

    def __init__(self, root: Path, stage: Stage) -> None:
        self.path = root / LEDGER
        self.stage = stage
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {}
        entry = self.data.get(stage.name)
        if not entry or entry.get("version") != stage.version:
            entry = {"version": stage.version, "batches": 0, "watermark": 0, "rejected": {}}
            self.data[stage.name] = entry
        self.entry = entry

    def rejected(self, key: Any) -> str | None:
        value = self.entry["rejected"].get(str(key))
        return None if value is None else str(value)

    def reject(self, key: Any, reason: str) -> None:
        self.entry["rejected"][str(key)] = reason
        self.save()

    def stored(self, high: int) -> None:
        self.entry["batches"] += 1
        self.entry["watermark"] = high
        self.entry["updated_utc"] = utc_now()
        self.save()

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def rejected_result(stage: Stage, item: Any, reason: str) -> list[Any]:
    """The stage's own result for an item it could not process, or nothing where the stage
    has no such shape (then the ledger and the custody event are the record)."""
    if stage.name == "hash":
        mime = item[2] or ""
        kind = (
            "video"
            if mime.startswith(("video/", "image/gif"))
            else "image"
            if mime.startswith("image/")
            else None
        )
        return [
            {
                "media_id": item[0],
                "stage_version": stage.version,
                "kind": kind,
                "status": "rejected",
                "reason": reason,
                "detail": {},
            }
        ]
    if stage.name == "regions":
        return [{"id": item[0], "error": reason}]
    if stage.name == "nudity":
        return [(item[0], item[1], reason)]
    if stage.name == "ocr":
        return [(item[0], item[1], "failed", [])]
    return []


# --- client side ---------------------------------------------------------------------------


def files_mode(given: str | None = None) -> str:
    """`shared` or `send`: the option if given, else PERISAI_DASK_FILES, else shared."""
    value = (settings.DASK_FILES.value(given) or "shared").strip().lower()
    if value not in FILES:
        raise BadInput(f"--dask-files must be shared or send, not {value!r}")
    return value


class _Runner:
    def __init__(
        self, client: Any, stage: Stage, ledger: Ledger, in_flight: int, files: str = "shared"
    ) -> None:
        self.client, self.stage, self.ledger, self.in_flight = client, stage, ledger, in_flight
        self.token = f"{stage.name}-{stage.version}-{uuid.uuid4().hex[:12]}"
        self.seq = itertools.count()
        self.rejected: list[Any] = []
        self.live: set[Any] = set()  # this run's futures not yet collected
        self.distributed = _distributed()
        root = getattr(stage, "vault_root", None)
        self.vault = None if root is None else Vault(Path(root), stage.vault_key)  # type: ignore[attr-defined]
        self.send = files == "send" and self.vault is not None

    def _blob_size(self, sha: str) -> int:
        if self.vault is None or not BLOB_NAME.fullmatch(sha):
            return 0
        try:
            return self.vault.path(sha).stat().st_size
        except OSError:  # a missing blob is not sent; the worker reports it as locally
            return 0

    def parcels(self, high: int, items: list[Any]) -> list[tuple[int, list[Any]]]:
        """A batch as (watermark, items) parcels. In `send` mode a parcel carries at most
        SEND_BYTES of ciphertext (a larger file goes alone), so the client and the scheduler
        hold at most `in_flight` parcels of it; each parcel's watermark is the stage's `high`
        of its items (items come in key order), the last one the batch's own."""
        if not self.send:
            return [(high, items)]
        out: list[tuple[int, list[Any]]] = []
        part: list[Any] = []
        size = 0
        for item in items:
            need = sum(self._blob_size(sha) for sha in self.stage.blobs([item]))
            if part and size + need > SEND_BYTES:
                out.append((self.stage.high(part), part))  # type: ignore[attr-defined]
                part, size = [], 0
            part.append(item)
            size += need
        out.append((high, part))
        return out

    def read_blobs(self, items: list[Any]) -> dict[str, bytes]:
        """The ciphertext of the blobs `items` need that the client's vault holds. A blob the
        vault lacks is not sent: the stage then meets a missing blob, as it would locally."""
        if self.vault is None:
            return {}
        found = {sha: self.vault.ciphertext(sha) for sha in self.stage.blobs(items)}
        return {sha: data for sha, data in found.items() if data is not None}

    def keep(self, made: dict[str, bytes]) -> None:
        """Store blobs a worker's stage added (previews) in the client's vault, atomically."""
        if self.vault is not None:
            for sha, data in made.items():
                self.vault.put_ciphertext(sha, data)

    def submit(self, items: list[Any]) -> Any:
        future = self._submit(items)
        self.live.add(future)
        return future

    def _submit(self, items: list[Any]) -> Any:
        key = f"perisai-{self.token}-{next(self.seq)}"
        if not self.send:
            return self.client.submit(_process, self.token, self.stage, items, key=key, pure=False)
        import dask

        blobs = self.read_blobs(items)
        # The ciphertext travels inside the task (so a retry after a worker death has it);
        # parcels are bounded by SEND_BYTES, so Dask's large-graph warning is only noise here.
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "4GiB"}):
            return self.client.submit(
                _process_sent, self.token, self.stage, items, blobs, key=key, pure=False
            )

    def plan(self, items: list[Any]) -> list[tuple[str, Any]]:
        """A batch as segments: ("run", future) for items to send, ("rejected", item) for items
        the ledger already rejected; results are later joined in this order."""
        parts: list[tuple[str, Any]] = []
        run: list[Any] = []
        for item in items:
            if self.ledger.rejected(item[0]) is None:
                run.append(item)
                continue
            if run:
                parts.append(("run", (run, self.submit(run))))
                run = []
            parts.append(("rejected", item))
        if run:
            parts.append(("run", (run, self.submit(run))))
        return parts

    def collect(self, parts: list[tuple[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for kind, part in parts:
            if kind == "rejected":
                out += rejected_result(self.stage, part, self.ledger.rejected(part[0]) or "")
            else:
                items, future = part
                out += self.result(items, future)
        return out

    def _quiesce(self) -> None:
        """Wait until none of this run's other tasks is pending or running (their results or
        errors stay on their futures for when they are collected)."""
        others = [f for f in self.live if f.status == "pending"]
        if others:
            self.distributed.wait(others)

    def result(self, items: list[Any], future: Any, alone: bool = False) -> list[Any]:
        try:
            value = future.result()
            if self.send:
                value, made = value
                self.keep(made)
            return list(value)
        except self.distributed.KilledWorker:
            future.release()
            self.live.discard(future)
            if len(items) == 1 and not alone:
                # Dask blames every task a dying worker was processing (two per one-thread
                # worker), so an innocent file that shared a worker with the poison one can
                # get here too. Before rejecting, try it once more with nothing else of ours
                # running: only a file that kills a worker on its own is rejected.
                self._quiesce()
                return self.result(items, self.submit(items), alone=True)
            if len(items) == 1:
                reason = "killed its Dask worker on every try"
                self.ledger.reject(items[0][0], reason)
                self.rejected.append(items[0][0])
                return rejected_result(self.stage, items[0], reason)
            mid = len(items) // 2
            left, right = items[:mid], items[mid:]
            lf, rf = self.submit(left), self.submit(right)
            return self.result(left, lf) + self.result(right, rf)
        except (OSError, self.distributed.comm.CommClosedError) as exc:
            raise ClusterLost(f"lost the Dask cluster ({type(exc).__name__}): {exc}") from None
        except Exception as exc:
            if type(exc).__name__ in ("CancelledError", "FutureCancelledError"):
                raise ClusterLost(
                    "lost the Dask scheduler mid-run; what was stored is kept, run triage "
                    "again to resume"
                ) from None
            raise
        finally:
            self.live.discard(future)


def connect(address: Any) -> Any:
    """A distributed.Client for an address (tcp://host:8786) or an existing Client/cluster."""
    distributed = _distributed()
    if isinstance(address, distributed.Client):
        return address
    try:
        client = distributed.Client(address, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise BadInput(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return client


def run_stages(
    case: Case,
    stages: list[Stage],
    address: Any,
    progress: Progress | None = None,
    who: str | None = None,
    batch: int = BATCH,
    in_flight: int | None = None,
    files: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Run `stages` in order on the cluster at `address`; returns {stage name: {"version",
    "items", "found", "rejected"}} like the local executor (plus the rejected item keys).
    `files`: `shared` or `send` (default: PERISAI_DASK_FILES, else shared)."""
    from ..pipeline import _run_stage

    mode = files_mode(files)
    client = connect(address)
    own = client is not address
    try:
        client.register_plugin(worker_plugin())
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        limit = in_flight or workers * 2
        out: dict[str, dict[str, Any]] = {}
        for stage in stages:
            if isinstance(stage, QueryStage):
                out[stage.name] = run_stage(
                    case, stage, client, progress, who, batch, limit, files=mode
                )
            else:  # whole-case work inside store(): nothing for a worker to do
                out[stage.name] = _run_stage(case, stage, 1, progress, who)
        return out
    finally:
        if own:
            client.close()


def run_stage(
    case: Case,
    stage: Stage,
    client: Any,
    progress: Progress | None = None,
    who: str | None = None,
    batch: int = BATCH,
    in_flight: int = 4,
    files: str = "shared",
) -> dict[str, Any]:
    """One stage on the cluster; stores batches in key order with their watermark."""
    with case.begin() as conn:
        start = watermark(conn, stage)
        total = stage.total(conn, start)
    if total == 0:
        return {"version": stage.version, "items": 0, "found": {}}
    work = copy.copy(stage)
    work.batch_size = max(stage.batch_size, batch)  # type: ignore[misc]
    ledger = Ledger(case.root, stage)
    runner = _Runner(client, stage, ledger, in_flight, files)
    counts: Counter[str] = Counter()
    done = 0
    queue: deque[tuple[int, int, list[tuple[str, Any]]]] = deque()

    def store_head() -> None:
        nonlocal done
        high, size, parts = queue.popleft()
        results = runner.collect(parts)
        with case.begin() as conn:
            counts.update(stage.store(conn, results))
            set_watermark(conn, stage, high)
        ledger.stored(high)
        done += size
        if progress:
            progress(stage.name, done, total)

    try:
        with case.engine.connect() as reader:
            for high, items in work.batches(reader, start):
                for part_high, part in runner.parcels(high, items):
                    queue.append((part_high, len(part), runner.plan(part)))
                    while len(queue) >= in_flight:
                        store_head()
            while queue:
                store_head()
    finally:
        for _, _, parts in queue:
            for kind, part in parts:
                if kind == "run":
                    part[1].cancel()
    if runner.rejected:
        counts["dask.rejected"] += len(runner.rejected)
    found = dict(counts)
    body = {
        "stage": stage.name,
        "version": stage.version,
        "items": done,
        "found": found,
        "executor": "dask",
        "files": "send" if runner.send else "shared",
        "rejected": runner.rejected,
    }
    with case.begin() as conn:
        case.log(conn, "triage", body, who)
    return {"version": stage.version, "items": done, "found": found, "rejected": runner.rejected}
