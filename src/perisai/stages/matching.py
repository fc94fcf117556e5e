"""Match stage: every hashed file against every imported hash list; quarantine CSAM matches.

Matching is cheap next to hashing, so the stage simply redoes all matching whenever the hashes
or the lists changed (a signature of both is its watermark). Exact algorithms match in SQL;
PDQ matches by Hamming distance over all 8 dihedral variants of each image and every sampled
frame of each video, against each list's threshold; where the whole image did not match, the
region hashes of the regions stage are tried too (``detail.method`` ``pdq_region`` with
``detail.region``; otherwise ``pdq`` or ``vpdq``).

Report, don't retain: a file that matches a `csam` list loses its bytes from the vault at once
(a custody event says which, why and by which list); its hashes and message references stay.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select

from ..media.index import PDQIndex, parse_hashes
from ..store import models as m
from .base import RecomputeStage, delete_findings, stage_progress

MF, MA, LH, HL = m.MEDIA_FILES, m.MEDIA_ANALYSIS, m.LIST_HASHES, m.HASH_LISTS
OCC, MSG = m.MEDIA_OCCURRENCES, m.MESSAGES
LOW_QUALITY = 50  # PDQ's own guidance: below this a hash is too weak to trust alone
LOAD_CHUNK = 100_000  # list hashes read from the database at a time


class MatchStage(RecomputeStage):
    name = "match"
    version = 1

    def __init__(self, case: Any, seal_to: Any = None) -> None:
        self.case = case
        self.seal_to = seal_to  # an X25519 public key: seal quarantined bytes instead

    def ready(self, conn: Connection) -> bool:
        return bool(conn.execute(select(func.count()).select_from(HL)).scalar())

    def inputs(self, conn: Connection) -> Any:
        return [
            tuple(conn.execute(select(func.max(LH.c.id), func.count()).select_from(LH)).one()),
            tuple(conn.execute(select(func.max(MA.c.id), func.count()).select_from(MA)).one()),
            tuple(conn.execute(select(func.max(HL.c.id))).one()),
            # The regions stage adds region hashes to media_analysis rows that already exist.
            stage_progress(conn, "regions"),
        ]

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        delete_findings(conn, self.name)
        lists = {r.id: r for r in conn.execute(select(HL))}
        matches = self._exact(conn) + self._pdq(conn, lists)
        counts: dict[str, int] = {}
        quarantine: dict[int, dict[str, Any]] = {}
        rows = []
        for media_id, sha, list_id, algorithm, value, distance, note in matches:
            hl = lists[list_id]
            detail = {
                "list": hl.name,
                "category": hl.category,
                "algorithm": algorithm,
                "distance": distance,
                **note,
            }
            score = 1.0 if distance == 0 else round(1 - distance / 64, 3)
            for message_pk, chat_id in conn.execute(
                select(OCC.c.message_pk, MSG.c.chat_id)
                .join(MSG, MSG.c.id == OCC.c.message_pk)
                .where(OCC.c.media_id == media_id)
                .order_by(OCC.c.message_pk)
            ):
                rows.append(
                    {
                        "kind": "media.match",
                        "value": value,
                        "chat_id": chat_id,
                        "message_pk": message_pk,
                        "source": "media",
                        "span_start": None,
                        "span_end": None,
                        "score": score,
                        "media_sha256": sha,
                        "detail": detail,
                        "stage": self.name,
                        "stage_version": self.version,
                    }
                )
            counts["media.match"] = counts.get("media.match", 0) + 1
            if hl.category == "csam":
                quarantine.setdefault(media_id, {"sha256": sha, "list": hl.name, **detail})
        if rows:
            conn.execute(insert(m.FINDINGS), rows)
        counts["quarantined"] = self._quarantine(conn, quarantine)
        return counts

    def _exact(self, conn: Connection) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for algorithm in ("sha256", "md5", "sha1"):
            column = getattr(MF.c, algorithm)
            for media_id, sha, list_id, value in conn.execute(
                select(MF.c.id, MF.c.sha256, LH.c.list_id, LH.c.value)
                .join(LH, (LH.c.value == column) & (LH.c.algorithm == algorithm))
                .order_by(MF.c.id, LH.c.list_id)
            ):
                out.append((media_id, sha, list_id, algorithm, value, 0, {}))
        return out

    def _pdq(self, conn: Connection, lists: dict[int, Any]) -> list[tuple[Any, ...]]:
        entries = _pdq_entries(conn)
        if entries is None:
            return []
        codes, entry_list, entry_quality = entries
        list_ids, inverse = np.unique(entry_list, return_inverse=True)
        thresholds = np.array([lists[int(i)].threshold for i in list_ids], np.int32)[inverse]
        # Exact multi-index hashing (media/index.py) at the loosest list threshold; each
        # list's own threshold is applied to the hits.
        index = PDQIndex(codes, threshold=int(thresholds.max()))
        out: list[tuple[Any, ...]] = []
        analysed = conn.execute(
            select(MA.c.media_id, MF.c.sha256, MA.c.kind, MA.c.pdq, MA.c.pdq_quality)
            .add_columns(MA.c.dihedral, MA.c.frames, MA.c.detail)
            .join(MF, MF.c.id == MA.c.media_id)
            .where(MA.c.status == "hashed")
            .order_by(MA.c.media_id)
        )
        for media_id, sha, kind, pdq, quality, dihedral, frames, detail in analysed:
            queries = list(dihedral or [pdq]) if kind == "image" else [f["pdq"] for f in frames]
            per_query = index.query(queries)
            best: dict[int, int] = {}
            for hits in per_query:
                for position, distance in hits:
                    if distance <= thresholds[position] and distance < best.get(position, 999):
                        best[position] = distance
            # Region hashes (regions stage, docs/regions.md): the photo inside a screenshot,
            # a border, a caption bar or a collage cell; used only where the whole missed.
            regions = [
                r
                for r in ((detail or {}).get("regions") or [] if kind == "image" else [])
                if isinstance(r, dict) and (r.get("quality") or 0) >= LOW_QUALITY
            ]
            region_of: dict[int, list[int]] = {}
            if regions:
                for region, hits in zip(
                    regions, index.query([r["pdq"] for r in regions]), strict=True
                ):
                    for position, distance in hits:
                        if (
                            distance <= thresholds[position]
                            and position not in best
                            and distance < region_of.get(position, [999])[0]
                        ):
                            region_of[position] = [distance, *region["box"]]
            for position, found in region_of.items():
                best[position] = found[0]
            by_list: dict[int, int] = {}
            for position, distance in best.items():
                list_id = int(entry_list[position])
                if list_id not in by_list or distance < best[by_list[list_id]]:
                    by_list[list_id] = position
            for list_id, position in sorted(by_list.items()):
                note: dict[str, Any] = {"method": "vpdq" if kind == "video" else "pdq"}
                if position in region_of:
                    note.update(method="pdq_region", region=region_of[position][1:])
                entry_q = int(entry_quality[position]) or 100  # none recorded: trusted
                if (quality or 0) < LOW_QUALITY or entry_q < LOW_QUALITY:
                    note["low_quality"] = True  # flagged for a person, not trusted on its own
                if kind == "video":
                    matched = sum(
                        1
                        for hits in per_query
                        if any(entry_list[p] == list_id and d <= thresholds[p] for p, d in hits)
                    )
                    # The percentage is of the query video's sampled frames.
                    note["query_frames_matched_pct"] = round(100 * matched / len(frames), 1)
                out.append(
                    (
                        media_id,
                        sha,
                        list_id,
                        "vpdq" if kind == "video" else "pdq",
                        codes[position].tobytes().hex(),  # the stored value: lower-case hex
                        best[position],
                        note,
                    )
                )
        return out

    def _quarantine(self, conn: Connection, items: dict[int, dict[str, Any]]) -> int:
        from ..quarantine import quarantine

        done = 0
        for media_id, info in items.items():
            body = {
                "reason": "matched a csam hash list: report, don't retain",
                "list": info["list"],
                "algorithm": info["algorithm"],
                "distance": info["distance"],
            }
            done += quarantine(self.case, conn, media_id, body, self.seal_to)
        return done

    def reset(self, conn: Connection) -> None:
        delete_findings(conn, self.name)


def _pdq_entries(conn: Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Every PDQ list hash as arrays, in the order the database returns them: codes (n, 32)
    uint8, list ids and qualities (0 where none), or None if there are none.

    Read in chunks of LOAD_CHUNK rows, so a list of 10^7 hashes never exists as 10^7 row
    objects and hex strings at once (list values are lower-case hex, as `hashlists` stores
    them, so a match's value is its code in hex).
    """
    stmt = select(LH.c.list_id, LH.c.value, LH.c.quality).where(LH.c.algorithm.in_(("pdq", "vpdq")))
    codes, list_ids, quality = [], [], []
    for rows in conn.execute(stmt.execution_options(yield_per=LOAD_CHUNK)).partitions():
        codes.append(parse_hashes([r.value for r in rows]))
        list_ids.append(np.array([r.list_id for r in rows], dtype=np.int64))
        quality.append(np.array([r.quality or 0 for r in rows], dtype=np.int32))
    if not codes:
        return None
    return np.concatenate(codes), np.concatenate(list_ids), np.concatenate(quality)
