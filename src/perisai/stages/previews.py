"""Preview stage: one safe thumbnail per image cluster, and nothing else that shows pixels.

A preview is 256 px on its longest side, greyscale and Gaussian-blurred with a radius that
hides detail (safety-and-evidence.md: 30 to 50 px at 256 px), made from a reduced decode and
stored encrypted in the vault. It runs after matching, so a file that matched a `csam` list
never gets one; a later quarantine deletes any preview it had.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter, ImageOps
from sqlalchemy import Connection, delete, insert, select

from ..media.decode import MAX_PIXELS
from ..store import models as m
from ..vault import Vault, digest_file
from .base import QueryStage

SIZE = 256
BLUR = 36
CM, MF, MA, PV = m.CLUSTER_MEMBERS, m.MEDIA_FILES, m.MEDIA_ANALYSIS, m.PREVIEWS


def make_preview(data: bytes, size: int = SIZE, blur: int = BLUR) -> bytes:
    """JPEG bytes of a small, greyscale, blurred version of an image."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        source = Image.open(io.BytesIO(data))
        if source.width * source.height > MAX_PIXELS:
            raise ValueError("over the pixel limit")
        source.draft("L", (size * 2, size * 2))  # JPEG: decode at reduced DCT scale
        im = ImageOps.exif_transpose(source.convert("L"))
    im.thumbnail((size, size))
    im = im.filter(ImageFilter.GaussianBlur(blur))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=70)
    return out.getvalue()


class PreviewStage(QueryStage):
    name = "preview"
    version = 1
    batch_size = 32

    def __init__(self, vault_root: Path, vault_key: bytes) -> None:
        self.vault_root, self.vault_key = vault_root, vault_key

    def high(self, chunk: list[Any]) -> int:
        # Representatives change when clusters are regrouped: pending is "representative
        # without a preview", not "above a watermark", so the watermark stays at zero.
        return 0

    def pending(self, after: int) -> Any:
        return (
            select(MF.c.id, MF.c.sha256)
            .join(CM, (CM.c.media_id == MF.c.id) & (CM.c.cluster_id == MF.c.id))
            .join(MA, MA.c.media_id == MF.c.id)
            .where(MA.c.kind == "image", MA.c.status == "hashed", MF.c.vault_state == "stored")
            .where(~MF.c.id.in_(select(PV.c.media_id)), MF.c.id > after)
            .order_by(MF.c.id)
        )

    def process(self, items: list[Any]) -> list[dict[str, Any]]:
        vault = Vault(self.vault_root, self.vault_key)
        out = []
        for media_id, sha in items:
            try:
                preview = make_preview(vault.read(sha))
            except Exception:  # noqa: BLE001, S112 - no preview is the safe outcome
                continue
            digest = digest_file(io.BytesIO(preview)).sha256
            vault.put(io.BytesIO(preview), digest)
            with Image.open(io.BytesIO(preview)) as im:
                width, height = im.size
            out.append(
                {
                    "media_id": media_id,
                    "sha256": digest,
                    "width": width,
                    "height": height,
                    "blur_radius": BLUR,
                    "stage_version": self.version,
                }
            )
        return out

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        if results:
            conn.execute(insert(PV), results)
        return {"previews": len(results)}

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(PV))
