"""`perisai stats`: counts in the shape interfaces.md fixes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from .case import Case
from .store import models as m

T_MSG = m.MESSAGES
T_OCC = m.MEDIA_OCCURRENCES
T_MEDIA = m.MEDIA_FILES


def _latest():
    """The newest version of each message: what the chat says now (or last said)."""
    newest = (
        select(
            T_MSG.c.chat_id,
            T_MSG.c.message_id,
            T_MSG.c.dup_index,
            func.max(T_MSG.c.version).label("version"),
        )
        .group_by(T_MSG.c.chat_id, T_MSG.c.message_id, T_MSG.c.dup_index)
        .subquery()
    )
    return (
        select(T_MSG.c.id, T_MSG.c.type)
        .join(
            newest,
            and_(
                T_MSG.c.chat_id == newest.c.chat_id,
                T_MSG.c.message_id == newest.c.message_id,
                T_MSG.c.dup_index == newest.c.dup_index,
                T_MSG.c.version == newest.c.version,
            ),
        )
        .subquery()
    )


def stats(case: Case) -> dict[str, Any]:
    with case.engine.connect() as conn:

        def count(query: Any) -> int:
            return int(conn.execute(query).scalar() or 0)

        latest = _latest()
        occ = {
            status: n
            for status, n in conn.execute(
                select(T_OCC.c.status, func.count())
                .where(T_OCC.c.message_pk.in_(select(latest.c.id)))
                .group_by(T_OCC.c.status)
            )
        }
        media = {
            "files": occ.get("present", 0) + occ.get("empty", 0),
            "unique": count(select(func.count()).select_from(T_MEDIA)),
            "missing": occ.get("missing", 0),
            "placeholders": occ.get("placeholder", 0),
            "quarantined": count(select(func.count()).where(T_MEDIA.c.vault_state != "stored")),
            "refused": occ.get("refused", 0),
            "empty": occ.get("empty", 0),
        }
        return {
            "chats": count(select(func.count()).select_from(m.CHATS)),
            "messages": count(select(func.count()).select_from(latest)),
            "service_messages": count(
                select(func.count()).select_from(latest).where(latest.c.type == "service")
            ),
            "actors": count(select(func.count()).select_from(m.ACTORS)),
            "media": media,
            "findings": {
                kind: n
                for kind, n in conn.execute(
                    select(m.FINDINGS.c.kind, func.count())
                    .group_by(m.FINDINGS.c.kind)
                    .order_by(m.FINDINGS.c.kind)
                )
            },
            "exports": count(select(func.count()).select_from(m.EXPORTS)),
            "doxes": count(select(func.count()).where(m.DOXES.c.score >= 0.6)),
            "edited_versions": count(select(func.count()).where(T_MSG.c.version > 1)),
            "deleted_since": count(select(func.count()).select_from(m.ABSENCES)),
        }
