"""OCR stage: text in screenshots and captioned images, fed to the same text detectors.

A cheap screen (`looks_textual`) decides which images are worth Tesseract; quarantined files
are never read. Findings carry `source: "ocr"`, the file's SHA-256, and spans into the OCR
text (after wrapped lines were joined).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from ..detect import detect_text
from ..store import models as m
from ..vault import Vault
from .base import QueryStage, delete_findings

MF, MA, OCC, MSG = m.MEDIA_FILES, m.MEDIA_ANALYSIS, m.MEDIA_OCCURRENCES, m.MESSAGES


class OcrStage(QueryStage):
    name = "ocr"
    version = 2  # 2: confusable letters repaired in numbers and handles
    batch_size = 8

    def __init__(self, vault_root: Path, vault_key: bytes) -> None:
        self.vault_root, self.vault_key = vault_root, vault_key

    def ready(self) -> bool:
        from ..ocr import tesseract_available

        return bool(tesseract_available("eng+msa"))

    def pending(self, after: int) -> Any:
        return (
            select(MF.c.id, MF.c.sha256)
            .join(MA, MA.c.media_id == MF.c.id)
            .where(MF.c.id > after, MA.c.kind == "image", MA.c.status == "hashed")
            .where(MF.c.vault_state == "stored")
            .order_by(MF.c.id)
        )

    def process(self, items: list[Any]) -> list[tuple[int, str, str, list[dict[str, Any]]]]:
        from ..ocr import join_wrapped, looks_textual, ocr_image, repair_confusables

        vault = Vault(self.vault_root, self.vault_key)
        out: list[tuple[int, str, str, list[dict[str, Any]]]] = []
        for media_id, sha in items:
            try:
                data = vault.read(sha)
                textual, _ = looks_textual(data)
                if not textual:
                    out.append((media_id, sha, "skipped", []))
                    continue
                text = join_wrapped(repair_confusables(ocr_image(data).text))
            except Exception:  # noqa: BLE001 - an unreadable file is skipped, never fatal
                out.append((media_id, sha, "failed", []))
                continue
            found = [
                {
                    "kind": f.kind,
                    "value": f.value,
                    "span_start": f.span[0],
                    "span_end": f.span[1],
                    "score": float(f.score),
                    "detail": {**f.detail, "ocr_text": text[:2000]},
                }
                for f in detect_text(text)
            ]
            out.append((media_id, sha, "read", found))
        return out

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        rows: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for media_id, sha, status, found in results:
            counts[f"images_{status}"] = counts.get(f"images_{status}", 0) + 1
            if not found:
                continue
            postings: list[Any] = list(
                conn.execute(
                    select(OCC.c.message_pk, MSG.c.chat_id)
                    .join(MSG, MSG.c.id == OCC.c.message_pk)
                    .where(OCC.c.media_id == media_id)
                    .order_by(OCC.c.message_pk)
                ).all()
            )
            for posting in postings or [None]:  # a file is always posted; keep it if not
                for f in found:
                    rows.append(
                        {
                            **f,
                            "chat_id": posting.chat_id if posting else None,
                            "message_pk": posting.message_pk if posting else None,
                            "source": "ocr",
                            "media_sha256": sha,
                            "stage": self.name,
                            "stage_version": self.version,
                        }
                    )
                    counts[f["kind"]] = counts.get(f["kind"], 0) + 1
        if rows:
            conn.execute(insert(m.FINDINGS), rows)
        return counts

    def reset(self, conn: Connection) -> None:
        delete_findings(conn, self.name)
