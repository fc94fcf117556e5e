"""PDQ matching at scale: perisai.media.index.PDQIndex next to python-threatexchange's PDQIndex.

    .venv/bin/python benchmarks/matching.py            # 1,000,000 list hashes, 100,000 queries
    .venv/bin/python benchmarks/matching.py --quick    # 100,000 list hashes, 10,000 queries
    .venv/bin/python benchmarks/matching.py --list-size 2000000 --queries 50000 --te-queries 5000

Data: uniform random 256-bit list hashes; a share of the queries (``--planted``) are copies of
list hashes with 0 to 31 random bits flipped (uniform), the rest random. Threshold 31.
Each contender runs in a fresh subprocess with one faiss/OpenMP thread on the same data: build
time, batched query throughput, memory of the index as the RSS growth across the build (Linux
VmRSS, inputs already loaded), and the build's peak RSS growth (VmHWM). python-threatexchange's
public ``PDQIndex.query`` takes one hash per call; it is timed as is on ``--te-queries`` queries,
and its underlying batched faiss call on the same queries too. Exactness: every planted pair
found, and full result sets equal to numpy brute force on a sample of 500 queries. Then the
faiss options tried (exact multi-index hashing splits and approximate indexes) with recall on
the sample. python-threatexchange is a benchmark-only dependency (``pip install threatexchange``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

THRESHOLD = 31
SAMPLE = 500


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def to_hex(codes: np.ndarray) -> list[str]:
    h = codes.tobytes().hex()
    return [h[i : i + 64] for i in range(0, len(h), 64)]


def make_data(n: int, nq: int, planted: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, (nq, 32), dtype=np.uint8)
    n_planted = int(nq * planted)
    q_idx = rng.choice(nq, n_planted, replace=False)
    l_idx = rng.integers(0, n, n_planted)
    dists = rng.integers(0, THRESHOLD + 1, n_planted)
    bits = np.unpackbits(codes[l_idx], axis=1)
    for row, d in enumerate(dists):
        flip = rng.choice(256, int(d), replace=False)
        bits[row, flip] ^= 1
    queries[q_idx] = np.packbits(bits, axis=1)
    return {"codes": codes, "queries": queries, "q_idx": q_idx, "l_idx": l_idx, "dists": dists}


def brute(codes: np.ndarray, queries: np.ndarray) -> list[list[tuple[int, int]]]:
    from perisai.media.index import hamming  # numpy XOR + popcount over every list hash

    out = []
    for row in queries:
        d = hamming(codes, row)
        hit = np.flatnonzero(d <= THRESHOLD)
        out.append(sorted(((int(i), int(d[i])) for i in hit), key=lambda p: (p[1], p[0])))
    return out


# --------------------------------------------------------------------------- child processes


def child(kind: str, workdir: Path, te_queries: int) -> dict[str, Any]:
    import faiss

    faiss.omp_set_num_threads(1)
    data = np.load(workdir / "data.npz")
    list_hex = to_hex(data["codes"])
    q_hex = to_hex(data["queries"])
    sample = [int(i) for i in np.load(workdir / "sample.npy")]
    res: dict[str, Any] = {"kind": kind}
    base = rss_kb()
    reset_peak()
    t0 = time.perf_counter()
    if kind == "perisai":
        from perisai.media.index import PDQIndex

        ix = PDQIndex(list_hex, THRESHOLD)
        kept = sorted({t for t in ix.tables if t[1] >= 0}, reverse=True)
        res["split"] = ", ".join(f"{ix.tables.count(t)} x {t[0]} bits nflip {t[1]}" for t in kept)
        results: dict[int, list[tuple[int, int]]]
        res["build_s"] = time.perf_counter() - t0
        res["rss_mb"] = (rss_kb() - base) / 1024
        res["peak_mb"] = (rss_kb("VmHWM") - base) / 1024
        res["memory_bytes_estimate_mb"] = ix.memory_bytes / 1e6
        base = rss_kb()
        reset_peak()
        t0 = time.perf_counter()
        results = dict(enumerate(ix.query(q_hex)))
        res["qps"] = len(q_hex) / (time.perf_counter() - t0)
        res["query_peak_mb"] = (rss_kb("VmHWM") - base) / 1024
        res["n_timed"] = len(q_hex)
    else:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex as TEIndex

        te = TEIndex([(h, i) for i, h in enumerate(list_hex)])
        res["build_s"] = time.perf_counter() - t0
        res["rss_mb"] = (rss_kb() - base) / 1024
        res["peak_mb"] = (rss_kb("VmHWM") - base) / 1024
        sub = q_hex[:te_queries]
        base = rss_kb()
        reset_peak()
        t0 = time.perf_counter()
        single = [[(m.metadata, m.similarity_info.distance) for m in te.query(h)] for h in sub]
        res["qps"] = len(sub) / (time.perf_counter() - t0)
        res["query_peak_mb"] = (rss_kb("VmHWM") - base) / 1024
        t0 = time.perf_counter()
        batched = te.index.search_with_distance_in_result(sub, THRESHOLD)
        res["qps_batched"] = len(sub) / (time.perf_counter() - t0)
        res["n_timed"] = len(sub)
        del batched
        # exactness on the timed queries plus the brute-force sample (the rest would take
        # minutes at 10^6: its per-query cost is the same)
        by_q: dict[int, list[tuple[int, int]]] = dict(enumerate(single))
        extra = [i for i in sample if i not in by_q]
        if extra:
            more = te.index.search_with_distance_in_result([q_hex[i] for i in extra], THRESHOLD)
            for i in extra:
                by_q[i] = [(int(j), int(d)) for j, _, d in more[q_hex[i]]]
        results = {i: sorted(r, key=lambda p: (p[1], p[0])) for i, r in by_q.items()}
    covered = [(int(q), int(li)) for q, li in zip(data["q_idx"], data["l_idx"], strict=True)]
    covered = [(q, li) for q, li in covered if q in results]
    res["planted_found"] = sum(any(j == li for j, _ in results[q]) for q, li in covered)
    res["planted_total"] = len(covered)
    res["sample"] = [results[i] for i in sample]
    return res


def run_child(kind: str, workdir: Path, te_queries: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--workdir", str(workdir)]
    cmd += ["--te-queries", str(te_queries)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{kind} child failed:\n{proc.stderr}")
    out = proc.stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- faiss options


def options(
    data: dict[str, np.ndarray],
    sample: np.ndarray,
    truth: list[list[tuple[int, int]]],
    n_timed: int,
) -> list[tuple[str, str, float, float, float, float]]:
    import faiss

    faiss.omp_set_num_threads(1)
    codes, queries = data["codes"], data["queries"]
    timed = queries[:n_timed]
    sq = queries[sample]
    true_pairs = {(qi, j) for qi, r in enumerate(truth) for j, _ in r}
    rows: list[tuple[str, str, float, float, float, float]] = []

    def measure(name: str, kind: str, index: Any, build_s: float, search: Any) -> None:
        t0 = time.perf_counter()
        search(timed)
        qps = n_timed / (time.perf_counter() - t0)
        lims, _, ids = search(sq)
        got = {(qi, int(j)) for qi in range(len(sq)) for j in ids[lims[qi] : lims[qi + 1]]}
        recall = len(got & true_pairs) / max(1, len(true_pairs))
        mb = len(faiss.serialize_index_binary(index)) / 1e6
        rows.append((name, kind, build_s, qps, recall, mb))
        print(f"  {name}: {qps:,.0f} q/s, recall {recall:.4f}", file=sys.stderr, flush=True)

    def rs(index: Any) -> Any:
        return lambda q: index.range_search(q, THRESHOLD + 1)

    t0 = time.perf_counter()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(codes)
    measure("IndexBinaryFlat range_search", "exact", flat, time.perf_counter() - t0, rs(flat))
    del flat
    for nhash, nflip in ((8, 3), (11, 2), (16, 1), (32, 0), (16, 0), (8, 1)):
        b = 256 // nhash
        t0 = time.perf_counter()
        mih = faiss.IndexBinaryMultiHash(256, nhash, b)
        mih.add(codes)
        mih.nflip = nflip
        kind = "exact" if nflip >= THRESHOLD // nhash else "approx"
        name = f"IndexBinaryMultiHash {nhash}x{b} bits, nflip {nflip}"
        measure(name, kind, mih, time.perf_counter() - t0, rs(mih))
        del mih
    t0 = time.perf_counter()
    quant = faiss.IndexBinaryFlat(256)
    ivf = faiss.IndexBinaryIVF(quant, 256, 1024)
    ivf.train(codes[: min(len(codes), 100_000)])
    ivf.add(codes)
    build = time.perf_counter() - t0
    for nprobe in (16, 64, 256):
        ivf.nprobe = nprobe
        measure(f"IndexBinaryIVF nlist 1024, nprobe {nprobe}", "approx", ivf, build, rs(ivf))
    return rows


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--list-size", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="100,000 list hashes, 10,000 queries")
    ap.add_argument("--planted", type=float, default=0.2, help="share of near-duplicate queries")
    ap.add_argument(
        "--te-queries",
        type=int,
        default=10_000,
        help="queries timed through threatexchange's one-at-a-time API",
    )
    ap.add_argument(
        "--option-queries", type=int, default=10_000, help="queries timed per faiss option"
    )
    ap.add_argument("--no-options", action="store_true", help="skip the faiss options table")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--child", choices=["perisai", "threatexchange"], help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.workdir, args.te_queries)))
        return
    if args.quick:
        args.list_size, args.queries = 100_000, 10_000
    te_q = min(args.te_queries, args.queries)
    print(
        f"# PDQ matching: {args.list_size:,} list hashes, {args.queries:,} queries "
        f"({args.planted:.0%} planted at distance 0-31), threshold {THRESHOLD}, one thread"
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    import faiss

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}, faiss {faiss.__version__},"
        f" commit {commit}"
    )
    data = make_data(args.list_size, args.queries, args.planted, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    # the sample: half planted queries, half the rest
    planted = data["q_idx"]
    others = np.setdiff1d(np.arange(args.queries), planted)
    half = SAMPLE // 2
    sample = np.concatenate(
        [
            rng.choice(planted, min(half, len(planted)), replace=False),
            rng.choice(others, min(SAMPLE - half, len(others)), replace=False),
        ]
    )
    t0 = time.perf_counter()
    truth = brute(data["codes"], data["queries"][sample])
    print(
        f"# numpy brute force on the {len(sample)}-query sample: "
        f"{len(sample) / (time.perf_counter() - t0):,.1f} q/s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        np.savez(work / "data.npz", **data)  # type: ignore[arg-type]
        np.save(work / "sample.npy", sample)
        res = {k: run_child(k, work, te_q) for k in ("perisai", "threatexchange")}
    print()
    print(
        "| index | build s | queries/s | index RSS MB | build peak MB | query peak MB | "
        "planted found | sample = brute force |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for k, r in res.items():
        exact_sample = r["sample"] == [[list(p) for p in t] for t in truth]
        qps = f"{r['qps']:,.0f} ({r['n_timed']:,} q)"
        if k == "threatexchange":
            qps += f"; batched inner call {r['qps_batched']:,.0f}"
        name = (
            f"perisai PDQIndex (numpy MIH: {r['split']})"
            if k == "perisai"
            else ("threatexchange PDQIndex (one hash per query() call)")
        )
        print(
            f"| {name} | {r['build_s']:.2f} | {qps} | {r['rss_mb']:.0f} | {r['peak_mb']:.0f} | "
            f"{r['query_peak_mb']:.0f} | "
            f"{r['planted_found']:,}/{r['planted_total']:,} | {exact_sample} |"
        )
    p, te = res["perisai"], res["threatexchange"]
    print(f"\nperisai memory_bytes estimate: {p['memory_bytes_estimate_mb']:.0f} MB")
    if not args.no_options:
        print(
            f"\n## faiss options ({args.option_queries:,} queries timed, recall on the sample)\n",
            flush=True,
        )
        rows = options(data, sample, truth, min(args.option_queries, args.queries))
        print("| option | exact? | build s | queries/s | recall | serialized MB |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, kind, b, qps_, rec, mb in rows:
            print(f"| {name} | {kind} | {b:.2f} | {qps_:,.0f} | {rec:.4f} | {mb:.0f} |")
    exact = p["planted_found"] == p["planted_total"] and p["sample"] == [
        [list(x) for x in t] for t in truth
    ]
    fast = p["qps"] >= te["qps"]
    fast_b = p["qps"] >= te["qps_batched"]
    small = p["rss_mb"] <= te["rss_mb"] / 2
    verdict = {True: "MET", False: "NOT MET"}
    print(
        f"\nTARGETS: exact {verdict[exact]}; throughput >= threatexchange {verdict[fast]} "
        f"({p['qps']:,.0f} vs {te['qps']:,.0f} q/s; vs its batched inner call "
        f"{verdict[fast_b]}, {te['qps_batched']:,.0f}); memory <= half {verdict[small]} "
        f"({p['rss_mb']:.0f} vs {te['rss_mb']:.0f} MB)"
    )


if __name__ == "__main__":
    main()
