"""Review queue, safe media views and exposure accounting for the web UI (no HTTP here).

Each near-duplicate cluster is described in text first (list matches, classifier labels and
scores, where and how often it was posted, who posted it first, doxxing links) and ordered by
severity. Pixels are only ever the stored blurred greyscale preview (for a video: a blurred
greyscale strip of keyframes made on the fly), or a reveal made on the fly from the vault
copy with less blur, still greyscale and small, never the original bytes; a video is never
played.
Nothing at all is shown for a cluster with a member that is quarantined, sealed, matched a
`csam` list or was decided `csam`.

Partial matches (docs/regions.md): where a member's `media.victim_match` or `media.match`
finding has `detail.method` `pdq_region` or `features`, the description says so in words ("Part
of this image matches her photo" / "... a listed file") and the stored blurred preview is
served with the matched area outlined, drawn on the preview itself (never from the original).
"""

from __future__ import annotations

import io
import math
import threading
from collections import Counter, OrderedDict, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..case import Case
from ..reports.victims import area as victims_area
from ..reports.victims import region_box
from ..stages.previews import make_preview
from ..store import models as m
from ..users import budget
from . import keyframes

MF, CM, MA, F = m.MEDIA_FILES, m.CLUSTER_MEMBERS, m.MEDIA_ANALYSIS, m.FINDINGS
PV, D, OCC, MSG, CH = m.PREVIEWS, m.DECISIONS, m.MEDIA_OCCURRENCES, m.MESSAGES, m.CHATS
R, RD = m.REVEALS, m.REVIEW_DAYS

REVEAL_SECONDS = 30  # how long one reveal stays viewable
REVEAL_SIZE = 320
REVEAL_BLUR = 8  # px at REVEAL_SIZE: shapes readable, detail still soft
BREAK_AFTER = 3600  # seconds of review before a break prompt
ACTIVE_GAP = 300  # a gap up to this long between review requests counts as review time
BREAK_GAP = 600  # a gap this long counts as a break
SEVERITY = {"csam": 100, "ncii": 80, "voyeur": 70, "doxx": 60, "benign": 0}
PARTIAL_METHODS = ("pdq_region", "features")
PARTIAL_KINDS = ("media.victim_match", "media.match")
SENTENCE = {
    "media.victim_match": "Part of this image matches her photo",
    "media.match": "Part of this image matches a listed file",
}


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def today(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


def _actor_names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    AN = m.ACTOR_NAMES
    out: dict[int, str] = {}
    for r in conn.execute(
        select(AN.c.actor_id, AN.c.name_kind, AN.c.value)
        .where(AN.c.actor_id.in_(ids))
        .order_by(AN.c.id)
    ):
        if r.name_kind == "display_name" or r.actor_id not in out:
            out[r.actor_id] = r.value
    return out


def area(box: list[int], width: int | None, height: int | None) -> str:
    """A region in words: "x 120-560, y 40-400 of 800×600 px (about 30% of the image, centre)";
    the English half of the caseworkers' report's wording."""
    return victims_area(box, width, height)[1]


def partial_matches(conn: Connection, shas: list[str]) -> list[dict[str, Any]]:
    """Partial matches of these files: one entry per file, finding kind and area.

    [{"finding": "media.victim_match" | "media.match", "sentence", "method" ("pdq_region" or
    "features"), "sha256" (the member that matched), "region" [x0, y0, x1, y1] in that file's
    pixels (display orientation), "source_region" (features: the area of her photo) or None,
    "list" (hash-list name) or None, "width", "height" (that file's size, or None), "area"
    (the region in words, `area()`)}]. Whole-
    image matches (`exact`, `pdq`, `vpdq`) are not partial and do not appear."""
    if not shas:
        return []
    sizes = {
        r.sha256: (r.aw or r.fw, r.ah or r.fh)
        for r in conn.execute(
            select(
                MF.c.sha256,
                MF.c.width.label("fw"),
                MF.c.height.label("fh"),
                MA.c.width.label("aw"),
                MA.c.height.label("ah"),
            )
            .join(MA, MA.c.media_id == MF.c.id, isouter=True)
            .where(MF.c.sha256.in_(shas))
        )
    }
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in conn.execute(
        select(F.c.kind, F.c.media_sha256, F.c.detail)
        .where(F.c.kind.in_(PARTIAL_KINDS), F.c.media_sha256.in_(shas))
        .order_by(F.c.id)
    ):
        d = r.detail or {}
        box = region_box(d.get("region"))
        if d.get("method") not in PARTIAL_METHODS or box is None:
            continue
        listed = d.get("list") if r.kind == "media.match" else None
        key = (r.kind, r.media_sha256, tuple(box), listed)
        width, height = sizes.get(r.media_sha256, (None, None))
        out.setdefault(
            key,
            {
                "finding": r.kind,
                "sentence": SENTENCE[r.kind],
                "method": d["method"],
                "sha256": r.media_sha256,
                "region": box,
                "source_region": region_box(d.get("source_region")),
                "list": listed,
                "width": width,
                "height": height,
                "area": area(box, width, height),
            },
        )
    return sorted(out.values(), key=lambda p: (p["finding"] != "media.victim_match", p["sha256"]))


def clusters(case: Case) -> list[dict[str, Any]]:
    """Every cluster, most severe first. Each: {"sha256" (representative), "media_id", "kind",
    "members", "postings", "first_posted_utc", "first_poster", "chats" [(name, count)],
    "matches" [{"list", "category", "algorithm", "distance"}], "nudity" {"score", "labels"}
    or None, "dox_links", "decision" or None, "blocked" (reason no pixels may be shown, or
    None), "has_preview" (an image's stored preview), "keyframes" (a video's blurred keyframe
    strip may be shown), "partial" (`partial_matches()` of its members), "severity"}."""
    with case.engine.connect() as conn:
        members: dict[int, list[Any]] = defaultdict(list)
        for r in conn.execute(
            select(CM, MF.c.sha256, MF.c.vault_state, MA.c.kind)
            .join(MF, MF.c.id == CM.c.media_id)
            .join(MA, MA.c.media_id == CM.c.media_id, isouter=True)
            .order_by(CM.c.cluster_id, CM.c.media_id)
        ):
            members[r.cluster_id].append(r)
        matches: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
        nudity: dict[str, Any] = {}
        for r in conn.execute(
            select(F.c.kind, F.c.media_sha256, F.c.score, F.c.detail).where(
                F.c.kind.in_(("media.match", "media.nudity"))
            )
        ):
            d = r.detail or {}
            if r.kind == "media.match":
                key = (d.get("list"), d.get("algorithm"), d.get("distance"))
                matches[r.media_sha256][key] = {
                    "list": d.get("list"),
                    "category": d.get("category"),
                    "algorithm": d.get("algorithm"),
                    "distance": d.get("distance"),
                }
            elif r.media_sha256 not in nudity or r.score > nudity[r.media_sha256]["score"]:
                nudity[r.media_sha256] = {"score": r.score, "labels": d.get("labels") or {}}
        decisions: dict[str, Any] = {}
        for r in conn.execute(select(D).order_by(D.c.id)):
            decisions[r.media_sha256] = r
        dox_links: Counter[str] = Counter()
        for (linked,) in conn.execute(select(m.DOXES.c.linked_media)):
            for sha in linked or []:
                dox_links[sha] += 1
        previews = set(conn.execute(select(PV.c.media_id)).scalars())
        partial: dict[str, list[dict[str, Any]]] = defaultdict(list)
        flagged = list(
            conn.execute(
                select(F.c.media_sha256)
                .where(F.c.kind.in_(PARTIAL_KINDS), F.c.media_sha256.is_not(None))
                .distinct()
            ).scalars()
        )
        for start in range(0, len(flagged), 500):
            for p in partial_matches(conn, flagged[start : start + 500]):
                partial[p["sha256"]].append(p)
        chats: dict[int, Counter[str]] = defaultdict(Counter)
        for r in conn.execute(
            select(OCC.c.media_id, CH.c.name, func.count().label("n"))
            .join(MSG, MSG.c.id == OCC.c.message_pk)
            .join(CH, CH.c.id == MSG.c.chat_id)
            .where(OCC.c.media_id.is_not(None))
            .group_by(OCC.c.media_id, CH.c.name)
        ):
            chats[r.media_id][r.name or "(unnamed chat)"] += r.n
        firsts = {
            r.id: r.sender_id
            for r in conn.execute(
                select(MSG.c.id, MSG.c.sender_id).where(
                    MSG.c.id.in_(
                        select(CM.c.first_message_pk).where(CM.c.media_id == CM.c.cluster_id)
                    )
                )
            )
        }
        names = _actor_names(conn, {s for s in firsts.values() if s is not None})
    out = []
    for cluster_id, rows in members.items():
        rep = next((r for r in rows if r.media_id == cluster_id), rows[0])
        shas = [r.sha256 for r in rows]
        found = list({k: x for s in shas for k, x in matches.get(s, {}).items()}.values())
        nude = max((nudity[s] for s in shas if s in nudity), key=lambda x: x["score"], default=None)
        decided = [decisions[s] for s in shas if s in decisions]
        decision = max(decided, key=lambda d: d.id, default=None)
        where: Counter[str] = Counter()
        for r in rows:
            where.update(chats.get(r.media_id, {}))
        postings = sum(r.postings or 0 for r in rows)
        first = min(
            (r for r in rows if r.first_posted_utc is not None),
            key=lambda r: r.first_posted_utc,
            default=None,
        )
        poster_id = firsts.get(first.first_message_pk) if first else None
        links = sum(dox_links.get(s, 0) for s in shas)
        blocked = _blocked_reason(rows, found, decision)
        severity: float = max((SEVERITY.get(x["category"], 50) for x in found), default=0)
        severity += 40 * (nude["score"] if nude else 0) + 30 * min(links, 1)
        severity += 10 * math.log10(1 + postings)
        out.append(
            {
                "sha256": rep.sha256,
                "media_id": rep.media_id,
                "kind": rep.kind or "unknown",
                "members": len(rows),
                "postings": postings,
                "first_posted_utc": first.first_posted_utc if first else None,
                "first_poster": names.get(poster_id, "unknown") if poster_id else "unknown",
                "chats": where.most_common(),
                "matches": found,
                "nudity": nude,
                "dox_links": links,
                "decision": dict(decision._mapping) if decision else None,
                "blocked": blocked,
                "has_preview": rep.media_id in previews and blocked is None,
                "keyframes": rep.kind == "video" and blocked is None,
                "partial": [p for s in shas for p in partial.get(s, [])],
                "severity": round(severity, 1),
            }
        )
    out.sort(key=lambda c: (c["decision"] is not None, -c["severity"], c["media_id"]))
    return out


def _blocked_reason(rows: list[Any], found: list[dict[str, Any]], decision: Any) -> str | None:
    if any(r.vault_state != "stored" for r in rows):
        return "a member of this cluster is quarantined or sealed"
    if any(x["category"] == "csam" for x in found):
        return "a member of this cluster matched a CSAM list"
    if decision is not None and decision.category == "csam":
        return "this cluster was decided CSAM-suspected"
    return None


def cluster(case: Case, sha256: str) -> dict[str, Any] | None:
    """The cluster whose representative is `sha256`, as in `clusters()`, or None."""
    return next((c for c in clusters(case) if c["sha256"] == sha256), None)


def blocked(conn: Connection, sha256: str) -> str | None:
    """Why no pixels of this file may be shown (None: allowed). Checks the whole cluster."""
    row = conn.execute(select(MF.c.id, MF.c.vault_state).where(MF.c.sha256 == sha256)).first()
    if row is None:
        return "no such file"
    cid = conn.execute(select(CM.c.cluster_id).where(CM.c.media_id == row.id)).scalar()
    ids = (
        [row.id]
        if cid is None
        else list(conn.execute(select(CM.c.media_id).where(CM.c.cluster_id == cid)).scalars())
    )
    rows = conn.execute(select(MF.c.sha256, MF.c.vault_state).where(MF.c.id.in_(ids))).all()
    shas = [r.sha256 for r in rows]
    if any(r.vault_state != "stored" for r in rows):
        return "a member of this cluster is quarantined or sealed"
    for (detail,) in conn.execute(
        select(F.c.detail).where(F.c.kind == "media.match", F.c.media_sha256.in_(shas))
    ):
        if (detail or {}).get("category") == "csam":
            return "a member of this cluster matched a CSAM list"
    newest = conn.execute(
        select(D.c.category).where(D.c.media_sha256.in_(shas)).order_by(D.c.id.desc()).limit(1)
    ).scalar()
    if newest == "csam":
        return "this cluster was decided CSAM-suspected"
    return None


def _members(conn: Connection, sha256: str) -> list[str]:
    """SHA-256 of every member of the cluster `sha256` belongs to (itself when unclustered)."""
    media_id = conn.execute(select(MF.c.id).where(MF.c.sha256 == sha256)).scalar()
    cid = conn.execute(select(CM.c.cluster_id).where(CM.c.media_id == media_id)).scalar()
    if cid is None:
        return [sha256]
    return list(
        conn.execute(
            select(MF.c.sha256).join(CM, CM.c.media_id == MF.c.id).where(CM.c.cluster_id == cid)
        ).scalars()
    )


def outline(preview: bytes, boxes: list[tuple[float, float, float, float]]) -> bytes:
    """The blurred preview with each box (fractions of the picture: x0, y0, x1, y1) outlined:
    a black band with a white band inside, visible on dark and light areas. Greyscale JPEG."""
    with Image.open(io.BytesIO(preview)) as src:
        im = src.convert("L")
    width, height = im.size
    band = max(2, round(max(width, height) / 100))
    draw = ImageDraw.Draw(im)
    for fx0, fy0, fx1, fy1 in boxes:
        x0 = min(max(0, round(fx0 * width)), width - 1)
        y0 = min(max(0, round(fy0 * height)), height - 1)
        x1 = min(max(x0 + 1, round(fx1 * width) - 1), width - 1)
        y1 = min(max(y0 + 1, round(fy1 * height) - 1), height - 1)
        draw.rectangle((x0, y0, x1, y1), outline=0, width=band)
        if x1 - x0 > 2 * band and y1 - y0 > 2 * band:
            inner = (x0 + band, y0 + band, x1 - band, y1 - band)
            draw.rectangle(inner, outline=255, width=band)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def _fractions(p: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """A partial match's region as fractions of its file's size (None: size unknown)."""
    width, height = p.get("width"), p.get("height")
    if not width or not height:
        return None
    x0, y0, x1, y1 = p["region"]
    return (x0 / width, y0 / height, min(x1, width) / width, min(y1, height) / height)


def preview_bytes(case: Case, sha256: str) -> bytes | None:
    """The stored blurred preview of a representative, or None when none may be shown.

    Where a member of the cluster has a partial match (`partial_matches()`), the matched areas
    are outlined on the stored preview (scaled from the matched file's size to the preview's;
    a member other than the representative is a near-duplicate, so its area is placed at the
    same fractions of the picture). Otherwise the stored bytes are returned unchanged."""
    with case.engine.connect() as conn:
        if blocked(conn, sha256) is not None:
            return None
        psha = conn.execute(
            select(PV.c.sha256).join(MF, MF.c.id == PV.c.media_id).where(MF.c.sha256 == sha256)
        ).scalar()
        if psha is None:
            return None
        boxes = [f for p in partial_matches(conn, _members(conn, sha256)) if (f := _fractions(p))]
    try:
        data = case.vault.read(psha)
    except Exception:  # noqa: BLE001 - a missing preview is shown as none
        return None
    if not boxes:
        return data
    try:
        return outline(data, boxes)
    except Exception:  # noqa: BLE001 - an undecodable preview is shown as none
        return None


# -- exposure accounting --------------------------------------------------------------------
def touch_review(case: Case, user_id: int, now: datetime | None = None) -> None:
    """Count time on review pages: gaps up to ACTIVE_GAP add to today's review time; a gap of
    BREAK_GAP or more counts as a break."""
    try:
        _touch(case, user_id, now or datetime.now(UTC))
    except IntegrityError:  # a parallel request of the same user made today's row first
        _touch(case, user_id, now or datetime.now(UTC))


def _touch(case: Case, user_id: int, now: datetime) -> None:
    day = today(now)
    with case.engine.begin() as conn:
        row = conn.execute(select(RD).where(RD.c.user_id == user_id, RD.c.day == day)).first()
        if row is None:
            conn.execute(
                insert(RD).values(
                    user_id=user_id,
                    day=day,
                    active_seconds=0,
                    since_break_seconds=0,
                    last_seen_utc=_iso(now),
                )
            )
            return
        gap = (now - _parse(row.last_seen_utc)).total_seconds() if row.last_seen_utc else 0
        add = int(gap) if 0 < gap <= ACTIVE_GAP else 0
        since = 0 if gap >= BREAK_GAP else row.since_break_seconds + add
        conn.execute(
            update(RD)
            .where(RD.c.user_id == user_id, RD.c.day == day)
            .values(
                active_seconds=row.active_seconds + add,
                since_break_seconds=since,
                last_seen_utc=_iso(now),
            )
        )


def took_break(case: Case, user_id: int, who: str) -> None:
    """The reviewer confirmed a break: the hourly prompt starts counting again."""
    day = today()
    with case.begin() as conn:
        conn.execute(
            update(RD).where(RD.c.user_id == user_id, RD.c.day == day).values(since_break_seconds=0)
        )
        case.log(conn, "web.break", {"user": who}, who)


def meter(case: Case, user_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Today's exposure of one user against the case budget: {"reveals_used",
    "reveals_budget", "minutes_used", "minutes_budget", "stopped", "reveals_left",
    "break_due"}."""
    day = today(now)
    limit = budget(case)
    with case.engine.connect() as conn:
        reveals = conn.execute(
            select(func.count()).where(R.c.user_id == user_id, R.c.day == day)
        ).scalar_one()
        row = conn.execute(
            select(RD.c.active_seconds, RD.c.since_break_seconds).where(
                RD.c.user_id == user_id, RD.c.day == day
            )
        ).first()
    active, since = (row.active_seconds, row.since_break_seconds) if row else (0, 0)
    minutes = active / 60
    stopped = minutes >= limit["minutes"]
    return {
        "reveals_used": reveals,
        "reveals_budget": limit["reveals"],
        "reveals_left": max(0, limit["reveals"] - reveals),
        "minutes_used": round(minutes, 1),
        "minutes_budget": limit["minutes"],
        "stopped": stopped,
        "reveals_stopped": reveals >= limit["reveals"] or stopped,
        "break_due": since >= BREAK_AFTER,
    }


class Refused(Exception):
    """A reveal that may not happen; the message says why."""


def reveal(case: Case, user_id: int, who: str, sha256: str) -> dict[str, Any]:
    """Record one reveal of a cluster representative and log it as `media.reveal`.

    Returns {"id", "sha256", "started_utc", "seconds"}. Raises Refused when the file is blocked,
    not an image, or the user's daily budget is spent."""
    state = meter(case, user_id)
    if state["stopped"]:
        raise Refused("your review time for today is used up: the review is closed until tomorrow")
    if state["reveals_stopped"]:
        raise Refused("your reveals for today are used up")
    now = datetime.now(UTC)
    with case.begin() as conn:
        why = blocked(conn, sha256)
        if why is not None:
            raise Refused(f"no reveal: {why}")
        kind = conn.execute(
            select(MA.c.kind).join(MF, MF.c.id == MA.c.media_id).where(MF.c.sha256 == sha256)
        ).scalar()
        if kind not in ("image", "video"):
            raise Refused("reveal is only for images and videos")
        values = {
            "user_id": user_id,
            "day": today(now),
            "media_sha256": sha256,
            "started_utc": _iso(now),
            "seconds": REVEAL_SECONDS,
        }
        key = conn.execute(insert(R).values(**values)).inserted_primary_key
        assert key is not None
        reveal_id = key[0]
        case.log(
            conn,
            "media.reveal",
            {"user": who, "sha256": sha256, "reveal": reveal_id, "seconds": REVEAL_SECONDS},
            who,
        )
    return {
        "id": reveal_id,
        "sha256": sha256,
        "started_utc": values["started_utc"],
        "seconds": REVEAL_SECONDS,
    }


def active_reveal(case: Case, user_id: int, reveal_id: int) -> dict[str, Any] | None:
    """The reveal when it is this user's and still within its time, else None."""
    with case.engine.connect() as conn:
        row = conn.execute(select(R).where(R.c.id == reveal_id, R.c.user_id == user_id)).first()
    if row is None:
        return None
    ends = _parse(row.started_utc) + timedelta(seconds=row.seconds)
    left = (ends - datetime.now(UTC)).total_seconds()
    if left <= 0:
        return None
    return {"id": row.id, "sha256": row.media_sha256, "seconds_left": int(math.ceil(left))}


def _kind(conn: Connection, sha256: str) -> str | None:
    kind: str | None = conn.execute(
        select(MA.c.kind).join(MF, MF.c.id == MA.c.media_id).where(MF.c.sha256 == sha256)
    ).scalar()
    return kind


def reveal_bytes(case: Case, sha256: str) -> bytes | None:
    """A less-blurred greyscale view made now from the vault copy (never the original bytes),
    or None when the file is blocked: for an image one picture, for a video a strip of
    keyframes (`perisai.web.keyframes`)."""
    with case.engine.connect() as conn:
        if blocked(conn, sha256) is not None:
            return None
        kind = _kind(conn, sha256)
    try:
        data = case.vault.read(sha256)
        if kind == "video":
            return keyframes.strip(data, size=keyframes.REVEAL_SIZE, blur=keyframes.REVEAL_BLUR)
        return make_preview(data, size=REVEAL_SIZE, blur=REVEAL_BLUR)
    except Exception:  # noqa: BLE001 - an unreadable file shows nothing
        return None


_STRIPS: OrderedDict[str, bytes] = OrderedDict()  # blurred strips only; checked before use
_STRIPS_MAX = 64
_strips_lock = threading.Lock()


def keyframe_bytes(case: Case, sha256: str) -> bytes | None:
    """The blurred greyscale keyframe strip of a video (made from the vault copy, cached per
    process), or None when the file is blocked, not a video, or cannot be decoded. Whether it
    is blocked is checked in the database on every call, before any cached strip is used."""
    key = f"{case.root}:{sha256}"
    with case.engine.connect() as conn:
        if blocked(conn, sha256) is not None or _kind(conn, sha256) != "video":
            with _strips_lock:
                _STRIPS.pop(key, None)  # not even a blurred copy of a blocked file stays
            return None
    with _strips_lock:
        if key in _STRIPS:
            _STRIPS.move_to_end(key)
            return _STRIPS[key]
    try:
        made = keyframes.strip(case.vault.read(sha256))
    except Exception:  # noqa: BLE001 - an undecodable video shows nothing
        return None
    with _strips_lock:
        _STRIPS[key] = made
        while len(_STRIPS) > _STRIPS_MAX:
            _STRIPS.popitem(last=False)
    return made
