"""PDQIndex splits for large lists, forced on small data and checked against brute force.

The splits `choose_nhash` / `plan_tables` pick for 10^6..10^7 hashes (11-13 substrings of
19-24 bits, some tables probed at nflip 2, some at 1) are built here on a few thousand hashes,
with planted near-duplicates at every distance 0..threshold + 1 and, per table, a query at the
edge of the pigeonhole bound: exactly nflip + 1 bits off in every other table and nflip in that
one, so only that table can find it.
"""

from __future__ import annotations

import numpy as np
import pytest

from perisai.media import index as idx
from perisai.media.index import (
    PDQIndex,
    as_codes,
    brute_force,
    choose_nhash,
    plan_tables,
    split_bits,
)

THRESHOLD = 31
N = 3000


def _flip_in(code: np.ndarray, ranges: list[tuple[int, int, int]], rng: np.random.Generator):
    """`code` with `count` random bits flipped inside bits [start, start + length) per range."""
    bits = np.unpackbits(code)  # bit i of the hash, most significant first (as the index reads)
    for start, length, count in ranges:
        bits[start + rng.choice(length, count, replace=False)] ^= 1
    return np.packbits(bits)


def _starts(tables):
    return list(np.cumsum([0] + [b for b, _ in tables])[:-1])


@pytest.fixture(scope="module")
def codes() -> np.ndarray:
    rng = np.random.default_rng(2024)
    c = rng.integers(0, 256, (N, 32), dtype=np.uint8)
    c[10:20] = [_flip_in(c[9], [(0, 256, k)], rng) for k in range(0, 30, 3)]  # a close cluster
    return c


def _queries(codes: np.ndarray, tables, rng: np.random.Generator):
    """Planted queries at distances 0..THRESHOLD + 1, pigeonhole-edge queries, random ones."""
    queries, planted = [], []
    for dist in list(range(THRESHOLD + 2)) * 3:
        target = int(rng.integers(0, len(codes)))
        queries.append(_flip_in(codes[target], [(0, 256, dist)], rng))
        planted.append((target, dist))
    starts = _starts(tables)
    for j, (_, fj) in enumerate(tables):
        if fj < 0:
            continue
        target = int(rng.integers(0, len(codes)))
        ranges = [
            (s, b, f + 1 if t != j else f)
            for t, (s, (b, f)) in enumerate(zip(starts, tables, strict=True))
        ]
        dist = sum(k for _, _, k in ranges)
        assert dist == sum(f + 1 for _, f in tables) - 1
        queries.append(_flip_in(codes[target], ranges, rng))
        planted.append((target, dist))
    queries.append(codes[9])  # the cluster
    queries.extend(rng.integers(0, 256, (50, 32), dtype=np.uint8))
    return np.array(queries), planted


LARGE_PLANS = {n: plan_tables(n, THRESHOLD, choose_nhash(n, THRESHOLD)) for n in (10**6, 10**7)}


@pytest.mark.parametrize(
    "tables",
    [
        pytest.param(LARGE_PLANS[10**7], id="plan-10M"),
        pytest.param(LARGE_PLANS[10**6], id="plan-1M"),
        pytest.param(plan_tables(3 * 10**6, THRESHOLD, 12), id="12-tables"),
        pytest.param(plan_tables(N, THRESHOLD, 14), id="14-tables"),
        pytest.param(plan_tables(N, THRESHOLD, 17), id="17-tables"),
        pytest.param(plan_tables(N, THRESHOLD, 32), id="32x8-bits"),
        pytest.param(((19, 2),) * 8 + ((16, 1),) * 4 + ((20, -1),) * 2, id="uneven"),
        pytest.param(tuple([(16, 1)] * 16), id="16x16"),
    ],
)
def test_forced_split_is_exact(codes, tables):
    rng = np.random.default_rng(len(tables) * 100 + tables[0][0])
    queries, planted = _queries(codes, tables, rng)
    ix = PDQIndex(codes, THRESHOLD, tables=tables, batch_candidates=20_000)
    assert ix.tables == tuple(tables)
    got = ix.query(queries)
    assert got == brute_force(codes, queries, THRESHOLD)
    for (target, dist), res in zip(planted, got, strict=False):
        found = dict(res)
        if dist <= THRESHOLD:
            assert found[target] == dist
        else:
            assert target not in found  # threshold + 1 bits away: no match
    cluster = got[len(planted)]
    assert [p for p, _ in cluster][:10] == [9, *range(10, 19)]
    assert ix.query_min(queries) == [r[0] if r else None for r in got]


def test_large_plans_are_what_the_list_size_picks():
    # 10^7 hashes: 11 substrings of 23-24 bits; all but one table at nflip 2, one at nflip 1
    big = LARGE_PLANS[10**7]
    assert sorted(b for b, _ in big) == [23] * 8 + [24] * 3
    assert sorted(f for _, f in big) == [1] + [2] * 10
    assert sum(f + 1 for _, f in big) == THRESHOLD + 1  # exact with nothing to spare
    assert choose_nhash(10**5) == 16 and plan_tables(10**5, 31, 16) == ((16, 1),) * 16
    for n in (0, 1000, 10**5, 10**6, 3 * 10**6, 10**7, 10**8):
        tables = plan_tables(n, THRESHOLD, choose_nhash(n))
        assert sum(b for b, _ in tables) == 256
        assert sum(f + 1 for _, f in tables) >= THRESHOLD + 1
        assert 2 ** max(b for b, _ in tables) <= max(2 * n, 2**16)


def test_more_hashes_more_substring_bits():
    sizes = [10**4, 10**5, 10**6, 10**7, 10**8]
    longest = [split_bits(choose_nhash(n))[0] for n in sizes]
    assert longest == sorted(longest)
    assert longest[0] <= 16 < longest[-1]


@pytest.mark.parametrize("threshold", [0, 5, 15, 20, 40])
def test_other_thresholds_with_spare_tables(codes, threshold):
    rng = np.random.default_rng(threshold)
    queries = np.array(
        [_flip_in(codes[i], [(0, 256, d)], rng) for i, d in enumerate(range(0, 45, 2))] + [codes[9]]
    )
    for nhash in (12, 16, 20):
        ix = PDQIndex(codes, threshold, nhash=nhash)
        assert sum(f + 1 for _, f in ix.tables) >= threshold + 1
        assert ix.query(queries) == brute_force(codes, queries, threshold)


def test_threshold_zero_builds_one_table(codes):
    ix = PDQIndex(codes, 0, nhash=16)
    assert sorted(f for _, f in ix.tables) == [-1] * 15 + [0]
    assert ix.memory_bytes == N * 32 + N * 4 + (2**16 + 1) * 4
    assert ix.query(codes[:5]) == [[(i, 0)] for i in range(5)]


def test_codes_array_and_hex_give_the_same_answer(codes):
    hexes = [bytes(c).hex() for c in codes]
    q = codes[5:40]
    a = PDQIndex(codes, THRESHOLD)
    b = PDQIndex(hexes, THRESHOLD)
    assert (
        a.query(q) == b.query([bytes(c).hex() for c in q]) == a.query([bytes(c).hex() for c in q])
    )
    assert a.query_min(q) == b.query_min(q)
    assert np.shares_memory(as_codes(codes), codes)  # an array goes in without a copy


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((3, 31), np.uint8),
        np.zeros((3, 32), np.int64),
        np.zeros(32, np.uint8),
    ],
)
def test_bad_code_arrays(bad):
    with pytest.raises(ValueError, match="uint8"):
        PDQIndex(bad)
    with pytest.raises(ValueError, match="uint8"):
        PDQIndex(np.zeros((1, 32), np.uint8)).query(bad)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ([(16, 1)] * 15, "add up to 256"),
        ([(16, 1)] * 15 + [(16, 0)], "not exact"),
        ([(32, 3)] * 8, "substrings of"),
        ([(16, -2)] + [(16, 3)] * 15, "nflip >= -1"),
    ],
)
def test_bad_tables(tables, message):
    with pytest.raises(ValueError, match=message):
        PDQIndex(np.zeros((1, 32), np.uint8), THRESHOLD, tables=tables)


def test_bad_nhash():
    for nhash in (9, 65):
        with pytest.raises(ValueError, match="nhash"):
            PDQIndex(np.zeros((1, 32), np.uint8), nhash=nhash)
    with pytest.raises(ValueError, match="tables"):
        PDQIndex(np.zeros((1, 32), np.uint8), nhash=16, tables=[(16, 1)] * 16)


@pytest.mark.skipif(idx.faiss is None, reason="faiss-cpu not installed")
def test_faiss_with_eleven_tables_is_exact(codes):
    rng = np.random.default_rng(11)
    queries, _ = _queries(codes, plan_tables(N, THRESHOLD, 11), rng)
    ix = PDQIndex(codes, THRESHOLD, backend="faiss", nhash=11)  # 11 x 23 bits: 253 bits
    assert ix.query(queries) == brute_force(codes, queries, THRESHOLD)


@pytest.mark.parametrize("nhash", [11, 12, 13, 16, 17, 32])
def test_tables_cut_the_bits_in_order(codes, nhash):
    # every table reads its own consecutive run of bits (most significant first), so each bit
    # of the hash is in exactly one table: a flip can never count in two tables
    tables = plan_tables(N, THRESHOLD, nhash)
    bits = np.unpackbits(codes[:200], axis=1).astype(np.int64)
    starts = idx._starts(tables)
    assert starts == _starts(tables)
    for start, (length, _) in zip(starts, tables, strict=True):
        expected = bits[:, start : start + length] @ (1 << np.arange(length - 1, -1, -1))
        assert (idx._substring(codes[:200], start, length) == expected).all()


def test_list_import_finds_duplicates_across_batches_from_the_database(tmp_path, monkeypatch):
    # Loading a list of 10^7 hashes keeps no in-memory set of every hash: a duplicate of a hash
    # an earlier batch stored is found in the database. Batches of 3 here, so that the same
    # counts as one big batch must come out of several.
    import json

    from sqlalchemy import select

    from perisai import hashlists
    from perisai.case import Case
    from perisai.store import models as m

    monkeypatch.setattr(hashlists, "BATCH", 3)
    h = {k: bytes([i + 1]).hex() * 32 for i, k in enumerate("ABCDEFG")}

    def add(k):
        return {"hash": h[k], "hashType": "pdq", "caseId": k.lower(), "quality": 90}

    def withdraw(k):
        return {"hash": h[k], "hashType": "pdq", "status": "withdrawn"}

    records = [add("A"), add("B"), add("C")]  # batch 1: stored
    records += [add("A"), add("D"), withdraw("D")]  # A duplicates batch 1; D never stored
    records += [add("B"), add("B"), add("E"), add("F")]  # B twice: both duplicates
    records += [withdraw("C"), add("C")]  # stored, withdrawn, stored again
    records += [{"action": "withdraw", "caseId": "e"}, add("G")]  # E withdrawn by its id
    path = tmp_path / "list.json"
    path.write_text(json.dumps(records))
    case = Case.open(tmp_path / "case")
    result = hashlists.import_list(case, path, "hotline", "ncii")
    assert (result["added"], result["duplicates"], result["withdrawn"]) == (7, 3, 3)
    assert result["by_algorithm"] == {"pdq": 8}  # every hash once read as new, D and C twice
    with case.engine.connect() as conn:
        rows = conn.execute(
            select(m.LIST_HASHES.c.value, m.LIST_HASHES.c.source_id).order_by(m.LIST_HASHES.c.id)
        ).all()
    assert [(v, s) for v, s in rows] == [(h[k], k.lower()) for k in "ABFCG"]
    # a second import of the same list stores everything again: duplicates are per import
    again = hashlists.import_list(case, path, "hotline", "ncii")
    assert (again["added"], again["duplicates"]) == (7, 3)
