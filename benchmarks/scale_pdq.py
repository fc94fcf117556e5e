"""PDQ matching at 10 million hashes: 1,000,000 queries against a 10,000,000-hash list, exact.

    nice -n 10 .venv/bin/python benchmarks/scale_pdq.py                     # full size
    .venv/bin/python benchmarks/scale_pdq.py --list 1000000 --queries 100000  # a minute or two

Claim: perisai's PDQIndex (numpy multi-index hashing, split chosen by list size) answers every
query against a 10^7-hash list with no missed match within distance 31, on one core, faster
than faiss's IndexBinaryMultiHash with the same split or with threatexchange's 16 x 16 split.

Data (numpy, seeded): uniform random 256-bit list codes; `--planted` of the queries (1%) are
copies of random list entries with 0..31 random bits flipped (uniform), the rest random.
Every contender runs in a fresh subprocess on the same data with one thread: build time, the
index's memory as RSS growth across the build (Linux VmRSS, inputs already loaded), the
process's peak RSS (VmHWM) during the build and during the queries, and query time (CPU time of
the process, one thread, so the numbers hold on a shared machine; wall time too) in batches of
`--batch` through the public API (perisai: `PDQIndex.query`, which returns Python lists;
faiss: `range_search`; threatexchange: `PDQIndex.query`, one hash per call), planted matches
found, and the answers to a sample of `--sample` queries (half planted) compared with an
exhaustive scan (faiss IndexBinaryFlat over every list hash). perisai answers every query; the
peers, much slower per query at 10^7, only the first `--peer-queries` (1% by default, with the
same share planted), and are checked on the sample queries among those. A peer that fails
(e.g. out of memory) is reported as such.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from matching import reset_peak, rss_kb, to_hex  # noqa: E402  (benchmarks/matching.py)

THRESHOLD = 31
CONTENDERS = ("perisai", "perisai-16x16", "faiss-same-split", "faiss-16x16", "threatexchange")


def make_data(n: int, nq: int, planted: float, seed: int) -> dict[str, np.ndarray]:
    """Random list codes and queries; a share of the queries planted near list entries."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, (nq, 32), dtype=np.uint8)
    n_planted = int(nq * planted)
    q_idx = np.sort(rng.choice(nq, n_planted, replace=False))
    l_idx = rng.integers(0, n, n_planted)
    dists = rng.integers(0, THRESHOLD + 1, n_planted)
    # flip the first `d` of a random permutation of the 256 bit positions, per planted query
    order = np.argsort(rng.random((n_planted, 256)), axis=1)
    flip = np.zeros((n_planted, 256), dtype=np.uint8)
    rows = np.repeat(np.arange(n_planted), dists)
    firsts = np.arange(len(rows)) - np.repeat(np.cumsum(dists) - dists, dists)  # 0..d-1 per row
    flip[rows, order[rows, firsts]] = 1
    queries[q_idx] = codes[l_idx] ^ np.packbits(flip, axis=1)
    return {"codes": codes, "queries": queries, "q_idx": q_idx, "l_idx": l_idx, "dists": dists}


def exhaustive(codes: np.ndarray, queries: np.ndarray) -> list[list[list[int]]]:
    """Every (position, distance) within THRESHOLD by scanning the whole list (faiss flat)."""
    try:
        import faiss
    except ImportError:  # numpy brute force, much slower
        from perisai.media.index import brute_force

        return [[list(p) for p in r] for r in brute_force(codes, queries, THRESHOLD)]
    faiss.omp_set_num_threads(1)
    flat = faiss.IndexBinaryFlat(256)
    flat.add(codes)
    out = []
    for s in range(0, len(queries), 1000):
        lims, dist, ids = flat.range_search(queries[s : s + 1000], THRESHOLD + 1)
        for i in range(len(lims) - 1):
            a, b = lims[i], lims[i + 1]
            out.append(sorted([int(j), int(d)] for j, d in zip(ids[a:b], dist[a:b], strict=True)))
    return [sorted(r, key=lambda p: (p[1], p[0])) for r in out]


# --------------------------------------------------------------------------- child processes


def child(kind: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    codes = np.load(work / "codes.npy")
    queries = np.load(work / "queries.npy")
    planted = np.load(work / "planted.npz")
    sample = np.load(work / "sample.npy")
    n_timed = len(queries) if kind == "perisai" else min(args.peer_queries, len(queries))
    res: dict[str, Any] = {"kind": kind, "n_timed": n_timed}
    want = dict(zip(planted["q_idx"].tolist(), planted["l_idx"].tolist(), strict=True))
    want = {q: li for q, li in want.items() if q < n_timed}
    found = 0
    pairs = 0
    if kind == "threatexchange":
        list_hex = to_hex(codes)
        q_hex = to_hex(queries[:n_timed])
        del codes
    base = rss_kb()
    reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    if kind.startswith("perisai"):
        from perisai.media.index import PDQIndex

        ix = PDQIndex(codes, THRESHOLD, nhash=16 if kind == "perisai-16x16" else None)
        res["split"] = _describe(ix.tables)
        search: Any = ix.query
    elif kind.startswith("faiss"):
        import faiss

        from perisai.media.index import choose_nhash

        faiss.omp_set_num_threads(1)
        nhash = 16 if kind == "faiss-16x16" else choose_nhash(len(codes), THRESHOLD)
        bits = 256 // nhash
        fx = faiss.IndexBinaryMultiHash(256, nhash, bits)
        fx.add(codes)
        fx.nflip = THRESHOLD // nhash  # pigeonhole: exact (bits left out only lower distances)
        res["split"] = f"{nhash} x {bits} bits, nflip {fx.nflip}"

        def faiss_search(q: np.ndarray) -> list[list[tuple[int, int]]]:
            lims, dist, ids = fx.range_search(q, THRESHOLD + 1)
            out = []
            for i in range(len(q)):
                a, b = lims[i], lims[i + 1]
                hit = zip(ids[a:b].tolist(), dist[a:b].tolist(), strict=True)
                out.append(sorted(hit, key=_by_dist))
            return out

        search = faiss_search
    else:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex as TEIndex

        te = TEIndex([(h, i) for i, h in enumerate(list_hex)])
        del list_hex
        res["split"] = "16 x 16 bits, nflip 1 (faiss IndexBinaryMultiHash in IDMap2)"
    res["build_s"] = time.perf_counter() - t0
    res["build_cpu_s"] = time.process_time() - c0
    res["index_mb"] = (rss_kb() - base) / 1024
    res["build_peak_mb"] = rss_kb("VmHWM") / 1024
    reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    in_sample = {int(q): pos for pos, q in enumerate(sample) if q < n_timed}
    got: dict[int, list[list[int]]] = {}
    if kind == "threatexchange":
        for qi, h in enumerate(q_hex):
            hits = [(m.metadata, m.similarity_info.distance) for m in te.query(h)]
            pairs += len(hits)
            if qi in want:
                found += any(j == want[qi] for j, _ in hits)
            if qi in in_sample:
                got[in_sample[qi]] = [list(p) for p in sorted(hits, key=_by_dist)]
    else:
        for s in range(0, n_timed, args.batch):
            for qi, hits in enumerate(search(queries[s : min(s + args.batch, n_timed)]), s):
                pairs += len(hits)
                if qi in want:
                    found += any(j == want[qi] for j, _ in hits)
                if qi in in_sample:
                    got[in_sample[qi]] = [list(p) for p in sorted(hits, key=_by_dist)]
    res["query_s"] = time.perf_counter() - t0
    res["query_cpu_s"] = time.process_time() - c0
    res["qps"] = n_timed / res["query_cpu_s"]
    res["qps_wall"] = n_timed / res["query_s"]
    res["query_peak_mb"] = rss_kb("VmHWM") / 1024
    res["planted_found"], res["planted_total"], res["pairs"] = found, len(want), pairs
    res["sample"] = sorted(got.items())  # (position in the sample, answer) for timed queries
    return res


def _by_dist(p: tuple[int, int]) -> tuple[int, int]:
    return p[1], p[0]


def _describe(tables: tuple[tuple[int, int], ...]) -> str:
    kept = [(b, f) for b, f in tables if f >= 0]
    parts = [f"{sum(1 for t in kept if t == k)} x ({k[0]} bits, nflip {k[1]})" for k in set(kept)]
    return " + ".join(sorted(parts, reverse=True))


def run_child(kind: str, work: Path, argv: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--workdir", str(work), *argv]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        print(f"# {kind} failed: {tail[0]}", file=sys.stderr, flush=True)
        return {"kind": kind, "failed": tail[0]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--list", type=int, default=10_000_000, help="list hashes")
    ap.add_argument("--queries", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--planted", type=float, default=0.01, help="share of near-duplicate queries")
    ap.add_argument("--sample", type=int, default=10_000, help="queries checked by full scan")
    ap.add_argument("--batch", type=int, default=10_000, help="queries per query() call")
    ap.add_argument(
        "--peer-queries", type=int, help="queries timed per peer (default: 1%% of --queries)"
    )
    ap.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="comma-separated: " + ", ".join(CONTENDERS),
    )
    ap.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.workdir, args)))
        return
    if args.peer_queries is None:
        args.peer_queries = max(1, args.queries // 100)
    kinds = [k for k in args.contenders.split(",") if k]
    if unknown := set(kinds) - set(CONTENDERS):
        sys.exit(f"unknown contenders: {', '.join(sorted(unknown))}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"# PDQ matching: {args.list:,} list hashes, {args.queries:,} queries "
        f"({args.planted:.0%} planted at distance 0-31), threshold {THRESHOLD}, one thread, "
        f"seed {args.seed}"
    )
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}, commit {commit}",
        flush=True,
    )
    t0 = time.perf_counter()
    data = make_data(args.list, args.queries, args.planted, args.seed)
    print(f"# data generated in {time.perf_counter() - t0:.0f} s", flush=True)
    rng = np.random.default_rng(args.seed + 1)
    planted_q = data["q_idx"]
    others = np.setdiff1d(np.arange(args.queries), planted_q)
    half = min(args.sample // 2, len(planted_q))
    sample = np.sort(
        np.concatenate(
            [
                rng.choice(planted_q, half, replace=False),
                rng.choice(others, min(args.sample - half, len(others)), replace=False),
            ]
        )
    )
    t0 = time.perf_counter()
    truth = exhaustive(data["codes"], data["queries"][sample])
    print(
        f"# exhaustive scan of the {len(sample):,}-query sample: {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    passthrough = ["--peer-queries", str(args.peer_queries), "--batch", str(args.batch)]
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        np.save(work / "codes.npy", data["codes"])
        np.save(work / "queries.npy", data["queries"])
        np.savez(work / "planted.npz", q_idx=data["q_idx"], l_idx=data["l_idx"])
        np.save(work / "sample.npy", sample)
        del data
        for kind in kinds:
            t0 = time.perf_counter()
            res[kind] = run_child(kind, work, passthrough)
            print(f"# {kind} done in {time.perf_counter() - t0:.0f} s", flush=True)
    print()
    print(
        "| index | split | queries timed | build CPU s | index MB | peak RSS MB (build / "
        "query) | queries/s per core (wall) | planted found | sample = full scan |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    names = {
        "perisai": "perisai PDQIndex (numpy MIH, split by list size)",
        "perisai-16x16": "perisai PDQIndex forced to 16 x 16 bits (the previous default)",
        "faiss-same-split": "faiss IndexBinaryMultiHash, range_search (same split)",
        "faiss-16x16": "faiss IndexBinaryMultiHash, range_search (threatexchange's split)",
        "threatexchange": "threatexchange PDQIndex.query (one hash per call)",
    }
    for kind, r in res.items():
        if "failed" in r:
            print(f"| {names[kind]} | - | - | failed: {r['failed']} ||||||")
            continue
        checked = [(truth[pos], ans) for pos, ans in r["sample"]]
        same = all(t == a for t, a in checked)
        print(
            f"| {names[kind]} | {r['split']} | {r['n_timed']:,} | "
            f"{r['build_cpu_s']:.1f} | {r['index_mb']:,.0f} | {r['build_peak_mb']:,.0f} / "
            f"{r['query_peak_mb']:,.0f} | {r['qps']:,.0f} ({r['qps_wall']:,.0f}) | "
            f"{r['planted_found']:,}/{r['planted_total']:,} | {same} ({len(checked):,} q) |"
        )
    p = res.get("perisai", {})
    if "qps" in p:
        exact = p["planted_found"] == p["planted_total"] and [a for _, a in p["sample"]] == truth
        print(
            f"\nperisai: {args.queries:,} queries in {p['query_cpu_s']:.0f} s of CPU "
            f"({p['query_s']:.0f} s wall), {p['qps']:,.0f} q/s per core; build "
            f"{p['build_cpu_s']:.0f} s CPU ({p['build_s']:.0f} s wall); exact: {exact}"
        )
        for kind, r in res.items():
            if kind != "perisai" and "qps" in r:
                print(f"  {p['qps'] / r['qps']:.1f}x the CPU throughput of {names[kind]}")


if __name__ == "__main__":
    main()
