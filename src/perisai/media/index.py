"""Exact Hamming-radius index over PDQ hashes (256 bits, 64 hex characters).

`PDQIndex` answers "which list hashes lie within `threshold` bits of this query?" with no misses,
by multi-index hashing: the 256 bits are cut into m consecutive substrings (lengths may differ by
one bit), each with its own table, and a query probes in table t all keys within nflip_t bits of
its own substring. If sum(nflip_t + 1) > threshold, a pair within the threshold has at least one
substring within nflip_t bits (pigeonhole), so the candidates include every true match; each
candidate's full distance is then checked. nflip_t is threshold // m, one less in as many tables
as the sum allows to spare (`plan_tables`).

The number of substrings follows the list size (`choose_nhash`: least modelled work per query,
bucket probes plus expected candidates): at threshold 31, 16 of 16 bits (nflip 1) up to a few
10^5 hashes, 13 of 19-20 bits around 10^6, 11 of 23-24 bits (nflip 2, one table 1) at 10^7,
where 16-bit buckets would hold 150 hashes each and a query would check 41,000 candidates
instead of 2,900 (benchmarks/scale_pdq.py, docs/scale.md). The default backend is plain numpy
(faster and smaller than faiss's `IndexBinaryMultiHash`, see the same benchmark and
benchmarks/matching.py); faiss is optional.

Ids are positions in the `hashes` given to the constructor: hex strings, or an (n, 32) uint8
array of codes (no per-hash Python objects, for lists of millions).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from itertools import combinations
from math import comb
from typing import Any, TypeAlias

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
# Substring counts `choose_nhash` considers: 10 (26 bits) to 32 (8 bits). Beyond 26-bit substrings
# the dense bucket offsets (2**bits per table) outgrow any list this index is meant for.
NHASH_RANGE = range(10, 33)
MAX_SUBSTRING_BITS = 26
# Relative costs in the numpy backend, from per-split timings at 10^6 and 10^7 random hashes on
# a 2-core AMD EPYC: a probe (two offset lookups) and a candidate (permutation and code gathers,
# full distance) each take about 30-40 ns.
_COST_PROBE = 1.0
_COST_CANDIDATE = 1.0
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_BRUTE_CHUNK = 1 << 16  # list rows per numpy brute-force block
_BITWISE_COUNT = getattr(np, "bitwise_count", None)  # numpy >= 2.0

Hashes: TypeAlias = Sequence[str] | np.ndarray


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


def as_codes(hashes: Hashes) -> np.ndarray:
    """Hex strings or an (n, 32) uint8 array -> C-contiguous (n, 32) uint8 codes (arrays as is)."""
    if isinstance(hashes, np.ndarray):
        if hashes.dtype != np.uint8 or hashes.ndim != 2 or hashes.shape[1] != PDQ_BYTES:
            raise ValueError(
                f"PDQ codes must be an (n, {PDQ_BYTES}) uint8 array, "
                f"got {hashes.dtype} {hashes.shape}"
            )
        return np.ascontiguousarray(hashes)
    return parse_hashes(hashes)


def split_bits(nhash: int) -> tuple[int, ...]:
    """Substring lengths for `nhash` tables covering all 256 bits (longer ones first)."""
    if not 1 <= nhash <= PDQ_BITS:
        raise ValueError(f"nhash must be 1..{PDQ_BITS}, got {nhash}")
    b, extra = divmod(PDQ_BITS, nhash)
    return (b + 1,) * extra + (b,) * (nhash - extra)


def _probes(bits: int, nflip: int) -> int:
    """Keys within `nflip` bits of one `bits`-bit key (0 for a table left out, nflip -1)."""
    return sum(comb(bits, k) for k in range(nflip + 1))


def _table_cost(n: int, bits: int, nflip: int) -> float:
    """Modelled work per query in one table: each probe, and each hash its bucket holds."""
    return _probes(bits, nflip) * (_COST_PROBE + _COST_CANDIDATE * n / 2**bits)


def plan_tables(n: int, threshold: int, nhash: int) -> tuple[tuple[int, int], ...]:
    """(substring bits, nflip) per table for `nhash` tables over 256 bits at `threshold`.

    Exact by the generalised pigeonhole principle: if a list hash were within `threshold` bits
    of a query yet beyond nflip_t bits in every table t, its distance would be at least
    sum(nflip_t + 1) > threshold whenever sum(nflip_t + 1) >= threshold + 1. Every table starts
    at nflip = threshold // nhash, which leaves nhash * (nflip + 1) - (threshold + 1) to spare;
    that many tables, the ones where it saves the most modelled work, probe one bit fewer
    (nflip -1: the table is left out altogether, e.g. at threshold 0 only one table is needed).
    """
    bits = split_bits(nhash)
    nflip = threshold // nhash
    spare = nhash * (nflip + 1) - (threshold + 1)
    saving = [_table_cost(n, b, nflip) - _table_cost(n, b, nflip - 1) for b in bits]
    lower = set(sorted(range(nhash), key=lambda t: -saving[t])[:spare])
    return tuple((b, nflip - (t in lower)) for t, b in enumerate(bits))


def mih_cost(n: int, threshold: int, nhash: int) -> float:
    """Modelled work per query of the numpy backend: bucket probes plus candidates checked."""
    return sum(_table_cost(n, b, f) for b, f in plan_tables(n, threshold, nhash))


def choose_nhash(n: int, threshold: int = DEFAULT_THRESHOLD) -> int:
    """The substring count with the least modelled work per query for `n` list hashes.

    Only splits with at most max(2 n, 65536) buckets per table are considered (the bucket
    offsets then take at most 8 bytes per hash and table, twice the permutation), and near-ties
    (within 5%) go to more, shorter substrings, whose tables are smaller.
    """
    best, best_cost = 16, float("inf")
    for nhash in sorted(NHASH_RANGE, reverse=True):
        if 2 ** split_bits(nhash)[0] > max(2 * n, 2**16):
            continue
        cost = mih_cost(n, threshold, nhash)
        if cost < best_cost * 0.95:
            best, best_cost = nhash, cost
    return best


def _flip_masks(bits: int, nflip: int) -> np.ndarray:
    """Every `bits`-bit mask with at most `nflip` bits set (the probes around one key)."""
    masks = [0]
    for k in range(1, nflip + 1):
        masks.extend(sum(1 << i for i in c) for c in combinations(range(bits), k))
    return np.array(masks, dtype=np.int64)


def _substring(codes: np.ndarray, start: int, bits: int) -> np.ndarray:
    """Bits [start, start + bits) of every (n, 32) uint8 code, most significant first, as int64."""
    first, skip = divmod(start, 8)
    nbytes = (skip + bits + 7) // 8
    v = np.zeros(len(codes), dtype=np.uint64)
    for k in range(nbytes):
        v <<= np.uint64(8)
        v |= codes[:, first + k]
    v >>= np.uint64(8 * nbytes - skip - bits)
    v &= np.uint64((1 << bits) - 1)
    return v.view(np.int64)


def _starts(tables: Sequence[tuple[int, int]]) -> list[int]:
    """First bit of every table's substring: the tables cut the 256 bits in order."""
    return [sum(b for b, _ in tables[:t]) for t in range(len(tables))]


def _check_tables(tables: Sequence[tuple[int, int]], threshold: int) -> None:
    """Raise ValueError unless (bits, nflip) per table covers 256 bits and is exact."""
    if sum(b for b, _ in tables) != PDQ_BITS:
        raise ValueError(f"table substrings must add up to {PDQ_BITS} bits: {tables}")
    if any(not 1 <= b <= MAX_SUBSTRING_BITS or f < -1 for b, f in tables):
        raise ValueError(f"substrings of 1..{MAX_SUBSTRING_BITS} bits, nflip >= -1: {tables}")
    if sum(f + 1 for _, f in tables) <= threshold:
        raise ValueError(
            f"not exact: sum(nflip + 1) over the tables must exceed threshold {threshold}"
        )
    probes = sum(_probes(b, f) for b, f in tables)
    if probes > 1_000_000:
        raise ValueError(f"{probes:,} probes per query: use more substrings or the brute backend")


class PDQIndex:
    """Exact radius search over a fixed list of PDQ hashes, built once.

    `query` returns, per query, every `(list position, distance)` with distance <= threshold,
    sorted by distance then position. `query_min` returns only the best one, or None. Both take
    hex strings or an (n, 32) uint8 array of codes, like the constructor.

    Backends (`backend=`):
    - "mih" (default): multi-index hashing in numpy over `nhash` substrings (default: by list
      size, `choose_nhash`; `tables=` gives the (bits, nflip) of every table instead). Each
      table is a permutation of the list sorted by its substring (int32 per hash) plus
      2**bits + 1 bucket offsets; a query probes every key within the table's nflip bits of
      its substring (`plan_tables`), a whole batch of queries at once, then checks the full
      distance of each candidate. Exact by the pigeonhole bound. 32 + 4 * nhash bytes per hash
      plus the offsets (16 x 16 bits: 96 bytes per hash + 4 MB; 11 x 23-24 bits: 76 bytes per
      hash + 470 MB).
    - "faiss": the same search by `faiss.IndexBinaryMultiHash` (nhash tables of
      256 // nhash bits, nflip = threshold // nhash everywhere; exact, since bits left out only
      lower the distance inside the tables); needs faiss-cpu, measured slower and larger.
    - "brute": numpy XOR + popcount over every list hash; no extra memory. Used automatically
      when threshold >= 64, where multi-index hashing would probe most buckets anyway.
    """

    def __init__(
        self,
        hashes: Hashes,
        threshold: int = DEFAULT_THRESHOLD,
        *,
        backend: str = "mih",
        batch_candidates: int = 1_000_000,
        nhash: int | None = None,
        tables: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        if not 0 <= threshold < PDQ_BITS:
            raise ValueError(f"threshold must be 0..{PDQ_BITS - 1}, got {threshold}")
        if backend not in ("mih", "faiss", "brute"):
            raise ValueError(f"unknown backend {backend!r}: use 'mih', 'faiss' or 'brute'")
        if backend == "faiss" and faiss is None:
            raise RuntimeError("faiss is not installed (pip install faiss-cpu)")
        if nhash is not None and not PDQ_BITS // MAX_SUBSTRING_BITS < nhash <= 64:
            raise ValueError(
                f"nhash must be {PDQ_BITS // MAX_SUBSTRING_BITS + 1}..64 (substrings of at most "
                f"{MAX_SUBSTRING_BITS} bits), got {nhash}"
            )
        if tables is not None:
            if nhash is not None or backend == "faiss":
                raise ValueError("tables= goes with the mih backend and without nhash=")
            tables = tuple((int(b), int(f)) for b, f in tables)
            _check_tables(tables, threshold)
            nhash = len(tables)
        elif backend == "mih" and nhash is None and threshold // 16 > 3:
            backend = "brute"
        codes = as_codes(hashes)
        self._n = len(codes)
        self.threshold = threshold
        self.backend = backend
        self.batch_candidates = batch_candidates
        self.nhash = nhash if nhash is not None else choose_nhash(self._n, threshold)
        self.tables = tables or plan_tables(self._n, threshold, self.nhash)
        self.codes = codes
        self._faiss: Any = None
        self._perm = np.zeros(0, dtype=np.int32)
        self._offsets = np.zeros(0, dtype=np.int32)
        if backend == "faiss":
            bits = PDQ_BITS // self.nhash
            index = faiss.IndexBinaryMultiHash(PDQ_BITS, self.nhash, bits)
            if self._n:
                index.add(self.codes)
            index.nflip = threshold // self.nhash  # pigeonhole: exact
            self._faiss = index
            self.codes = np.zeros((0, PDQ_BYTES), dtype=np.uint8)  # faiss holds its own copy
        elif backend == "mih":
            self._build()

    def _build(self) -> None:
        n = self._n
        if n >= 2**31:
            raise ValueError("at most 2**31 - 1 hashes per index")
        _check_tables(self.tables, self.threshold)
        # Tables with nflip -1 are left out. Each kept table k: list positions sorted by its
        # substring at [k * n, (k + 1) * n) of one flat permutation; bucket key of table k
        # spans offsets[base[k] + key] to the next.
        starts = _starts(self.tables)
        kept = [(s, b, f) for s, (b, f) in zip(starts, self.tables, strict=True) if f >= 0]
        m = len(kept)
        self._perm = np.empty(n * m, dtype=np.int32)
        base = np.cumsum([0] + [2**b + 1 for _, b, _ in kept])
        dtype = np.int64 if n * m >= 2**31 else np.int32
        self._offsets = np.empty(int(base[-1]), dtype=dtype)
        self._substrings = [(start, b) for start, b, _ in kept]
        masks, which = [], []
        for k, (start, bits, nflip) in enumerate(kept):
            col = _substring(self.codes, start, bits)
            # uint32 keys sort faster than int64; stable keeps each bucket in list order
            self._perm[k * n : (k + 1) * n] = np.argsort(col.astype(np.uint32), kind="stable")
            o = self._offsets[base[k] : base[k + 1]]
            o[0] = k * n
            np.cumsum(np.bincount(col, minlength=2**bits), out=o[1:])
            o[1:] += k * n
            del col
            masks.append(_flip_masks(bits, nflip))
            which.append(np.full(len(masks[-1]), k, dtype=np.intp))
        # every probe of a query: (table, flip mask), and the table's base in the flat offsets
        self._probe_table = np.concatenate(which)
        self._probe_mask = np.concatenate(masks)
        self._probe_base = base[self._probe_table].astype(np.int64)

    def __len__(self) -> int:
        return self._n

    @property
    def memory_bytes(self) -> int:
        """Bytes the index holds: exact for "mih" and "brute"; for "faiss" an estimate
        (std::unordered_map nodes about 72 bytes per key and table, ids with vector growth slack;
        within about 1% of the RSS growth measured at 10^6 random hashes, 16 x 16 bits)."""
        if self._faiss is None:
            return int(self.codes.nbytes + self._perm.nbytes + self._offsets.nbytes)
        if self._n == 0:
            return 0
        buckets = 2 ** (PDQ_BITS // self.nhash)
        keys = buckets * -np.expm1(-self._n / buckets)  # expected distinct keys, random codes
        return int(self._n * PDQ_BYTES + self.nhash * (self._n * 8 * 2 + keys * 72))

    def expected_candidates(self) -> float:
        """Candidates checked per random query, expected (mih backend, uniform random list)."""
        return sum(_probes(b, f) * self._n / 2**b for b, f in self.tables)

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
        nprobe = len(self._probe_mask)
        per_query = nprobe + self.expected_candidates()
        step = max(1, int(self.batch_candidates // per_query))
        lims: list[np.ndarray] = [np.zeros(1, np.int64)]
        dists: list[np.ndarray] = []
        ids_out: list[np.ndarray] = []
        done = 0
        codes64 = self.codes.view(np.uint64)  # (n, 4)
        for s in range(0, len(q), step):
            qq = np.ascontiguousarray(q[s : s + step])
            nb = len(qq)
            sub = np.empty((nb, len(self._substrings)), dtype=np.int64)
            for k, (start, bits) in enumerate(self._substrings):
                sub[:, k] = _substring(qq, start, bits)
            # bucket of every probe (query, table, flip mask) in the flat offset array
            keys = sub[:, self._probe_table]
            keys ^= self._probe_mask
            keys += self._probe_base
            starts = self._offsets[keys].ravel()
            keys += 1
            lens = self._offsets[keys].ravel() - starts
            del keys
            ends = np.cumsum(lens, dtype=np.int64)
            # expand every bucket range into positions in the flat permutation
            shift = starts - ends
            shift += lens
            pos = np.arange(int(ends[-1]), dtype=np.int64)
            pos += np.repeat(shift, lens)
            cand = self._perm[pos]
            del pos, shift
            per_q = ends.reshape(nb, nprobe)[:, -1]
            qidx = np.repeat(np.arange(nb), np.diff(per_q, prepend=0))
            x = codes64.take(cand, axis=0)
            x ^= qq.view(np.uint64).take(qidx, axis=0)
            bits4 = _bitcount64(x)
            d = bits4[:, 0] + bits4[:, 1] + bits4[:, 2] + bits4[:, 3]
            hit = np.flatnonzero(d <= self.threshold)
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

    def query(self, queries: Hashes) -> list[list[tuple[int, int]]]:
        """Per query: every (list position, distance) within threshold, nearest first."""
        lims, dist, ids = self._range(as_codes(queries))
        out: list[list[tuple[int, int]]] = []
        dist_l: list[int] = dist.tolist()
        ids_l: list[int] = ids.tolist()
        lims_l: list[int] = np.asarray(lims).tolist()
        for i in range(len(lims_l) - 1):
            a, b = lims_l[i], lims_l[i + 1]
            if a == b:
                out.append([])
            else:
                out.append(sorted(zip(ids_l[a:b], dist_l[a:b], strict=True), key=_by_distance))
        return out

    def query_min(self, queries: Hashes) -> list[tuple[int, int] | None]:
        """Per query: the nearest (list position, distance) within threshold, or None."""
        lims, dist, ids = self._range(as_codes(queries))
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
    hashes: Hashes, queries: Hashes, threshold: int = DEFAULT_THRESHOLD
) -> list[list[tuple[int, int]]]:
    """Reference answer by numpy brute force (same output as `PDQIndex.query`)."""
    return PDQIndex(hashes, threshold, backend="brute").query(queries)
