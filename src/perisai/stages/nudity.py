"""Nudity stage: NudeNet scores for cluster representatives (images, video keyframes).

The score routes items to review; it never sets a legal category. It runs once per cluster
representative, skipping quarantined files and clusters a hash list already decided (a
`benign` match suppresses exactly this kind of classifier noise). One model session per worker
process, one thread each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from ..store import models as m
from ..vault import Vault
from .base import QueryStage, delete_findings

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


KEYFRAMES = 5


def _score_video(model: Any, data: bytes) -> Any:
    """Score a few keyframes spread over the video; the video scores as its worst frame.

    The decoded frames stay in memory (re-encoded to JPEG for the scorer); FFmpeg reads the
    video from a private temporary file that is removed at once.
    """
    import io
    import os
    import tempfile

    import av
    from PIL import Image

    from ..classify import MAX_PIXELS, NudityScore

    frames: list[bytes] = []
    with tempfile.TemporaryDirectory(prefix="perisai-") as tmp:
        path = os.path.join(tmp, "video")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"  # keyframes only: cheap to decode
            for frame in container.decode(stream):
                if frame.width * frame.height > MAX_PIXELS:
                    # checked before to_ndarray allocates it: the hash stage may have stopped
                    # decoding (its budget) before a later, larger keyframe
                    raise ValueError(f"a keyframe of {frame.width}x{frame.height} pixels")
                buf = io.BytesIO()
                Image.fromarray(frame.to_ndarray(format="rgb24")).save(buf, "JPEG", quality=90)
                frames.append(buf.getvalue())
                if len(frames) >= KEYFRAMES * 4:
                    break
    if not frames:
        raise ValueError("no decodable keyframes")
    step = max(1, len(frames) // KEYFRAMES)
    scores = [model.score_image(f) for f in frames[::step][:KEYFRAMES]]
    labels: dict[str, float] = {}
    for sc in scores:
        for name, value in sc.labels.items():
            labels[name] = max(labels.get(name, 0.0), value)
    worst = max(scores, key=lambda sc: sc.score)
    return NudityScore(
        labels=labels, score=worst.score, boxes=sum(sc.boxes for sc in scores), model=worst.model
    )


class NudityStage(QueryStage):
    name = "nudity"
    version = 2
    batch_size = 16

    def __init__(self, vault_root: Path, vault_key: bytes) -> None:
        self.vault_root, self.vault_key = vault_root, vault_key

    def ready(self) -> bool:
        from ..classify import model_available

        return model_available()

    def pending(self, after: int) -> Any:
        decided = select(F.c.media_sha256).where(F.c.kind == "media.match")
        return (
            select(MF.c.id, MF.c.sha256, MA.c.kind)
            .join(CM, (CM.c.media_id == MF.c.id) & (CM.c.cluster_id == MF.c.id))
            .join(MA, MA.c.media_id == MF.c.id)
            .where(MF.c.id > after, MA.c.kind.in_(("image", "video")), MA.c.status == "hashed")
            .where(MF.c.vault_state == "stored", ~MF.c.sha256.in_(decided))
            .order_by(MF.c.id)
        )

    def process(self, items: list[Any]) -> list[tuple[int, str, Any]]:
        vault = Vault(self.vault_root, self.vault_key)
        model = _model()
        out = []
        for media_id, sha, kind in items:
            try:
                data = vault.read(sha)
                if kind == "video":
                    out.append((media_id, sha, _score_video(model, data)))
                else:
                    out.append((media_id, sha, model.score_image(data)))
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
