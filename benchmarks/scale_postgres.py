"""A hotline-sized case on PostgreSQL: ingest of N synthetic messages (rate, memory), then
query plans and the at-risk report on that case.

    .venv/bin/python benchmarks/scale_postgres.py ingest --messages 1000000
    .venv/bin/python benchmarks/scale_postgres.py ingest --messages 10000000 \\
        --workdir /tmp/scale10m --keep perisai_scale_10m      # the issue's size; keeps the case
    .venv/bin/python benchmarks/scale_postgres.py plans --workdir /tmp/scale10m \\
        --keep perisai_scale_10m                               # EXPLAIN ANALYZE, see below

`ingest` writes a text-only `perisai synth` export of N messages (reused from --workdir when
there; not timed) and ingests it, each contender in its own child process so that its peak
resident memory is its own (VmHWM after a reset, so key derivation and migrations do not count):

  PostgreSQL COPY     perisai's ingest into PostgreSQL (COPY for the messages table);
  PostgreSQL INSERT   the same with COPY switched off (SQLAlchemy Core executemany, what
                      perisai did before), at --peer-messages at most: it is the slow one;
  SQLite              the same export into the default SQLite case (skip with --no-sqlite).

The PostgreSQL database is created on --pg-url's server and dropped afterwards, unless --keep
NAME is given: then database NAME and the case in WORKDIR/case-postgresql stay for `plans`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ingest import _status_mb  # benchmarks/ingest.py: VmRSS / VmHWM in MB

os.environ.setdefault("PERISAI_PASSPHRASE", "scale benchmark passphrase")
os.environ.setdefault("PERISAI_INVESTIGATOR", "bench")
HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _child_ingest(export: str, case_dir: str, db: str | None, copy: bool) -> None:
    """Runs in a fresh process: open the case (not timed), ingest, print one JSON line."""
    import resource

    from perisai.case import Case
    from perisai.ingest.telegram_export import ingest
    from perisai.store import bulk

    bulk.USE_COPY = copy
    case = Case.open(Path(case_dir), db=db)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM restarts from here
        reset = True
    except OSError:
        reset = False
    t0, c0 = time.perf_counter(), time.process_time()
    summary = ingest(case, export)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status_mb("VmHWM") if reset else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    case.close()
    print(
        json.dumps(
            {"messages": summary["messages_new"], "seconds": seconds, "cpu": cpu, "peak": peak}
        )
    )


def _run_child(export: Path, case_dir: Path, db: str | None, copy: bool) -> dict[str, Any]:
    shutil.rmtree(case_dir, ignore_errors=True)
    cmd = [sys.executable, __file__, "_child", str(export), str(case_dir), db or "", str(copy)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed ({' '.join(cmd)}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _database(url: str, name: str, create: bool) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


def export_for(n: int, work: Path) -> Path:
    from perisai.synth import synth

    export = work / f"text-{n}"
    if not (export / "result.json").exists():
        t0 = time.perf_counter()
        synth(export, messages=n, photos=0, seed=9)
        print(f"synth: {n:,} messages in {time.perf_counter() - t0:.0f} s (not counted)")
    return export


def ingest_bench(args: argparse.Namespace) -> None:
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    export = export_for(args.messages, work)
    rows = []
    name = args.keep or f"perisai_scale_{os.getpid()}"
    target = _database(args.pg_url, name, create=True)
    try:
        rows.append(("PostgreSQL COPY", _run_child(export, work / "case-postgresql", target, True)))
        if args.peer_messages:
            peer = export if args.peer_messages >= args.messages else None
            peer = peer or export_for(args.peer_messages, work)
            scratch = _database(args.pg_url, name + "_insert", create=True)
            try:
                result = _run_child(peer, work / "case-pg-insert", scratch, False)
            finally:
                _database(args.pg_url, name + "_insert", create=False)
            rows.append(("PostgreSQL INSERT", result))
        if not args.no_sqlite:
            rows.append(("SQLite", _run_child(export, work / "case-sqlite", None, True)))
    finally:
        if not args.keep:
            _database(args.pg_url, name, create=False)
            shutil.rmtree(work / "case-postgresql", ignore_errors=True)
        shutil.rmtree(work / "case-sqlite", ignore_errors=True)
        shutil.rmtree(work / "case-pg-insert", ignore_errors=True)
    size = (export / "result.json").stat().st_size
    print(
        f"set-up: {os.cpu_count()} cores, Python {platform.python_version()}; export of "
        f"{args.messages:,} text messages by perisai synth ({size / 1e6:,.0f} MB); PostgreSQL "
        "on the same machine; each run in a fresh process, peak = VmHWM of the ingest alone"
    )
    print()
    print("| contender | messages | seconds | messages/s | CPU s | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, r in rows:
        rate = r["messages"] / r["seconds"]
        print(
            f"| {label} | {r['messages']:,} | {r['seconds']:.0f} | {rate:,.0f} | "
            f"{r['cpu']:.0f} | {r['peak']:.0f} |"
        )
    if args.keep:
        print(f"\nkept: database {name}, case {work / 'case-postgresql'}")


# -- reports and query plans on the kept case -------------------------------------------------

JOBS = ("atrisk", "victims", "offenders", "review", "police")


def _job(case: Any, name: str, out: Path) -> int:
    """Run one report or review listing; returns how many rows it produced."""
    if name == "atrisk":
        from perisai.analysis.atrisk import at_risk

        return len(at_risk(case))
    if name == "offenders":
        from perisai.analysis.offenders import profiles

        return len(profiles(case))
    if name == "review":
        from perisai.web.review import clusters

        return len(clusters(case))
    from perisai.reports import render

    paths = render(case, name, out / f"{name}.html")
    return sum(p.stat().st_size for p in paths)


def _child_report(case_dir: str, name: str, out: str, plans: str) -> None:
    """Runs in a fresh process: one job, its time, its peak memory and every SQL statement."""
    from sqlalchemy import event

    from perisai.case import Case

    case = Case.open(Path(case_dir))
    statements: dict[str, dict[str, Any]] = {}

    @event.listens_for(case.engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(case.engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        took = time.perf_counter() - conn.info.pop("t0", time.perf_counter())
        s = statements.setdefault(statement, {"calls": 0, "seconds": 0.0, "max": 0.0})
        s["calls"] += 1
        s["seconds"] += took
        if took >= s["max"]:
            s["max"], s["params"] = took, parameters

    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    produced = _job(case, name, Path(out))
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM")
    slow = sorted(statements.items(), key=lambda kv: -kv[1]["max"])[:3]
    explained = []
    if plans == "True":
        raw = case.engine.raw_connection()
        try:
            cur = raw.cursor()
            for sql, info in slow:
                if not sql.lstrip().upper().startswith("SELECT") or info["max"] < 0.05:
                    continue
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, info["params"])
                plan = [row[0] for row in cur.fetchall()]
                explained.append({"sql": sql, "seconds": info["max"], "plan": plan})
            raw.rollback()
        finally:
            raw.close()
    result = {
        "job": name,
        "seconds": seconds,
        "peak": peak,
        "produced": produced,
        "statements": sum(s["calls"] for s in statements.values()),
        "sql_seconds": sum(s["seconds"] for s in statements.values()),
        "slowest": [{"sql": q[:160], "max": i["max"], "calls": i["calls"]} for q, i in slow],
        "explained": explained,
    }
    print(json.dumps(result, default=str))


def _scans(plan: list[str]) -> str:
    """The plan's access paths in a few words: which tables are read how."""
    found = []
    for line in plan:
        text = line.strip().lstrip("-> ").strip()
        for kind in (
            "Seq Scan",
            "Parallel Seq Scan",
            "Index Only Scan",
            "Index Scan",
            "Bitmap Heap Scan",
        ):
            if text.startswith(kind + " "):
                rest = text[len(kind) :].split("  (")[0].strip()
                found.append(f"{kind} {rest}")
                break
    return "; ".join(dict.fromkeys(found)) or "-"


def report_bench(args: argparse.Namespace) -> None:
    case_dir = args.workdir / "case-postgresql"
    if not case_dir.exists():
        raise SystemExit(f"{case_dir} not found: run `ingest --keep NAME` (and triage) first")
    out = args.workdir / "reports"
    out.mkdir(exist_ok=True)
    results = []
    for name in args.jobs.split(","):
        cmd = [sys.executable, __file__, "_report", str(case_dir), name, str(out), "True"]
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(f"{name}: failed\n{run.stderr[-2000:]}")
            continue
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    print("| job | seconds | peak RSS MB | produced | SQL statements | SQL seconds |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['job']} | {r['seconds']:.1f} | {r['peak'] or 0:.0f} | {r['produced']:,} | "
            f"{r['statements']:,} | {r['sql_seconds']:.1f} |"
        )
    print()
    print("Slowest statements (EXPLAIN ANALYZE of the slowest call of each):")
    for r in results:
        for e in r["explained"]:
            first = " ".join(e["sql"].split())[:110]
            total = next((ln for ln in e["plan"] if ln.startswith("Execution Time")), "")
            print(f"- {r['job']}: {e['seconds']:.2f} s `{first}...`")
            print(f"  {_scans(e['plan'])}; {total}")
    (args.workdir / "plans.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\nfull plans: {args.workdir / 'plans.json'}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        export, case_dir, db, copy = argv[1:5]
        _child_ingest(export, case_dir, db or None, copy == "True")
        return
    if argv and argv[0] == "_report":
        _child_report(*argv[1:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="ingest N messages into PostgreSQL and SQLite")
    ing.add_argument("--messages", type=int, default=1_000_000)
    ing.add_argument("--peer-messages", type=int, default=200_000, help="0 to skip INSERT")
    ing.add_argument("--no-sqlite", action="store_true")
    rep = sub.add_parser("report", help="time reports and review listings, explain slow SQL")
    rep.add_argument("--jobs", default=",".join(JOBS), help=f"default: {','.join(JOBS)}")
    for p in (ing, rep):
        p.add_argument("--workdir", type=Path, default=Path("/tmp/perisai-scale-pg"))
        p.add_argument("--pg-url", default=DEFAULT_PG)
        p.add_argument("--keep", metavar="NAME", help="keep database NAME and the case")
    args = ap.parse_args(argv)
    if args.command == "ingest":
        ingest_bench(args)
    else:
        report_bench(args)


if __name__ == "__main__":
    main()
