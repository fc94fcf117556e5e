"""`perisai stats`: counts in the shape interfaces.md fixes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .case import Case
from .store import models as m

T_MSG = m.MESSAGES
T_OCC = m.MEDIA_OCCURRENCES
T_MEDIA = m.MEDIA_FILES


def _latest():
    """The newest version of each message: what the chat says now (or last said).

    Written as "no newer version exists" rather than a GROUP BY over every message: databases
    turn it into an anti-join on ix_messages_chat_msg, so a query about a few messages (one
    sender's, one file's) looks at those alone, and one about all of them stays linear. At
    ten million messages the GROUP BY form cost seconds per use (benchmarks/scale_postgres.py).
    """
    newer = T_MSG.alias("newer")
    superseded = (
        select(newer.c.id)
        .where(
            newer.c.chat_id == T_MSG.c.chat_id,
            newer.c.message_id == T_MSG.c.message_id,
            newer.c.dup_index == T_MSG.c.dup_index,
            newer.c.version > T_MSG.c.version,
        )
        .correlate(T_MSG)
        .exists()
    )
    return select(T_MSG.c.id, T_MSG.c.type).where(~superseded).subquery()


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
