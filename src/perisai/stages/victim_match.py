"""Victim match stage: media in the case against registered victims' own image hashes.

Like the match stage it is redone whenever its inputs change (registered hashes, hashed media,
stored files, occurrences). For each registered person and each file the strongest evidence
wins: the exact SHA-256, then MD5, then PDQ (the file's hash as displayed against her 8
dihedral variants, distance <= 31: finds recompressed, resized, recoloured, rotated and
mirrored reposts), then vPDQ for videos. One `media.victim_match` finding is written per
message (its newest version) that carries the file.

vPDQ: a video matches one of her videos when at least half of the frames of either side
(quality >= 50; dark and featureless frames are left out, they collide) lie within 31 bits of
a frame of the other. Images and videos are compared within their kind.

Parts of her photo (docs/regions.md): after those, the region PDQ hashes the regions stage
stored for each image (the photo inside a screenshot, a border, a caption bar, a collage cell)
against her whole and region hashes (``pdq_region``), then the image's ORB keypoints against
hers, verified by a RANSAC homography (``features``: crops, collages, edited copies). Every
finding says ``detail.method`` (``exact``, ``pdq``, ``vpdq``, ``pdq_region``, ``features``);
the last two add ``detail.region`` (x0, y0, x1, y1 in the posted image) and, for features,
``detail.source_region`` (which area of her photo matched) and ``detail.inliers``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select

from ..media import features as ft
from ..media.index import PDQIndex
from ..media.regions import MIN_QUALITY
from ..stats import _latest
from ..store import models as m
from .base import RecomputeStage, delete_findings, stage_progress
from .matching import LOW_QUALITY

MF, MA, OCC, MSG = m.MEDIA_FILES, m.MEDIA_ANALYSIS, m.MEDIA_OCCURRENCES, m.MESSAGES
V, VH = m.VICTIMS, m.VICTIM_HASHES
THRESHOLD = 31
VIDEO_SHARE = 0.5  # share of frames (either side) that must match for a video match
KIND = "media.victim_match"
_EXACT_RANK = {"sha256": 0, "md5": 1}
_RANK = {"pdq": 2, "vpdq": 3, "pdq_region": 4, "features": 5}


class VictimMatchStage(RecomputeStage):
    name = "victim_match"
    version = 1

    def ready(self, conn: Connection) -> bool:
        return conn.execute(select(VH.c.id).limit(1)).first() is not None

    def inputs(self, conn: Connection) -> Any:
        def span(table: Any, key: Any) -> tuple[Any, ...]:
            return tuple(conn.execute(select(func.max(key), func.count()).select_from(table)).one())

        return [
            span(V, V.c.id),
            span(VH, VH.c.id),
            span(MF, MF.c.id),
            span(MA, MA.c.id),
            span(OCC, OCC.c.id),
            span(MSG, MSG.c.id),
            # The regions stage writes into media_analysis rows that already exist.
            stage_progress(conn, "regions"),
        ]

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        delete_findings(conn, self.name)
        aliases = {r.id: r.alias for r in conn.execute(select(V.c.id, V.c.alias))}
        best: dict[tuple[int, int], tuple[Any, ...]] = {}  # (victim, media) -> match

        def offer(victim: int, media: int, sha: str, rank: tuple[Any, ...], info: dict) -> None:
            key = (victim, media)
            if key not in best or rank < best[key][0]:
                best[key] = (rank, sha, info)

        for algorithm in ("sha256", "md5"):
            column = getattr(MF.c, algorithm)
            for media_id, sha, victim, item in conn.execute(
                select(MF.c.id, MF.c.sha256, VH.c.victim_id, VH.c.item)
                .join(VH, (VH.c.value == column) & (VH.c.algorithm == algorithm))
                .order_by(MF.c.id, VH.c.id)
            ):
                info = {"algorithm": algorithm, "distance": 0, "variant": None, "item": item}
                info["method"] = "exact"
                offer(victim, media_id, sha, (_EXACT_RANK[algorithm], 0, item), info)
        found = self._pdq(conn) + self._vpdq(conn) + self._pdq_region(conn) + self._features(conn)
        for victim, media_id, sha, distance, info in found:
            info.setdefault("method", info["algorithm"])
            rank = (_RANK[info["algorithm"]], distance, info["item"])
            offer(victim, media_id, sha, rank, info)

        postings = self._postings(conn, sorted({media for _, media in best}))
        rows: list[dict[str, Any]] = []
        files: dict[str, int] = {}
        for (victim, media_id), (_, sha, info) in sorted(best.items()):
            detail = {"victim_id": victim, "alias": aliases.get(victim), **info}
            if info["algorithm"] == "features":  # no distance: more inliers, more certain
                score = round(min(0.95, 0.5 + info["inliers"] / 200), 3)
            else:
                distance = int(info["distance"])
                score = 1.0 if distance == 0 else round(1 - distance / 64, 3)
            for message_pk, chat_id in postings.get(media_id, ()):
                rows.append(
                    {
                        "kind": KIND,
                        "value": f"victim:{victim}",
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
            files[info["algorithm"]] = files.get(info["algorithm"], 0) + 1
        if rows:
            conn.execute(insert(m.FINDINGS), rows)
        return {KIND: len(rows), **{f"files_{k}": n for k, n in sorted(files.items())}}

    def _postings(self, conn: Connection, media_ids: list[int]) -> dict[int, list[tuple]]:
        """media id -> [(message pk, chat id)] of the newest version of each message with it."""
        latest = _latest()
        out: dict[int, list[tuple]] = {}
        for start in range(0, len(media_ids), 500):
            for media_id, message_pk, chat_id in conn.execute(
                select(OCC.c.media_id, OCC.c.message_pk, MSG.c.chat_id)
                .join(MSG, MSG.c.id == OCC.c.message_pk)
                .join(latest, latest.c.id == OCC.c.message_pk)
                .where(OCC.c.media_id.in_(media_ids[start : start + 500]))
                .distinct()
                .order_by(OCC.c.media_id, OCC.c.message_pk)
            ):
                out.setdefault(media_id, []).append((message_pk, chat_id))
        return out

    def _pdq(self, conn: Connection) -> list[tuple[Any, ...]]:
        entries = conn.execute(
            select(VH.c.victim_id, VH.c.item, VH.c.value, VH.c.variant, VH.c.quality)
            .where(VH.c.algorithm == "pdq")
            .order_by(VH.c.id)
        ).all()
        if not entries:
            return []
        index = PDQIndex([e.value for e in entries], threshold=THRESHOLD)
        media = conn.execute(
            select(MA.c.media_id, MF.c.sha256, MA.c.pdq, MA.c.pdq_quality)
            .join(MF, MF.c.id == MA.c.media_id)
            .where(MA.c.status == "hashed", MA.c.kind == "image", MA.c.pdq.is_not(None))
            .order_by(MA.c.media_id)
        ).all()
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(media), 4096):
            chunk = media[start : start + 4096]
            for (media_id, sha, _, quality), hits in zip(
                chunk, index.query([r.pdq for r in chunk]), strict=True
            ):
                seen: set[int] = set()
                for position, distance in hits:  # nearest first
                    e = entries[position]
                    if e.victim_id in seen:
                        continue
                    seen.add(e.victim_id)
                    info: dict[str, Any] = {
                        "algorithm": "pdq",
                        "distance": int(distance),
                        "variant": e.variant,
                        "item": e.item,
                    }
                    if (quality or 0) < LOW_QUALITY or (e.quality or 100) < LOW_QUALITY:
                        info["low_quality"] = True  # flagged for a person, not trusted alone
                    out.append((e.victim_id, media_id, sha, int(distance), info))
        return out

    def _vpdq(self, conn: Connection) -> list[tuple[Any, ...]]:
        entries = conn.execute(
            select(VH.c.victim_id, VH.c.item, VH.c.value, VH.c.variant)
            .where(VH.c.algorithm == "vpdq", func.coalesce(VH.c.quality, 100) >= LOW_QUALITY)
            .order_by(VH.c.id)
        ).all()
        if not entries:
            return []
        her_frames: dict[tuple[int, int], int] = {}
        for e in entries:
            her_frames[(e.victim_id, e.item)] = her_frames.get((e.victim_id, e.item), 0) + 1
        index = PDQIndex([e.value for e in entries], threshold=THRESHOLD)
        out: list[tuple[Any, ...]] = []
        for media_id, sha, frames in conn.execute(
            select(MA.c.media_id, MF.c.sha256, MA.c.frames)
            .join(MF, MF.c.id == MA.c.media_id)
            .where(MA.c.status == "hashed", MA.c.kind == "video")
            .order_by(MA.c.media_id)
        ):
            usable = [f["pdq"] for f in frames or () if (f.get("quality") or 0) >= LOW_QUALITY]
            if not usable:
                continue
            query_hit: dict[tuple[int, int], int] = {}
            hers_hit: dict[tuple[int, int], set[int]] = {}
            nearest: dict[tuple[int, int], tuple[int, int]] = {}
            for hits in index.query(usable):
                items_here: set[tuple[int, int]] = set()
                for position, distance in hits:
                    e = entries[position]
                    key = (e.victim_id, e.item)
                    items_here.add(key)
                    hers_hit.setdefault(key, set()).add(position)
                    if key not in nearest or distance < nearest[key][0]:
                        nearest[key] = (int(distance), e.variant)
                for key in items_here:
                    query_hit[key] = query_hit.get(key, 0) + 1
            by_victim: dict[int, tuple[Any, ...]] = {}
            for key, n in query_hit.items():
                query_share = n / len(usable)
                her_share = len(hers_hit[key]) / her_frames[key]
                if max(query_share, her_share) < VIDEO_SHARE:
                    continue
                distance, frame = nearest[key]
                info = {
                    "algorithm": "vpdq",
                    "distance": distance,
                    "variant": frame,
                    "item": key[1],
                    "query_frames_matched_pct": round(100 * query_share, 1),
                    "her_frames_matched_pct": round(100 * her_share, 1),
                }
                rank = (-max(query_share, her_share), distance)
                if key[0] not in by_victim or rank < by_victim[key[0]][0]:
                    by_victim[key[0]] = (rank, info)
            for victim, (_, info) in by_victim.items():
                out.append((victim, media_id, sha, info["distance"], info))
        return out

    def _images_with(self, conn: Connection, key: str) -> Iterator[tuple[Any, ...]]:
        """(media id, sha256, detail) of hashed images whose detail has ``key``, streamed in
        pages of media ids (a case's ORB keypoints run to gigabytes: never all at once)."""
        after = -1
        while True:
            page = conn.execute(
                select(MA.c.media_id, MF.c.sha256, MA.c.detail)
                .join(MF, MF.c.id == MA.c.media_id)
                .where(MA.c.status == "hashed", MA.c.kind == "image", MA.c.media_id > after)
                .order_by(MA.c.media_id)
                .limit(500)
            ).all()
            if not page:
                return
            after = page[-1].media_id
            yield from (tuple(r) for r in page if r.detail and r.detail.get(key))

    def _pdq_region(self, conn: Connection) -> list[tuple[Any, ...]]:
        """The regions of each image against her whole and region hashes."""
        entries = conn.execute(
            select(VH.c.victim_id, VH.c.item, VH.c.value, VH.c.variant, VH.c.algorithm)
            .where(
                VH.c.algorithm.in_(("pdq", "pdq_region")),
                func.coalesce(VH.c.quality, 100) >= LOW_QUALITY,
            )
            .order_by(VH.c.id)
        ).all()
        if not entries:
            return []
        index = PDQIndex([e.value for e in entries], threshold=THRESHOLD)
        out: list[tuple[Any, ...]] = []
        for media_id, sha, detail in self._images_with(conn, "regions"):
            regions = [
                r
                for r in detail["regions"]
                if isinstance(r, dict) and (r.get("quality") or 0) >= MIN_QUALITY
            ]
            if not regions:
                continue
            nearest: dict[int, tuple[int, Any, dict[str, Any]]] = {}
            for region, hits in zip(regions, index.query([r["pdq"] for r in regions]), strict=True):
                for position, distance in hits:
                    e = entries[position]
                    if e.victim_id not in nearest or distance < nearest[e.victim_id][0]:
                        nearest[e.victim_id] = (int(distance), e, region)
            for victim, (distance, e, region) in nearest.items():
                info = {
                    "algorithm": "pdq_region",
                    "distance": distance,
                    "variant": e.variant,
                    "item": e.item,
                    "region": list(region["box"]),
                    "region_kind": region.get("kind"),
                }
                out.append((victim, media_id, sha, distance, info))
        return out

    def _features(self, conn: Connection) -> list[tuple[Any, ...]]:
        """Each image's ORB keypoints against hers, verified by a RANSAC homography."""
        rows = conn.execute(
            select(VH.c.victim_id, VH.c.item, VH.c.algorithm, VH.c.value, VH.c.variant)
            .where(VH.c.algorithm.in_(("orb", "orb_size")))
            .order_by(VH.c.id)
        ).all()
        if not rows:
            return []
        sizes: dict[tuple[int, int], tuple[int, int]] = {}
        points: dict[tuple[int, int], list[tuple[int, int]]] = {}
        descs: dict[tuple[int, int], list[bytes]] = {}
        for r in rows:
            key = (r.victim_id, r.item)
            if r.algorithm == "orb_size":
                w, _, h = r.value.partition("x")
                sizes[key] = (int(w), int(h))
            else:
                points.setdefault(key, []).append((r.variant % 65536, r.variant // 65536))
                descs.setdefault(key, []).append(bytes.fromhex(r.value))
        keys = sorted(k for k in points if k in sizes)
        sources = [
            ft.Features(
                sizes[k][0],
                sizes[k][1],
                np.array(points[k], dtype=np.float32),
                np.frombuffer(b"".join(descs[k]), dtype=np.uint8).reshape(-1, 32),
            )
            for k in keys
        ]
        index = ft.FeatureIndex(sources)
        out: list[tuple[Any, ...]] = []
        for media_id, sha, detail in self._images_with(conn, "orb"):
            try:
                query = ft.unpack(detail["orb"])
            except (ValueError, TypeError):
                continue
            best: dict[int, tuple[int, ft.Match]] = {}
            for position, match in index.query(query, top=5):
                victim = keys[position][0]
                if victim not in best or match.inliers > best[victim][1].inliers:
                    best[victim] = (keys[position][1], match)
            for victim, (item, match) in best.items():
                info = {
                    "algorithm": "features",
                    "distance": None,
                    "variant": None,
                    "item": item,
                    "inliers": match.inliers,
                    "region": list(match.region),
                    "source_region": list(match.source_region),
                    "source_share": match.source_share,
                }
                out.append((victim, media_id, sha, -match.inliers, info))
        return out

    def reset(self, conn: Connection) -> None:
        delete_findings(conn, self.name)
