"""Nudity stage: NudeNet scores for cluster representatives, as advisory findings.

The score routes items to review; it never sets a legal category. It runs once per cluster
representative, skipping quarantined files and clusters a hash list already decided (a
`benign` match suppresses exactly this kind of classifier noise). One model session per worker
process, one thread each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ..store import models as m
from ..vault import Vault
from .base import Stage, delete_findings

CM, MF, MA, F, OCC, MSG = (
    m.CLUSTER_MEMBERS,
    m.MEDIA_FILES,
    m.MEDIA_ANALYSIS,
    m.FINDINGS,
    m.MEDIA_OCCURRENCES,
    m.MESSAGES,
)
_MODEL: Any = None  # one session per worker process


def _model() -> Any:
    global _MODEL
    if _MODEL is None:
        from ..classify import NudityModel

        _MODEL = NudityModel(threads=1)
    return _MODEL


class NudityStage(Stage):
    name = "nudity"
    version = 1
    batch_size = 16

    def __init__(self, vault_root: Path, vault_key: bytes) -> None:
        self.vault_root, self.vault_key = vault_root, vault_key

    @staticmethod
    def available() -> bool:
        from ..classify import model_available

        return model_available()

    def _pending(self, after: int) -> Any:
        decided = select(F.c.media_sha256).where(F.c.kind == "media.match")
        return (
            select(MF.c.id, MF.c.sha256)
            .join(CM, (CM.c.media_id == MF.c.id) & (CM.c.cluster_id == MF.c.id))
            .join(MA, MA.c.media_id == MF.c.id)
            .where(MF.c.id > after, MA.c.kind == "image", MA.c.status == "hashed")
            .where(MF.c.vault_state == "stored", ~MF.c.sha256.in_(decided))
            .order_by(MF.c.id)
        )

    def total(self, conn: Connection, after: int) -> int:
        if not self.available():
            return 0
        query = self._pending(after).subquery()
        return int(conn.execute(select(func.count()).select_from(query)).scalar() or 0)

    def batches(self, conn: Connection, after: int) -> Iterator[tuple[int, list[Any]]]:
        rows = [tuple(r) for r in conn.execute(self._pending(after))]
        for i in range(0, len(rows), self.batch_size):
            chunk = rows[i : i + self.batch_size]
            yield chunk[-1][0], chunk

    def process(self, items: list[Any]) -> list[tuple[int, str, Any]]:
        vault = Vault(self.vault_root, self.vault_key)
        model = _model()
        out = []
        for media_id, sha in items:
            try:
                out.append((media_id, sha, model.score_image(vault.read(sha))))
            except Exception as exc:  # noqa: BLE001 - an unscorable file is recorded, not fatal
                out.append((media_id, sha, str(type(exc).__name__)))
        return out

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        rows = []
        for media_id, sha, score in results:
            if isinstance(score, str) or not score.labels:
                continue
            top = max(score.labels.items(), key=lambda kv: kv[1])[0]
            first = conn.execute(
                select(OCC.c.message_pk, MSG.c.chat_id)
                .join(MSG, MSG.c.id == OCC.c.message_pk)
                .where(OCC.c.media_id == media_id)
                .order_by(MSG.c.date_utc, OCC.c.message_pk)
                .limit(1)
            ).first()
            rows.append(
                {
                    "kind": "media.nudity",
                    "value": top,
                    "chat_id": first.chat_id if first else None,
                    "message_pk": first.message_pk if first else None,
                    "source": "media",
                    "span_start": None,
                    "span_end": None,
                    "score": float(score.score),
                    "media_sha256": sha,
                    "detail": {"labels": score.labels, "model": score.model, "advisory": True},
                    "stage": self.name,
                    "stage_version": self.version,
                }
            )
        if rows:
            conn.execute(insert(F), rows)
        return {"media.nudity": len(rows), "scored": len(results)}

    def reset(self, conn: Connection) -> None:
        delete_findings(conn, self.name)
