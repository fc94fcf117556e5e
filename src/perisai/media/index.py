"""Exact Hamming-radius index over PDQ hashes (256 bits, 64 hex characters).

`PDQIndex` answers "which list hashes lie within `threshold` bits of this query?" with no misses,
by multi-index hashing: the 256 bits are cut into 16 substrings of 16 bits, each with its own
table, and a query probes in every table all keys within nflip = threshold // 16 bits of its own
substring. By the pigeonhole principle a pair within distance r has at least one substring within
floor(r / 16) bits, so the candidates include every true match; each candidate's full distance
is then checked. The default backend is plain numpy (faster and three times smaller than faiss's
`IndexBinaryMultiHash` with the same split, see benchmarks/matching.py); faiss is optional.

Ids are positions in the `hashes` list given to the constructor.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np

faiss: Any
try:  # faiss-cpu is optional: only backend="faiss" needs it
    faiss = importlib.import_module("faiss")
except ImportError:  # pragma: no cover - exercised where faiss is absent
    faiss = None

PDQ_BITS = 256
PDQ_BYTES = PDQ_BITS // 8
PDQ_HEX = PDQ_BITS // 4
DEFAULT_THRESHOLD = 31
# 16 hash tables of 16 bits: nflip = 31 // 16 = 1 -> 17 probes per table. Fastest exact split
# measured at 10^5..10^6 hashes and threshold 31 (benchmarks/matching.py).
NHASH = 16
KEYS = 1 << (PDQ_BITS // NHASH)
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_BRUTE_CHUNK = 1 << 16  # list rows per numpy brute-force block
_BITWISE_COUNT = getattr(np, "bitwise_count", None)  # numpy >= 2.0


def _bitcount64(x: np.ndarray) -> np.ndarray:
    """Bits set per element of a uint64 array, as uint16 (so four of them add without overflow)."""
    if _BITWISE_COUNT is not None:
        return np.asarray(_BITWISE_COUNT(x), dtype=np.uint16)
    b = x.view(np.uint8).reshape(*x.shape, 8)
    return _POPCOUNT[b].sum(axis=-1, dtype=np.uint16)


def popcount_rows(x: np.ndarray) -> np.ndarray:
    """Bits set per row of a C-contiguous (n, 32) uint8 array (e.g. XORed codes)."""
    if _BITWISE_COUNT is not None:
        return np.asarray(_BITWISE_COUNT(x.view(np.uint64))).sum(axis=1, dtype=np.int32)
    return _POPCOUNT[x].sum(axis=1, dtype=np.int32)


def hamming(block: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Hamming distances from one (32,) uint8 code to every row of an (n, 32) uint8 block."""
    return popcount_rows(np.bitwise_xor(block, row))


def parse_hashes(hashes: Sequence[str]) -> np.ndarray:
    """Hex PDQ hashes -> (n, 32) uint8 array. Raises ValueError naming the first bad hash."""
    n = len(hashes)
    if n == 0:
        return np.zeros((0, PDQ_BYTES), dtype=np.uint8)
    for i, h in enumerate(hashes):
        if not isinstance(h, str) or len(h) != PDQ_HEX:
            raise ValueError(f"hash {i}: expected {PDQ_HEX} hex characters, got {h!r}")
    try:
        raw = bytes.fromhex("".join(hashes))
    except ValueError:
        raw = b""
    if len(raw) != n * PDQ_BYTES:  # a non-hex character, or whitespace fromhex skipped
        for i, h in enumerate(hashes):
            try:
                ok = len(bytes.fromhex(h)) == PDQ_BYTES
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"hash {i}: not a {PDQ_HEX}-character hex string: {h!r}")
        raise ValueError("invalid hex in PDQ hashes")  # pragma: no cover - unreachable
    return np.frombuffer(raw, dtype=np.uint8).reshape(n, PDQ_BYTES)


def _flip_masks(bits: int, nflip: int) -> np.ndarray:
    """Every `bits`-bit mask with at most `nflip` bits set (the probes around one key)."""
    masks = [0]
    for k in range(1, nflip + 1):
        masks.extend(sum(1 << i for i in c) for c in combinations(range(bits), k))
    return np.array(masks, dtype=np.uint16)


class PDQIndex:
    """Exact radius search over a fixed list of PDQ hashes, built once.

    `query` returns, per query, every `(list position, distance)` with distance <= threshold,
    sorted by distance then position. `query_min` returns only the best one, or None.

    Backends (`backend=`):
    - "mih" (default): multi-index hashing in numpy. 16 tables, one per 16-bit substring, each a
      sorted permutation (int32 per hash) plus 65,537 bucket offsets; a query probes
      every key within nflip = threshold // 16 bits of its substring in every table (17 probes
      per table at threshold 31), then checks the full distance of each candidate. Exact by the
      pigeonhole bound. 96 bytes per hash (codes 32 + tables 64) plus 8 MB of offsets.
    - "faiss": the same search by `faiss.IndexBinaryMultiHash` (16 x 16 bits, nflip likewise);
      needs faiss-cpu, measured slower and about three times larger.
    - "brute": numpy XOR + popcount over every list hash; no extra memory. Used automatically
      when threshold >= 64, where multi-index hashing would probe most buckets anyway.
    """

    def __init__(
        self,
        hashes: Sequence[str],
        threshold: int = DEFAULT_THRESHOLD,
        *,
        backend: str = "mih",
        batch_candidates: int = 100_000,
    ) -> None:
        if not 0 <= threshold < PDQ_BITS:
            raise ValueError(f"threshold must be 0..{PDQ_BITS - 1}, got {threshold}")
        if backend not in ("mih", "faiss", "brute"):
            raise ValueError(f"unknown backend {backend!r}: use 'mih', 'faiss' or 'brute'")
        if backend == "faiss" and faiss is None:
            raise RuntimeError("faiss is not installed (pip install faiss-cpu)")
        if backend == "mih" and threshold // NHASH > 3:
            backend = "brute"
        self.threshold = threshold
        self.backend = backend
        self.batch_candidates = batch_candidates
        codes = parse_hashes(hashes)
        self._n = len(codes)
        self.codes = np.ascontiguousarray(codes)
        self._faiss: Any = None
        self._perm = np.zeros(0, dtype=np.int32)
        self._offsets = np.zeros(0, dtype=np.int64)
        self._masks = _flip_masks(PDQ_BITS // NHASH, threshold // NHASH)
        if backend == "faiss":
            index = faiss.IndexBinaryMultiHash(PDQ_BITS, NHASH, PDQ_BITS // NHASH)
            if self._n:
                index.add(self.codes)
            index.nflip = threshold // NHASH  # pigeonhole: exact
            self._faiss = index
            self.codes = np.zeros((0, PDQ_BYTES), dtype=np.uint8)  # faiss holds its own copy
        elif backend == "mih":
            if self._n >= 2**31:
                raise ValueError("at most 2**31 - 1 hashes per index")
            subs = self.codes.view(np.uint16)  # (n, 16): substring t is bytes 2t, 2t + 1
            # table t: positions sorted by substring t, at [t * n, (t + 1) * n) of one flat
            # permutation; bucket k of table t spans offsets[t * (KEYS + 1) + k] to the next
            self._perm = np.empty(NHASH * self._n, dtype=np.int32)
            self._offsets = np.zeros(NHASH * (KEYS + 1), dtype=np.int64)
            for t in range(NHASH):
                col = subs[:, t]
                self._perm[t * self._n : (t + 1) * self._n] = np.argsort(col, kind="stable")
                o = self._offsets[t * (KEYS + 1) : (t + 1) * (KEYS + 1)]
                o[0] = t * self._n
                np.cumsum(np.bincount(col, minlength=KEYS), out=o[1:])
                o[1:] += t * self._n

    def __len__(self) -> int:
        return self._n

    @property
    def memory_bytes(self) -> int:
        """Bytes the index holds: exact for "mih" and "brute"; for "faiss" an estimate
        (std::unordered_map nodes about 72 bytes per key and table, ids with vector growth slack;
        within about 1% of the RSS growth measured at 10^6 random hashes)."""
        if self._faiss is None:
            return int(self.codes.nbytes + self._perm.nbytes + self._offsets.nbytes)
        if self._n == 0:
            return 0
        keys = KEYS * -np.expm1(-self._n / KEYS)  # expected distinct keys, random codes
        return int(self._n * PDQ_BYTES + NHASH * (self._n * 8 * 2 + keys * 72))

    def _range(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR-style results: (limits[len(q) + 1], distances, ids), unsorted within a query."""
        if self._n == 0 or len(q) == 0:
            return np.zeros(len(q) + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64)
        if self._faiss is not None:
            lims, dist, ids = self._faiss.range_search(q, self.threshold + 1)  # strict "<"
            return lims, dist, ids
        if self.backend == "mih":
            return self._mih_range(q)
        return self._brute_range(q)

    def _mih_range(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        per_query = NHASH * len(self._masks) * (self._n / KEYS + 1)  # expected probes + hits
        step = max(1, int(self.batch_candidates // per_query))
        lims: list[np.ndarray] = [np.zeros(1, np.int64)]
        dists: list[np.ndarray] = []
        ids_out: list[np.ndarray] = []
        done = 0
        table_base = (np.arange(NHASH, dtype=np.int64) * (KEYS + 1))[None, :, None]
        codes64 = self.codes.view(np.uint64)  # (n, 4)
        for s in range(0, len(q), step):
            qq = np.ascontiguousarray(q[s : s + step])
            nb = len(qq)
            # bucket of every probe (query, table, flip mask) in the flat offset array
            keys = (qq.view(np.uint16)[:, :, None] ^ self._masks[None, None, :]) + table_base
            starts = self._offsets[keys].ravel()
            lens = self._offsets[keys + 1].ravel() - starts
            ends = np.cumsum(lens)
            # expand every bucket range into positions in the flat permutation
            pos = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(starts - ends + lens, lens)
            cand = self._perm[pos]
            per_q = ends.reshape(nb, -1)[:, -1]
            qidx = np.repeat(np.arange(nb), np.diff(per_q, prepend=0))
            bits = _bitcount64(codes64.take(cand, axis=0) ^ qq.view(np.uint64).take(qidx, axis=0))
            d = bits[:, 0] + bits[:, 1] + bits[:, 2] + bits[:, 3]
            hit = d <= self.threshold
            hq, hi, hd = qidx[hit], cand[hit].astype(np.int64), d[hit].astype(np.int32)
            # a hash found through several tables counts once
            _, first = np.unique(hq.astype(np.int64) * self._n + hi, return_index=True)
            hq, hi, hd = hq[first], hi[first], hd[first]
            counts = np.bincount(hq, minlength=nb)
            lims.append(done + np.cumsum(counts))
            done += int(counts.sum())
            dists.append(hd)
            ids_out.append(hi)
        return np.concatenate(lims), np.concatenate(dists), np.concatenate(ids_out)

    def _brute_range(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        per_query: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(len(q))]
        for start in range(0, len(self.codes), _BRUTE_CHUNK):
            block = self.codes[start : start + _BRUTE_CHUNK]
            for qi, row in enumerate(q):
                d = popcount_rows(block ^ row)
                hit = np.flatnonzero(d <= self.threshold)
                if len(hit):
                    per_query[qi].append((hit + start, d[hit]))
        counts = [sum(len(h) for h, _ in parts) for parts in per_query]
        lims = np.zeros(len(q) + 1, dtype=np.int64)
        np.cumsum(counts, out=lims[1:])
        ids = [h for parts in per_query for h, _ in parts]
        dist = [d for parts in per_query for _, d in parts]
        return (
            lims,
            np.concatenate(dist) if dist else np.zeros(0, np.int32),
            np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64),
        )

    def query(self, queries: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Per query: every (list position, distance) within threshold, nearest first."""
        lims, dist, ids = self._range(parse_hashes(queries))
        out: list[list[tuple[int, int]]] = []
        dist_l: list[int] = dist.tolist()
        ids_l: list[int] = ids.tolist()
        for i in range(len(lims) - 1):
            a, b = int(lims[i]), int(lims[i + 1])
            out.append(sorted(zip(ids_l[a:b], dist_l[a:b], strict=True), key=_by_distance))
        return out

    def query_min(self, queries: Sequence[str]) -> list[tuple[int, int] | None]:
        """Per query: the nearest (list position, distance) within threshold, or None."""
        lims, dist, ids = self._range(parse_hashes(queries))
        out: list[tuple[int, int] | None] = []
        for i in range(len(lims) - 1):
            a, b = int(lims[i]), int(lims[i + 1])
            if a == b:
                out.append(None)
                continue
            # lexsort: by distance, then by position, so ties resolve to the first list entry
            j = a + int(np.lexsort((ids[a:b], dist[a:b]))[0])
            out.append((int(ids[j]), int(dist[j])))
        return out


def _by_distance(pair: tuple[int, int]) -> tuple[int, int]:
    return pair[1], pair[0]


def brute_force(
    hashes: Sequence[str], queries: Sequence[str], threshold: int = DEFAULT_THRESHOLD
) -> list[list[tuple[int, int]]]:
    """Reference answer by numpy brute force (same output as `PDQIndex.query`)."""
    return PDQIndex(hashes, threshold, backend="brute").query(queries)
