"""Load check (a benchmark, not a unit test): N concurrent reviewers on PostgreSQL.

    python -m perisai.web.loadcheck [--reviewers 20] [--seconds 60]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Creates a throw-away database and a synthetic case in it, starts `perisai serve`'s app with
uvicorn on 127.0.0.1, logs in N investigator accounts and has each one work the queue (queue
page, a cluster page, its blurred preview or a video's keyframe strip, now and then a reveal
and its image) for the given time. Prints one JSON line: requests, errors, p50/p95/max page
time in ms. Drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

PASSWORD = "load-check-password"  # noqa: S105 - throw-away accounts


def _pg_database(admin_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text

    name = f"perisai_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, (admin, name)


def _drop(handle: Any) -> None:
    from sqlalchemy import text

    admin, name = handle
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reviewer(
    base: str,
    name: str,
    start: Any,
    clock: dict[str, float],
    out: list[Any],
    shas: list[tuple[str, str]],
) -> None:
    import httpx

    rng = random.Random(name)

    def cookie(r: Any, name: str) -> str:
        # The cookies are Secure; httpx keeps them off plain http, so they go in by hand.
        for value in r.headers.get_list("set-cookie"):
            if value.startswith(name + "="):
                return str(value.split(";", 1)[0])
        raise RuntimeError(f"no {name} cookie: {r.status_code}")

    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', r.text)
        assert token
        r = c.post(
            "/login",
            data={"name": name, "password": PASSWORD, "csrf": token.group(1)},
            headers={"Cookie": cookie(r, "__Host-perisai-login")},
        )
        c.headers["Cookie"] = cookie(r, "__Host-perisai")
        csrf_match = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text)
        assert csrf_match, "login failed"
        csrf = csrf_match.group(1)
        start.wait()  # everybody logged in (Argon2 is slow on purpose): the clock starts now
        until = clock["until"]
        while time.monotonic() < until:
            sha, image = rng.choice(shas)
            steps: list[tuple[str, str]] = [
                ("GET", "/review"),
                ("GET", f"/review/{sha}"),
                ("GET", f"/media/{sha}/{image}"),
            ]
            if rng.random() < 0.1:
                steps.append(("POST", f"/review/{sha}/reveal"))
            for method, url in steps:
                t0 = time.perf_counter()
                try:
                    r = c.get(url) if method == "GET" else c.post(url, data={"csrf": csrf})
                    ok = r.status_code < 500 and not (
                        method == "GET" and r.status_code >= 400 and "/media/" not in url
                    )
                except Exception:  # noqa: BLE001 - counted as an error
                    ok = False
                out.append((url.split("/")[1], time.perf_counter() - t0, ok))


def run(reviewers: int, seconds: float, pg: str) -> dict[str, Any]:
    from ..case import Case
    from ..ingest.telegram_export import ingest
    from ..pipeline import triage
    from ..synth import synth
    from ..users import add_user, set_budget
    from .review import clusters

    os.environ.setdefault("PERISAI_PASSPHRASE", "load-check-passphrase")
    url, handle = _pg_database(pg)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            synth(root / "export", messages=2000, photos=60, videos=6, seed=11)
            case = Case.open(root / "case", db=url)
            ingest(case, root / "export")
            triage(case, workers=1, only="hash,group,match,preview,text,dox")
            for i in range(reviewers):
                add_user(case, f"rev{i:02d}", "investigator", PASSWORD, who="loadcheck")
            set_budget(case, reveals=10_000, minutes=10_000, who="loadcheck")
            shas = [
                (c["sha256"], "preview.jpg" if c["has_preview"] else "keyframes.jpg")
                for c in clusters(case)
                if c["has_preview"] or c["keyframes"]
            ]
            case.close()
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            # The real command, in its own process (no GIL shared with the clients).
            server = subprocess.Popen(
                [sys.executable, "-m", "perisai.cli", "serve", str(root / "case")]
                + ["--port", str(port), "--db", url],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(600):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            results: list[Any] = []
            clock: dict[str, float] = {}
            start = threading.Barrier(
                reviewers + 1, action=lambda: clock.update(until=time.monotonic() + seconds)
            )
            base = f"http://127.0.0.1:{port}"
            workers = [
                threading.Thread(
                    target=_reviewer,
                    args=(base, f"rev{i:02d}", start, clock, results, shas),
                )
                for i in range(reviewers)
            ]
            for w in workers:
                w.start()
            start.wait(timeout=600)
            for w in workers:
                w.join()
            server.terminate()
            server.wait(timeout=30)
    finally:
        _drop(handle)
    times = sorted(t for _, t, _ in results)
    if len(times) < 2:
        raise SystemExit(f"load check: only {len(times)} requests made")
    q = statistics.quantiles(times, n=100)
    return {
        "reviewers": reviewers,
        "seconds": seconds,
        "clusters": len(shas),
        "requests": len(results),
        "errors": sum(1 for *_, ok in results if not ok),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1) if times else None,
        "requests_per_s": round(len(results) / seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "PERISAI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = ap.parse_args()
    print(json.dumps(run(args.reviewers, args.seconds, args.pg)))


if __name__ == "__main__":
    main()
