"""`perisai findings`: detector results in the interfaces.md shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .case import Case
from .errors import BadInput
from .store import models as m

F, MSG, CHAT = m.FINDINGS, m.MESSAGES, m.CHATS


def findings(case: Case, kind: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(
            F.c.kind,
            F.c.value,
            CHAT.c.tg_id,
            MSG.c.message_id,
            F.c.source,
            F.c.span_start,
            F.c.span_end,
            F.c.score,
            F.c.media_sha256,
            F.c.detail,
        )
        .select_from(F)
        .outerjoin(MSG, MSG.c.id == F.c.message_pk)
        .outerjoin(CHAT, CHAT.c.id == F.c.chat_id)
        .order_by(F.c.id)
    )
    if kind:
        _check_kind(case, kind)
        # A prefix selects a family: --kind pii gives every pii.* finding.
        query = query.where((F.c.kind == kind) | F.c.kind.startswith(kind.rstrip(".") + "."))
    out = []
    with case.engine.connect() as conn:
        for row in conn.execute(query):
            span = None if row.span_start is None else [row.span_start, row.span_end]
            out.append(
                {
                    "kind": row.kind,
                    "value": row.value,
                    "chat_id": row.tg_id,
                    "message_id": row.message_id,
                    "source": row.source,
                    "span": span,
                    "score": round(row.score, 4),
                    "media_sha256": row.media_sha256,
                    "detail": row.detail,
                }
            )
    return out


FAMILIES = ("pii", "link", "intent", "media")


def _check_kind(case: Case, kind: str) -> None:
    """A typo (`--kind nosuchkind`) is bad input, not an empty answer: kinds are dotted names
    in the families of interfaces.md, or any kind this case holds."""
    family = kind.rstrip(".").split(".", 1)[0]
    if family in FAMILIES:
        return
    with case.engine.connect() as conn:
        held = conn.execute(select(F.c.kind).distinct()).scalars().all()
    if any(k == kind or k.startswith(kind.rstrip(".") + ".") for k in held):
        return
    raise BadInput(
        f"--kind {kind!r:.60}: unknown finding kind; use a kind such as pii.phone or a "
        f"family ({', '.join(FAMILIES)})"
    )
