"""Digests over the rows one export added, recorded in its custody event and re-checked by verify.

Each message row also carries its own hash, so verify can name the exact row that was edited;
the per-export digest catches an edit that also rewrote that row's hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from . import models as m
from .rowhash import canonical_bytes, rows_digest

T_MSG = m.MESSAGES
T_SVC = m.SERVICE_EVENTS
T_OCC = m.MEDIA_OCCURRENCES
T_MEDIA = m.MEDIA_FILES
T_ABS = m.ABSENCES
T_ACTOR = m.ACTORS
T_NAMES = m.ACTOR_NAMES
T_CHAT = m.CHATS

# Columns that later stages may legitimately change, with their own custody events.
MUTABLE = {T_MEDIA.name: {"vault_state"}}


def _digest_rows(rows: Iterable[Any], table: Any) -> str:
    skip = MUTABLE.get(table.name, set())
    h = hashlib.sha256()
    for row in rows:
        data = {k: v for k, v in row._mapping.items() if k not in skip}
        h.update(hashlib.sha256(canonical_bytes(data)).digest())
    return h.hexdigest()


def export_digests(conn: Connection, export_id: int, messages: str | None = None) -> dict[str, str]:
    """`messages` may be passed in when the caller already hashed the rows it wrote."""
    msg_ids = select(T_MSG.c.id).where(T_MSG.c.export_id == export_id)
    return {
        "messages": messages
        or rows_digest(
            r[0]
            for r in conn.execute(
                select(T_MSG.c.row_sha256)
                .where(T_MSG.c.export_id == export_id)
                .order_by(T_MSG.c.id)
            )
        ),
        "service_events": _digest_rows(
            conn.execute(select(T_SVC).where(T_SVC.c.message_pk.in_(msg_ids)).order_by(T_SVC.c.id)),
            T_SVC,
        ),
        "media_occurrences": _digest_rows(
            conn.execute(select(T_OCC).where(T_OCC.c.message_pk.in_(msg_ids)).order_by(T_OCC.c.id)),
            T_OCC,
        ),
        "media_files": _digest_rows(
            conn.execute(
                select(T_MEDIA).where(T_MEDIA.c.first_export_id == export_id).order_by(T_MEDIA.c.id)
            ),
            T_MEDIA,
        ),
        "absences": _digest_rows(
            conn.execute(select(T_ABS).where(T_ABS.c.export_id == export_id).order_by(T_ABS.c.id)),
            T_ABS,
        ),
        "chats": _digest_rows(
            conn.execute(
                select(T_CHAT).where(T_CHAT.c.first_export_id == export_id).order_by(T_CHAT.c.id)
            ),
            T_CHAT,
        ),
        "actors": _digest_rows(
            conn.execute(
                select(T_ACTOR).where(T_ACTOR.c.first_export_id == export_id).order_by(T_ACTOR.c.id)
            ),
            T_ACTOR,
        ),
        "actor_names": _digest_rows(
            conn.execute(
                select(T_NAMES).where(T_NAMES.c.export_id == export_id).order_by(T_NAMES.c.id)
            ),
            T_NAMES,
        ),
    }
