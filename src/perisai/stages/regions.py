"""Regions stage: region PDQ hashes and ORB keypoints of every hashed image (docs/regions.md).

Runs after the hash stage, over the images it hashed: decrypts the bytes in the worker,
decodes them at full resolution, proposes regions (the photo inside a screenshot, a border, a
caption bar, collage cells), hashes each with PDQ and computes ORB keypoints (whole picture
and regions). Nothing is added to the schema: the results go into the image's
``media_analysis.detail`` under ``regions`` (a list of ``{"box", "kind", "pdq", "quality"}``)
and ``orb`` (base64, media/features.py ``pack``). The whole-image PDQ of the hash stage is
untouched, so images with no proposals cost the hash stage nothing more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from ..media import features, regions
from ..media.decode import Rejected, decode_luma
from ..store import models as m
from ..vault import Vault, VaultError
from .base import QueryStage

MA, MF = m.MEDIA_ANALYSIS, m.MEDIA_FILES
# Keypoints stored per case image (whole picture first, then regions): ~48 KB of base64 at
# most; the victim's own file keeps 300 (features.pack truncates in that order).
STORED_KEYPOINTS = 1000
_KEYS = ("regions", "orb", "regions_error")


class RegionStage(QueryStage):
    name = "regions"
    version = 1
    batch_size = 16

    def __init__(self, vault_root: Path, vault_key: bytes) -> None:
        self.vault_root, self.vault_key = vault_root, vault_key

    def pending(self, after: int) -> Any:
        return (
            select(MA.c.id, MF.c.sha256, MF.c.vault_state)
            .join(MF, MF.c.id == MA.c.media_id)
            .where(MA.c.id > after, MA.c.status == "hashed", MA.c.kind == "image")
            .order_by(MA.c.id)
        )

    def process(self, items: list[Any]) -> list[dict[str, Any]]:
        vault = Vault(self.vault_root, self.vault_key)
        return [self._one(vault, *item) for item in items]

    def _one(self, vault: Vault, analysis_id: int, sha: str, state: str) -> dict[str, Any]:
        if state != "stored":
            return {"id": analysis_id, "error": f"bytes {state}"}
        try:
            plane = decode_luma(vault.read(sha), allow_draft=False).plane
            found = regions.region_hashes(plane)
            feats = features.extract(plane, [r.box for r in found])
            return {
                "id": analysis_id,
                "regions": [
                    {"box": list(r.box), "kind": r.kind, "pdq": r.pdq[0], "quality": r.quality}
                    for r in found
                ],
                "orb": features.pack(feats, limit=STORED_KEYPOINTS),
            }
        except Rejected as exc:
            return {"id": analysis_id, "error": exc.reason}
        except VaultError as exc:
            return {"id": analysis_id, "error": f"vault: {exc}"}
        except Exception as exc:  # noqa: BLE001 - one hostile file must never stop triage
            return {"id": analysis_id, "error": f"error: {type(exc).__name__}"}

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        counts = {"images": 0, "regions": 0, "errors": 0}
        for r in results:
            detail = dict(
                conn.execute(select(MA.c.detail).where(MA.c.id == r["id"])).scalar() or {}
            )
            if "error" in r:
                detail["regions_error"] = r["error"]
                counts["errors"] += 1
            else:
                detail.update(regions=r["regions"], orb=r["orb"])
                counts["images"] += 1
                counts["regions"] += len(r["regions"])
            conn.execute(update(MA).where(MA.c.id == r["id"]).values(detail=detail))
        return counts

    def reset(self, conn: Connection) -> None:
        for row_id, detail in conn.execute(select(MA.c.id, MA.c.detail)).all():
            if detail and any(k in detail for k in ("regions", "orb", "regions_error")):
                kept = {
                    k: v for k, v in detail.items() if k not in ("regions", "orb", "regions_error")
                }
                conn.execute(update(MA).where(MA.c.id == row_id).values(detail=kept))
