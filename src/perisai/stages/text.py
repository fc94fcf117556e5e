"""Text stage: PII, intent and link detectors over message text, entities and contacts."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import Connection, delete, select

from ..detect import detect_contact, detect_entities, detect_language, detect_text
from ..store import models as m
from ..store.bulk import insert_rows
from .base import QueryStage, delete_findings

T = m.MESSAGES
# Findings kept per message and kind. Telegram caps a message at 4,096 characters (a caption at
# 1,024), so only a crafted export gets near: one 13 MB "message" of a million phone numbers
# made a million findings (2.1 GB in triage and again in `findings --json`).
MAX_PER_KIND = 1000


def _links_in_buttons(raw: dict[str, Any]) -> str:
    """URL buttons often point at backup groups or payment pages: scan their URLs as text."""
    urls: list[str] = []
    rows = raw.get("inline_bot_buttons")
    if isinstance(rows, list):
        for row in rows:
            for button in row if isinstance(row, list) else []:
                if isinstance(button, dict):
                    for key in ("data", "url", "href"):
                        if isinstance(button.get(key), str):
                            urls.append(button[key])
    return "\n".join(urls)


def _is_coordinate(where: dict[str, Any]) -> bool:
    try:
        lat, lon = float(where["latitude"]), float(where["longitude"])
    except (KeyError, TypeError, ValueError):
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180


def analyse(item: tuple[int, int, str, Any, str]) -> tuple[int, int, str, list[dict]]:
    pk, chat, text, entities, raw_text = item
    found: list[dict[str, Any]] = []
    for f in detect_text(text):
        found.append(_row(f, "text"))
    if entities:
        # Telegram's own markup confirms what the text detectors saw: one finding per
        # occurrence, marked as confirmed, rather than two.
        seen = {(r["kind"], r["value"], r["span_start"], r["span_end"]): r for r in found}
        for f in detect_entities(entities, text):
            same = seen.get((f.kind, f.value, f.span[0], f.span[1]))
            if same is not None:
                same["detail"]["telegram_entity"] = True
                same["score"] = max(same["score"], float(f.score))
            else:
                found.append(_row(f, "entity"))
    if (
        "contact_information" in raw_text
        or "inline_bot_buttons" in raw_text
        or "location_information" in raw_text
    ):
        raw = json.loads(raw_text)
        where = raw.get("location_information")
        if isinstance(where, dict) and _is_coordinate(where):
            lat, lon = float(where["latitude"]), float(where["longitude"])
            found.append(
                {
                    "kind": "pii.location",
                    "value": f"{lat:.6f},{lon:.6f}",
                    "source": "entity",
                    "span_start": None,
                    "span_end": None,
                    "score": 0.9,
                    "detail": {"from": "location_information"},
                }
            )
        contact = raw.get("contact_information")
        if isinstance(contact, dict):
            for f in detect_contact(contact):
                found.append(_row(f, "entity", span=False))
        buttons = _links_in_buttons(raw)
        if buttons:
            for f in detect_text(buttons):
                if f.kind == "link.telegram":
                    found.append(_row(f, "entity", span=False, extra={"from": "inline_button"}))
    return pk, chat, detect_language(text), _capped(found)


def _capped(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first MAX_PER_KIND findings of each kind; the last one kept of a cut kind says how
    many there were (detail.truncated)."""
    if len(found) <= MAX_PER_KIND:  # every real message: no counting on the hot path
        return found
    totals = Counter(f["kind"] for f in found)
    if max(totals.values(), default=0) <= MAX_PER_KIND:
        return found
    kept: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for f in found:
        kind = f["kind"]
        seen[kind] += 1
        if seen[kind] > MAX_PER_KIND:
            continue
        if seen[kind] == MAX_PER_KIND and totals[kind] > MAX_PER_KIND:
            f["detail"]["truncated"] = {"found": totals[kind], "kept": MAX_PER_KIND}
        kept.append(f)
    return kept


def _row(f: Any, source: str, span: bool = True, extra: dict | None = None) -> dict[str, Any]:
    detail = dict(f.detail)
    if extra:
        detail.update(extra)
    return {
        "kind": f.kind,
        "value": f.value,
        "source": source,
        "span_start": f.span[0] if span else None,
        "span_end": f.span[1] if span else None,
        "score": float(f.score),
        "detail": detail,
    }


class TextStage(QueryStage):
    name = "text"
    version = 3

    def pending(self, after: int) -> Any:
        return (
            select(T.c.id, T.c.chat_id, T.c.text, T.c.entities, T.c.raw)
            .where(T.c.id > after)
            .order_by(T.c.id)
        )

    def process(self, items: list[Any]) -> list[tuple[int, int, str, list[dict]]]:
        return [analyse(item) for item in items]

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        findings, notes = [], []
        counts: Counter[str] = Counter()
        for pk, chat, language, found in results:
            notes.append({"message_pk": pk, "language": language, "stage_version": self.version})
            for f in found:
                f.update(
                    chat_id=chat,
                    message_pk=pk,
                    media_sha256=None,
                    stage=self.name,
                    stage_version=self.version,
                )
                findings.append(f)
                counts[f["kind"]] += 1
        insert_rows(conn, m.FINDINGS, findings)
        insert_rows(conn, m.ANNOTATIONS, notes)
        return dict(counts)

    def reset(self, conn: Connection) -> None:
        delete_findings(conn, self.name)
        conn.execute(delete(m.ANNOTATIONS))
