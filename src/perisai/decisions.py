"""Reviewer decisions: one decision on a file covers its whole near-duplicate cluster.

A person reviews each distinct image once; duplicates and near-duplicates inherit the
decision. Marking a file `csam` quarantines every member of its cluster at once (report,
don't retain).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from . import settings
from .case import Case
from .custody import utc_now
from .errors import BadInput
from .quarantine import quarantine
from .store import models as m

CATEGORIES = ("csam", "ncii", "voyeur", "doxx", "benign", "none")
MF, CM, D = m.MEDIA_FILES, m.CLUSTER_MEMBERS, m.DECISIONS


def _members(conn: Any, sha256: str) -> list[tuple[int, str]]:
    media_id = conn.execute(select(MF.c.id).where(MF.c.sha256 == sha256)).scalar()
    if media_id is None:
        raise BadInput(f"no file with SHA-256 {sha256} in this case")
    cluster = conn.execute(select(CM.c.cluster_id).where(CM.c.media_id == media_id)).scalar()
    if cluster is None:  # not grouped yet (or not an image/video): the file alone
        return [(media_id, sha256)]
    return [
        (r.id, r.sha256)
        for r in conn.execute(
            select(MF.c.id, MF.c.sha256)
            .join(CM, CM.c.media_id == MF.c.id)
            .where(CM.c.cluster_id == cluster)
            .order_by(MF.c.id)
        )
    ]


def decide(
    case: Case, sha256: str, category: str, note: str | None = None, who: str | None = None
) -> dict[str, Any]:
    sha256 = sha256.strip().lower()
    if category not in CATEGORIES:
        raise BadInput(f"unknown category {category!r}: choose from {', '.join(CATEGORIES)}")
    investigator = settings.investigator(who)
    with case.begin() as conn:
        members = _members(conn, sha256)
        conn.execute(
            insert(D).values(
                media_sha256=sha256,
                category=category,
                reviewed=True,
                decided_utc=utc_now(),
                investigator=investigator,
                note=note,
            )
        )
        body = {
            "sha256": sha256,
            "category": category,
            "cluster": [sha for _, sha in members],
            "note": note,
        }
        case.log(conn, "decision", body, who)
        removed = 0
        if category == "csam":
            reason = {"reason": "a reviewer marked its cluster CSAM-suspected", "decision": sha256}
            for media_id, _ in members:
                removed += quarantine(case, conn, media_id, reason)
    return {
        "sha256": sha256,
        "category": category,
        "applies_to": len(members),
        "quarantined": removed,
    }


def decision_for(case: Case, sha256: str) -> dict[str, Any] | None:
    """The newest decision on any member of the file's cluster, or None."""
    with case.engine.connect() as conn:
        shas = [sha for _, sha in _members(conn, sha256.strip().lower())]
        row = conn.execute(
            select(D).where(D.c.media_sha256.in_(shas)).order_by(D.c.id.desc()).limit(1)
        ).first()
    return dict(row._mapping) if row else None
