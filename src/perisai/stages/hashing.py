"""Hash stage: PDQ (+ dihedral) for images, per-second frame PDQ for videos, per stored file.

Bytes are decrypted from the vault inside the worker and never written anywhere, except that
a video is decoded from a private temporary file (FFmpeg needs a path), removed at once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ..media import Rejected, hash_image, hash_video
from ..store import models as m
from ..vault import Vault, VaultError
from .base import QueryStage

MF = m.MEDIA_FILES
VIDEO_MIMES = ("video/", "image/gif")


def _kind(mime: str | None) -> str | None:
    mime = mime or ""
    if mime.startswith(VIDEO_MIMES):
        return "video"
    if mime.startswith("image/"):
        return "image"
    return None


class HashStage(QueryStage):
    name = "hash"
    version = 1
    batch_size = 16

    def __init__(self, vault_root: Path, vault_key: bytes) -> None:
        self.vault_root, self.vault_key = vault_root, vault_key

    def pending(self, after: int) -> Any:
        return (
            select(MF.c.id, MF.c.sha256, MF.c.mime, MF.c.vault_state)
            .where(MF.c.id > after)
            .order_by(MF.c.id)
        )

    def process(self, items: list[Any]) -> list[dict[str, Any]]:
        vault = Vault(self.vault_root, self.vault_key)
        return [self._one(vault, *item) for item in items]

    def _one(self, vault: Vault, media_id: int, sha: str, mime: str | None, state: str) -> dict:
        row: dict[str, Any] = {"media_id": media_id, "stage_version": self.version, "detail": {}}
        kind = _kind(mime)
        row["kind"] = kind
        if state != "stored":
            return {**row, "status": "skipped", "reason": f"bytes {state}: never decoded"}
        if kind is None:
            return {**row, "status": "skipped", "reason": f"not an image or video ({mime})"}
        try:
            data = vault.read(sha)
            if kind == "image":
                h = hash_image(data)
                return {
                    **row,
                    "status": "hashed",
                    "pdq": h.pdq,
                    "pdq_quality": h.quality,
                    "dihedral": list(h.dihedral),
                    "width": h.width,
                    "height": h.height,
                    "detail": {"decode": h.decode},
                }
            with tempfile.TemporaryDirectory(prefix="perisai-") as tmp:
                path = Path(tmp) / "video"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                v = hash_video(path)
            frames = v["frames"]
            best = max(frames, key=lambda f: f["quality"])
            return {
                **row,
                "status": "hashed",
                "pdq": best["pdq"],
                "pdq_quality": best["quality"],
                "frames": frames,
                "detail": {
                    "sampling": v["sampling"],
                    "duration": v["duration"],
                    # decoding budget spent (a hostile or very long video): frames after it
                    # were not hashed
                    **(
                        {"cut_at_frame": v["cut_at_frame"]} if v["cut_at_frame"] is not None else {}
                    ),
                },
            }
        except Rejected as exc:
            return {**row, "status": "rejected", "reason": exc.reason}
        except VaultError as exc:
            return {**row, "status": "rejected", "reason": f"vault: {exc}"}
        except Exception as exc:  # noqa: BLE001 - one hostile file must never stop triage
            return {**row, "status": "rejected", "reason": f"error: {type(exc).__name__}"}

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in results:
            for key in ("pdq", "pdq_quality", "dihedral", "frames", "width", "height", "reason"):
                r.setdefault(key, None)
            counts[f"media.{r['status']}"] = counts.get(f"media.{r['status']}", 0) + 1
        if results:
            conn.execute(insert(m.MEDIA_ANALYSIS), results)
        return counts

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(m.MEDIA_ANALYSIS))
