"""Dox stage: score messages (or one sender's short runs of messages) that expose a person.

Reads what the text and OCR stages found, per chat in time order, and links the photos the
same sender posted around a dox or in its reply chain. Like matching, it is redone whenever
the findings change. Doxes feed the at-risk register and the caseworkers' dossiers.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from ..detect import Finding
from ..detect.dox import DoxMessage, score_messages
from ..stats import _latest
from ..store import models as m
from .base import RecomputeStage

F, MSG, OCC, MF = m.FINDINGS, m.MESSAGES, m.MEDIA_OCCURRENCES, m.MEDIA_FILES
KEEP_FROM = 0.4  # REVIEW_THRESHOLD: below it a caseworker would only see noise


class DoxStage(RecomputeStage):
    name = "dox"
    version = 1

    def inputs(self, conn: Connection) -> Any:
        query = select(func.max(F.c.id), func.count()).where(F.c.stage.in_(("text", "ocr")))
        return tuple(conn.execute(query).one())

    def store(self, conn: Connection, results: Any) -> dict[str, int]:
        conn.execute(delete(m.DOXES))
        chats = conn.execute(select(MSG.c.chat_id).distinct().order_by(MSG.c.chat_id))
        kept = 0
        for chat_id in [c for (c,) in chats]:
            kept += self._chat(conn, chat_id)
        return {"doxes": kept}

    def _chat(self, conn: Connection, chat_id: int) -> int:
        """Score one chat and store its doxes. Doxes never span chats, so holding one chat at
        a time gives the same result as holding the case, in memory that follows the largest
        chat instead of the whole case (at ten million messages in one chat: 17.6 GB)."""
        in_chat = select(MSG.c.id).where(MSG.c.chat_id == chat_id)
        by_message: dict[int, list[Finding]] = {}
        for row in conn.execute(
            select(F.c.message_pk, F.c.kind, F.c.value, F.c.span_start, F.c.span_end)
            .add_columns(F.c.score, F.c.detail)
            .where(F.c.stage.in_(("text", "ocr")), F.c.message_pk.in_(in_chat))
            .order_by(F.c.id)
        ):
            span = (row.span_start or 0, row.span_end or 0)
            by_message.setdefault(row.message_pk, []).append(
                Finding(row.kind, row.value, span, row.score, row.detail or {})
            )
        media: dict[int, list[str]] = {}
        for message_pk, sha in conn.execute(
            select(OCC.c.message_pk, MF.c.sha256)
            .join(MF, MF.c.id == OCC.c.media_id)
            .where(OCC.c.message_pk.in_(in_chat))
            .order_by(OCC.c.id)
        ):
            media.setdefault(message_pk, []).append(sha)
        latest = _latest()
        items = conn.execute(
            select(MSG.c.id, MSG.c.chat_id, MSG.c.message_id, MSG.c.sender_id, MSG.c.date_utc)
            .add_columns(MSG.c.reply_to, MSG.c.text)
            .where(MSG.c.chat_id == chat_id, MSG.c.id.in_(select(latest.c.id)))
            .where(
                MSG.c.id.in_(select(F.c.message_pk).where(F.c.stage.in_(("text", "ocr"))))
                | MSG.c.id.in_(select(OCC.c.message_pk).where(OCC.c.media_id.is_not(None)))
            )
            .order_by(MSG.c.date_utc, MSG.c.message_id)
        ).all()
        pk_of = {r.message_id: r.id for r in items}
        messages = [
            DoxMessage(
                message_pk=r.id,
                sender=r.sender_id,
                when=r.date_utc.replace(tzinfo=UTC).timestamp() if r.date_utc else None,
                reply_to_pk=pk_of.get(r.reply_to) if r.reply_to else None,
                text=r.text,
                findings=by_message.get(r.id, []),
                media=media.get(r.id, []),
            )
            for r in items
        ]
        del items, by_message, media, pk_of
        senders = {x.message_pk: x.sender for x in messages}
        out = []
        for dox in score_messages(messages):
            if dox.score < KEEP_FROM:
                continue
            out.append(
                {
                    "chat_id": chat_id,
                    "first_message_pk": dox.message_pks[0],
                    "message_pks": list(dox.message_pks),
                    "sender_id": senders.get(dox.message_pks[0]),
                    "score": float(dox.score),
                    "identifiers": [list(i) for i in dox.identifiers],
                    "cues": list(dox.cues),
                    "linked_media": list(dox.linked_media),
                    "stage_version": self.version,
                }
            )
        if out:
            conn.execute(insert(m.DOXES), out)
        return len(out)

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(m.DOXES))
