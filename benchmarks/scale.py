"""Triage of N synthetic images on a 2-worker Dask LocalCluster against the local process pool.

    .venv/bin/python benchmarks/scale.py                  # 2,000 original photos (plus reposts)
    .venv/bin/python benchmarks/scale.py --photos 71000 --exports 2   # 100,000 image files
    .venv/bin/python benchmarks/scale.py --stages hash,regions --workdir /tmp/scale
    .venv/bin/python benchmarks/scale.py --stages ""      # every stage, one table row each
    .venv/bin/python benchmarks/scale.py --pg-messages 200000   # PostgreSQL ingest rate only

Writes `perisai synth` exports (benign generated pictures; reused from --workdir when they are
there): one, or with `--exports K` K groups of photos/K original photos each, written by K
processes at once (seeds 7, 8, ...); every original comes with reposts, about 1.41 image files
per original photo. It ingests them into two fresh SQLite cases (a folder of exports, one
command's worth), triages one with the local process pool (`--workers`) and the other on a
`distributed.LocalCluster` with the same number of worker processes (one thread each), checks
that media_analysis, findings, clusters and previews are identical, and prints the set-up and
a table: seconds, images per second and the Dask overhead against the local pool. Cluster
start-up is timed apart from triage. Stages run one at a time in pipeline order (default: the
hash stage only); with several, a second table times each stage on both executors.

`--pg-messages N` runs `benchmarks/scale_postgres.py ingest --messages N` (PostgreSQL ingest
by COPY against INSERT and SQLite); that script also times the reports on the 10-million-
message case, and `benchmarks/scale_pdq.py` measures PDQ matching at 10 million hashes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PERISAI_PASSPHRASE", "scale benchmark passphrase")
os.environ.setdefault("PERISAI_INVESTIGATOR", "bench")
# One BLAS/OpenMP thread per process on both sides, as Dask's nanny sets for its workers
# (distributed.nanny.pre-spawn-environ): otherwise the local pool's processes each start a
# thread per core, oversubscribe the cores, and PDQ's matrix products round differently.
for _var in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

TABLES = ("media_analysis", "findings", "cluster_members", "previews")


def snapshot(case) -> dict[str, list[str]]:
    from sqlalchemy import select

    from perisai.store import models as m

    handles = {
        "media_analysis": m.MEDIA_ANALYSIS,
        "findings": m.FINDINGS,
        "cluster_members": m.CLUSTER_MEMBERS,
        "previews": m.PREVIEWS,
    }
    out = {}
    with case.engine.connect() as conn:
        for name in TABLES:
            rows = [
                json.dumps(
                    {k: v for k, v in r.items() if not str(k).endswith("_utc")},
                    sort_keys=True,
                    default=str,
                )
                for r in conn.execute(select(handles[name])).mappings()
            ]
            out[name] = sorted(rows)
    return out


def _synth_one(out: str, photos: int, seed: int) -> None:
    from perisai.synth import synth

    synth(Path(out), messages=photos * 2 + 200, photos=photos, seed=seed)


def make_exports(work: Path, photos: int, count: int) -> Path:
    """The folder holding the export(s); each written by its own process, reused when present."""
    if count == 1:
        folder = work / f"export-{photos}"
        jobs = [(folder, photos, 7)]
    else:
        folder = work / f"exports-{photos}-in-{count}"
        share = [photos // count + (i < photos % count) for i in range(count)]
        jobs = [(folder / f"group-{i + 1}", share[i], 7 + i) for i in range(count)]
    todo = [j for j in jobs if not (j[0] / "result.json").exists()]
    for path, _, _ in todo:
        shutil.rmtree(path, ignore_errors=True)  # a half-written one from an interrupted run
    if len(todo) == 1:
        _synth_one(str(todo[0][0]), todo[0][1], todo[0][2])
    elif todo:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(len(todo)) as pool:
            for f in [pool.submit(_synth_one, str(p), n, seed) for p, n, seed in todo]:
                f.result()
    return folder


def stage_names(case, stages: str) -> list[str]:
    from perisai.pipeline import select_stages

    return [s.name for s in select_stages(case, stages or None)]


def by_stage(run, names: list[str]) -> tuple[dict, float, dict[str, float]]:
    """Each stage run on its own (in pipeline order) and timed; summed into one result."""
    summary: dict = {"stages": {}}
    each: dict[str, float] = {}
    for name in names:
        t0 = time.perf_counter()
        summary["stages"].update(run(name)["stages"])
        each[name] = time.perf_counter() - t0
    return summary, sum(each.values()), each


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=2000, help="original photos (default 2000)")
    ap.add_argument("--exports", type=int, default=1, help="split the photos over K exports")
    ap.add_argument("--workers", type=int, default=2, help="worker processes on both sides")
    ap.add_argument("--stages", default="hash", help="stages to run (default: hash)")
    ap.add_argument("--workdir", type=Path, help="keep and reuse the export here")
    ap.add_argument("--pg-messages", type=int, help="measure PostgreSQL ingest of N messages")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    if args.pg_messages:  # kept for old command lines: scale_postgres.py does this now
        import scale_postgres

        work = args.workdir or Path(tempfile.mkdtemp(prefix="perisai-scale-"))
        scale_postgres.main(
            [
                "ingest",
                "--messages",
                str(args.pg_messages),
                "--workdir",
                str(work),
                "--pg-url",
                args.pg_url,
            ]
        )
        return

    import dask
    import distributed

    from perisai.case import Case
    from perisai.executors.exports import ingest_folder
    from perisai.pipeline import triage

    work = args.workdir or Path(tempfile.mkdtemp(prefix="perisai-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    export = make_exports(work, args.photos, args.exports)
    t_synth = time.perf_counter() - t0

    cases = {}
    t_ingest = {}
    for name in ("local", "dask"):
        root = work / f"case-{name}"
        shutil.rmtree(root, ignore_errors=True)
        case = Case.open(root)
        t0 = time.perf_counter()
        done = ingest_folder(case, export)
        t_ingest[name] = time.perf_counter() - t0
        if done["failed"]:
            sys.exit(f"ingest failed: {done['failed']}")
        cases[name] = case

    names = stage_names(cases["local"], args.stages)
    local, t_local, each_local = by_stage(
        lambda only: triage(cases["local"], workers=args.workers, only=only), names
    )

    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    t_start = time.perf_counter() - t0
    try:
        remote, t_dask, each_dask = by_stage(
            lambda only: triage(cases["dask"], dask=client, only=only), names
        )
    finally:
        client.close()
        cluster.close()

    same = snapshot(cases["local"]) == snapshot(cases["dask"])
    images = local["stages"].get("hash", {}).get("items", 0)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"set-up: perisai {commit}, Python {platform.python_version()}, dask "
        f"{dask.__version__}, distributed {distributed.__version__}, {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), stages {args.stages}, "
        f"{args.workers} worker processes on both sides, SQLite cases in {work}"
    )
    print(
        f"export: {args.photos} original photos in {args.exports} export(s), {images} image "
        f"files in all (reposts included); synth {t_synth:.1f} s (0 = reused); ingest "
        f"{t_ingest['local']:.1f} s and {t_ingest['dask']:.1f} s"
    )
    print()
    print("| executor | start-up s | triage s | images/s | overhead vs local |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| local process pool ({args.workers}) | 0.0 | {t_local:.1f} | "
        f"{images / t_local:.0f} | - |"
    )
    over = (t_dask - t_local) / t_local * 100
    print(
        f"| Dask LocalCluster ({args.workers}x1) | {t_start:.1f} | {t_dask:.1f} | "
        f"{images / t_dask:.0f} | {over:+.0f}% |"
    )
    print()
    if len(names) > 1:
        print("| stage | items | local s | Dask s | Dask vs local |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in names:
            a, b = each_local[name], each_dask[name]
            items = remote["stages"].get(name, {}).get("items", 0)
            rel = f"{(b - a) / a * 100:+.0f}%" if a >= 0.05 else "-"
            print(f"| {name} | {items} | {a:.1f} | {b:.1f} | {rel} |")
        print()
    for name, info in remote["stages"].items():
        print(f"dask {name}: {info['items']} items, found {info['found']}")
    print(f"same results (media_analysis, findings, cluster_members, previews): {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
