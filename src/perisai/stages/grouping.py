"""Group stage: near-duplicate images and videos in clusters with one representative.

Exact duplicates are already one row (the vault is content-addressed). Near-duplicates are
pairs within the PDQ threshold, either way round and over all 8 dihedral variants, joined
transitively (union-find). Hashes below PDQ quality 50 are left as singletons: featureless
pictures collide, and a wrong merge would hide a file from review. The representative is the
member with the best hash quality (then the first stored). Like matching, grouping is redone
whenever the set of hashes changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from ..media.image import hamming
from ..media.index import PDQIndex
from ..store import models as m
from .base import RecomputeStage
from .matching import LOW_QUALITY

MA = m.MEDIA_ANALYSIS
THRESHOLD = 31
CHUNK = 512


def near_pairs(canonical: list[str], variants: list[list[str]], threshold: int) -> list[tuple]:
    """(i, j, distance) for i < j whose hashes lie within threshold under any variant of i.

    The dihedral variants form a group, so checking i's variants against j's canonical hash
    also covers j's variants against i. An exact multi-index hash (media/index.py) keeps
    this far from quadratic.
    """
    index = PDQIndex(canonical, threshold=threshold)
    owners = [i for i, forms in enumerate(variants) for _ in forms]
    flat = [h for forms in variants for h in forms]
    best: dict[tuple[int, int], int] = {}
    for start in range(0, len(flat), CHUNK * 8):
        hits = index.query(flat[start : start + CHUNK * 8])
        for offset, found in enumerate(hits):
            i = owners[start + offset]
            for j, distance in found:
                if j > i and distance < best.get((i, j), 999):
                    best[(i, j)] = distance
    return [(i, j, d) for (i, j), d in sorted(best.items())]


def clusters(n: int, pairs: list[tuple]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in pairs:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


def first_postings(conn: Connection) -> dict[int, tuple[int, Any, int]]:
    """For each file: the earliest message posting it (any chat), when, and how many did."""
    occ, msg = m.MEDIA_OCCURRENCES, m.MESSAGES
    out: dict[int, tuple[int, Any, int]] = {}
    rows = conn.execute(
        select(occ.c.media_id, msg.c.id, msg.c.date_utc)
        .join(msg, msg.c.id == occ.c.message_pk)
        .where(occ.c.media_id.is_not(None))
        .order_by(occ.c.media_id, msg.c.date_utc.is_(None), msg.c.date_utc, msg.c.id)
    )
    for media_id, message_pk, when in rows:
        if media_id in out:
            first = out[media_id]
            out[media_id] = (first[0], first[1], first[2] + 1)
        else:
            out[media_id] = (message_pk, when, 1)
    return out


class GroupStage(RecomputeStage):
    name = "group"
    version = 2

    def inputs(self, conn: Connection) -> Any:
        return tuple(conn.execute(select(func.max(MA.c.id), func.count()).select_from(MA)).one())

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        conn.execute(delete(m.CLUSTER_MEMBERS))
        rows = conn.execute(
            select(MA.c.media_id, MA.c.kind, MA.c.pdq, MA.c.pdq_quality, MA.c.dihedral)
            .where(MA.c.status == "hashed")
            .order_by(MA.c.media_id)
        ).all()
        strong = [r for r in rows if (r.pdq_quality or 0) >= LOW_QUALITY]
        weak = [r for r in rows if (r.pdq_quality or 0) < LOW_QUALITY]
        pairs = (
            near_pairs(
                [r.pdq for r in strong],
                [list(r.dihedral or [r.pdq]) for r in strong],
                THRESHOLD,
            )
            if strong
            else []
        )
        roots = clusters(len(strong), pairs)
        groups: dict[int, list[int]] = {}
        for i, root in enumerate(roots):
            groups.setdefault(root, []).append(i)
        out = []
        for members in groups.values():
            rep = max(members, key=lambda i: (strong[i].pdq_quality or 0, -strong[i].media_id))
            rep_forms = list(strong[rep].dihedral or [strong[rep].pdq])
            for i in members:
                distance = min(hamming(form, strong[i].pdq) for form in rep_forms)
                out.append(
                    {
                        "media_id": strong[i].media_id,
                        "cluster_id": strong[rep].media_id,
                        "distance": distance,
                        "stage_version": self.version,
                    }
                )
        for r in weak:
            out.append(
                {
                    "media_id": r.media_id,
                    "cluster_id": r.media_id,
                    "distance": 0,
                    "stage_version": self.version,
                }
            )
        firsts = first_postings(conn)
        for row in out:
            row["first_message_pk"], row["first_posted_utc"], row["postings"] = firsts.get(
                row["media_id"], (None, None, 0)
            )
        if out:
            conn.execute(insert(m.CLUSTER_MEMBERS), out)
        multi = sum(1 for g in groups.values() if len(g) > 1)
        return {"clusters": len(groups) + len(weak), "clusters_with_duplicates": multi}

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(m.CLUSTER_MEMBERS))
