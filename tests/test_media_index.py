"""perisai.media.index.PDQIndex: exact radius search, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from perisai.media import index as idx
from perisai.media.index import PDQIndex, brute_force, parse_hashes

BACKENDS = ["mih", "brute"] + (["faiss"] if idx.faiss is not None else [])


def _hex(codes: np.ndarray) -> list[str]:
    return [bytes(c).hex() for c in codes]


def _flip(code: np.ndarray, nbits: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(code)
    bits[rng.choice(256, nbits, replace=False)] ^= 1
    return np.packbits(bits)


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[str], list[tuple[int, int]]]:
    rng = np.random.default_rng(42)
    codes = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    # a cluster of close list hashes too, so a query has several matches to sort
    codes[100:110] = [_flip(codes[99], k, rng) for k in range(10)]
    queries, planted = [], []
    for qi, dist in enumerate([0, 15, 31, 32] * 25):
        target = int(rng.integers(0, len(codes)))
        queries.append(_flip(codes[target], dist, rng))
        planted.append((target, dist))
        assert len(queries) == qi + 1
    queries.append(codes[99])  # hits the cluster
    queries.extend(rng.integers(0, 256, (200, 32), dtype=np.uint8))  # random: nothing within 31
    return _hex(codes), _hex(np.array(queries)), planted


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_against_brute_force(data, backend):
    hashes, queries, planted = data
    ix = PDQIndex(hashes, 31, backend=backend)
    got = ix.query(queries)
    assert got == brute_force(hashes, queries, 31)
    for (target, dist), res in zip(planted, got, strict=False):
        found = dict(res)
        if dist <= 31:
            assert found[target] == dist
        else:
            assert target not in found  # 32 bits away: no match at threshold 31
    assert len(got[len(planted)]) >= 10  # the cluster around codes[99]
    dists = [d for _, d in got[len(planted)]]
    assert dists == sorted(dists)
    best = ix.query_min(queries)
    for res, b in zip(got, best, strict=True):
        assert b == (res[0] if res else None)


@pytest.mark.parametrize("threshold", [0, 15, 32, 40])
def test_other_thresholds(data, threshold):
    hashes, queries, _ = data
    got = PDQIndex(hashes, threshold).query(queries[:120])
    assert got == brute_force(hashes, queries[:120], threshold)


def test_large_threshold_falls_back_to_brute():
    ix = PDQIndex(["00" * 32], 100)
    assert ix.backend == "brute"
    assert ix.query(["ff" * 12 + "00" * 20]) == [[(0, 96)]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_index_and_empty_queries(backend):
    ix = PDQIndex([], backend=backend)
    assert len(ix) == 0
    assert ix.memory_bytes >= 0
    assert ix.query(["ab" * 32, "00" * 32]) == [[], []]
    assert ix.query_min(["ab" * 32]) == [None]
    assert PDQIndex(["ab" * 32], backend=backend).query([]) == []


def test_upper_case_and_duplicates():
    h = "AB" * 32
    assert PDQIndex([h, h.lower()]).query([h.lower()]) == [[(0, 0), (1, 0)]]


@pytest.mark.parametrize(
    "bad",
    ["ab" * 31, "ab" * 33, "zz" + "ab" * 31, "ab " * 21 + "a", "", b"\xab" * 32, None],
)
def test_hex_validation(bad):
    with pytest.raises(ValueError, match="hash 1"):
        parse_hashes(["00" * 32, bad])
    with pytest.raises(ValueError):
        PDQIndex(["00" * 32, bad])
    with pytest.raises(ValueError):
        PDQIndex(["00" * 32]).query([bad])


def test_bad_arguments():
    with pytest.raises(ValueError):
        PDQIndex([], threshold=256)
    with pytest.raises(ValueError):
        PDQIndex([], backend="hnsw")


def test_memory_bytes_mih():
    ix = PDQIndex(["00" * 32] * 1000, nhash=16)
    # codes + one int32 per hash and table + 16 int32 offset tables of 2**16 + 1
    assert ix.memory_bytes == 1000 * 32 + 16 * 1000 * 4 + 16 * 65537 * 4


def test_small_batches_same_answer(data):
    hashes, queries, _ = data
    ix = PDQIndex(hashes, 31, batch_candidates=1)  # one query per numpy batch
    assert ix.query(queries[:60]) == PDQIndex(hashes, 31).query(queries[:60])


def test_without_numpy_bitwise_count(data, monkeypatch):
    hashes, queries, _ = data
    expected = PDQIndex(hashes, 31).query(queries[:60])
    monkeypatch.setattr(idx, "_BITWISE_COUNT", None)  # numpy < 2.0: lookup-table popcount
    assert PDQIndex(hashes, 31).query(queries[:60]) == expected
    assert brute_force(hashes, queries[:60], 31) == expected
