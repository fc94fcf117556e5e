"""Report, don't retain: remove (or seal) a file's bytes, keep its hashes and references.

Used when a file matches a `csam` list and when a reviewer marks a cluster CSAM-suspected.
The row update and the custody event go into the caller's transaction before the bytes are
deleted: if the commit then failed, verify would report a missing blob, never a leak.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, delete, select, update

from .store import models as m

MF = m.MEDIA_FILES


def quarantine(
    case: Any, conn: Connection, media_id: int, body: dict[str, Any], seal_to: Any = None
) -> bool:
    """True when this call removed the bytes; False when they were already gone."""
    row = conn.execute(select(MF.c.sha256, MF.c.vault_state).where(MF.c.id == media_id)).one()
    if row.vault_state != "stored":
        return False
    body = {"sha256": row.sha256, **body}
    state = "quarantined"
    if seal_to is not None:
        from .seal import fingerprint, seal

        sealed = seal(case.vault.read(row.sha256), row.sha256, seal_to)
        folder = case.root / "sealed"
        folder.mkdir(exist_ok=True)
        (folder / f"{row.sha256}.sealed").write_bytes(sealed)
        state = "sealed"
        body["sealed_to"] = fingerprint(seal_to)
        body["sealed_sha256"] = hashlib.sha256(sealed).hexdigest()
    conn.execute(update(MF).where(MF.c.id == media_id).values(vault_state=state))
    case.log(conn, "quarantine", body)
    case.vault.remove(row.sha256)
    previews = m.PREVIEWS
    for (preview,) in conn.execute(
        select(previews.c.sha256).where(previews.c.media_id == media_id)
    ):
        case.vault.remove(preview)
    conn.execute(delete(previews).where(previews.c.media_id == media_id))
    return True
