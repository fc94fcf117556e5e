"""Offender profiles: per numeric Telegram id, what the evidence alleges they did.

Every profile is an allegation (`"allegation": true`) with its sources (message links, or
`chat_id/message_id` where the chat has no links). Names come from the export as seen at
capture, with first and last seen. Roles come from service events; `members`, `inviter` and
`author` are display names in an export, so roles given to someone *by name* (the inviter of a
link join, an author signature) are marked `"inferred": true`, and only when exactly one actor
of the case was seen with that display name.

Harm score (the sort order; documented in docs/analysis.md)::

    harm = sum over findings on their messages of WEIGHTS[kind] (media.match by category)
         + 3 per dox record (score >= 0.6) they posted
         + 1 per media cluster they posted first, 0.25 per repost
         + 1 per creator/inviter/pinner/admin_signature/link_inviter role
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..case import Case
from ..detect.dox import DOX_THRESHOLD
from ..stats import _latest
from ..store import models as m
from . import iso_utc

MSG, ACT, NAMES, CHAT, SE = m.MESSAGES, m.ACTORS, m.ACTOR_NAMES, m.CHATS, m.SERVICE_EVENTS
OCC, MF, CM, F = m.MEDIA_OCCURRENCES, m.MEDIA_FILES, m.CLUSTER_MEMBERS, m.FINDINGS

WEIGHTS = {
    "intent.csam_coded": 8.0,
    "intent.sextortion": 5.0,
    "intent.trade": 2.0,
    "intent.solicitation": 2.0,
    "media.nudity": 1.0,
    "media.victim_match": 5.0,
    "pii.ic": 1.5,
    "pii.address": 1.5,
    "pii.phone": 1.0,
    "pii.email": 1.0,
    "pii.handle": 0.5,
    "pii.bank_account": 0.25,
    "pii.plate": 0.5,
    "pii.location": 1.0,
    "link.telegram": 0.25,
}
MATCH_WEIGHTS = {"csam": 20.0, "ncii": 8.0, "voyeur": 8.0, "doxx": 4.0, "benign": 0.0}
DOX_WEIGHT, FIRST_WEIGHT, REPOST_WEIGHT, ROLE_WEIGHT = 3.0, 1.0, 0.25, 1.0
_WEIGHTED_ROLES = {"creator", "inviter", "link_inviter", "pinner", "admin_signature"}
ROLE_OF = {
    "create_group": "creator",
    "create_channel": "creator",
    "migrate_to_supergroup": "migrator",
    "invite_members": "inviter",
    "remove_members": "remover",
    "migrate_from_group": "migrator",
    "join_group_by_link": "joined_by_link",
    "join_group_by_request": "joined_by_request",
    "pin_message": "pinner",
    "edit_group_title": "title_editor",
    "edit_group_photo": "photo_editor",
    "set_messages_ttl": "auto_delete_setter",
}


def _source(chat_tg: int, message_id: int, link: str | None) -> str:
    return link or f"{chat_tg}/{message_id}"


def _detail(action: str, detail: dict[str, Any]) -> str:
    if action in ("create_group", "create_channel", "edit_group_title", "migrate_from_group"):
        members = detail.get("members")
        title = str(detail.get("title", ""))
        if members:
            return f"{title} (members: {', '.join(str(x) for x in members)})"
        return title
    if action in ("invite_members", "remove_members"):
        return ", ".join("(deleted account)" if x is None else str(x) for x in detail["members"])
    if action == "join_group_by_link":
        return f"invited by {detail.get('inviter')}" if detail.get("inviter") else ""
    if action == "pin_message":
        return f"pinned message {detail.get('message_id')}"
    if action == "set_messages_ttl":
        return f"auto-delete after {detail.get('period')} s"
    return ""


def names_index(conn: Any) -> dict[str, list[int]]:
    """Display name -> actor pks seen with it (for inferring who a name in an event is)."""
    out: dict[str, list[int]] = {}
    for actor, value in conn.execute(
        select(NAMES.c.actor_id, NAMES.c.value).where(NAMES.c.name_kind == "display_name")
    ):
        pks = out.setdefault(value, [])
        if actor not in pks:
            pks.append(actor)
    return out


def profiles(case: Case) -> list[dict[str, Any]]:
    """One profile per actor with a numeric Telegram id who posted anything (service
    messages included), sorted by harm score (highest first), then Telegram id."""
    latest = _latest()
    with case.engine.connect() as conn:
        actors = {
            r.id: r
            for r in conn.execute(
                select(ACT.c.id, ACT.c.tg_id, ACT.c.key, ACT.c.kind).where(ACT.c.tg_id.is_not(None))
            )
        }
        chat_tg = dict(conn.execute(select(CHAT.c.id, CHAT.c.tg_id)).all())
        msgs = conn.execute(
            select(MSG.c.id, MSG.c.chat_id, MSG.c.message_id, MSG.c.sender_id, MSG.c.date_utc)
            .add_columns(MSG.c.type, MSG.c.via_bot, MSG.c.link)
            .where(MSG.c.id.in_(select(latest.c.id)))
            .order_by(MSG.c.date_utc, MSG.c.chat_id, MSG.c.message_id)
        ).all()
        names = conn.execute(
            select(NAMES.c.actor_id, NAMES.c.name_kind, NAMES.c.value)
            .add_columns(NAMES.c.first_seen_utc, NAMES.c.last_seen_utc)
            .where(NAMES.c.actor_id.in_(list(actors)))
        ).all()
        by_name = names_index(conn)
        events = conn.execute(
            select(SE.c.message_pk, SE.c.action, SE.c.actor_id, SE.c.detail).order_by(SE.c.id)
        ).all()
        finds = conn.execute(
            select(F.c.message_pk, F.c.kind, F.c.detail).where(
                F.c.message_pk.in_(select(latest.c.id))
            )
        ).all()
        doxes = conn.execute(
            select(m.DOXES.c.sender_id, m.DOXES.c.first_message_pk).where(
                m.DOXES.c.score >= DOX_THRESHOLD
            )
        ).all()
        occurrences = conn.execute(
            select(OCC.c.message_pk, OCC.c.media_id, CM.c.cluster_id)
            .outerjoin(CM, CM.c.media_id == OCC.c.media_id)
            .where(OCC.c.media_id.is_not(None), OCC.c.role != "thumbnail")
            .where(OCC.c.message_pk.in_(select(latest.c.id)))
        ).all()
        sha = dict(conn.execute(select(MF.c.id, MF.c.sha256)).all())
        authored = conn.execute(
            select(MSG.c.id, MSG.c.raw)
            .where(MSG.c.id.in_(select(latest.c.id)), MSG.c.raw.contains('"author"'))
            .order_by(MSG.c.id)
        ).all()

    msg_of: dict[int, Any] = {r.id: r for r in msgs}
    display: dict[int, str] = {}
    for value, pks in by_name.items():
        for pk in pks:
            display.setdefault(pk, value)
    profile: dict[int, dict[str, Any]] = {}

    def get(actor_pk: int | None) -> dict[str, Any] | None:
        if actor_pk is None or actor_pk not in actors:
            return None
        p = profile.get(actor_pk)
        if p is None:
            a = actors[actor_pk]
            p = profile[actor_pk] = {
                "tg_id": int(a.tg_id),
                "key": a.key,
                "kind": a.kind,
                "_chats": set(),
                "messages": 0,
                "service_messages": 0,
                "_findings": Counter(),
                "_first": None,
                "_last": None,
                "roles": [],
                "_bots": set(),
                "doxes": 0,
                "_clusters": {},
                "_sources": set(),
                "_harm": 0.0,
            }
        return p

    def note(p: dict[str, Any], r: Any) -> str:
        src = _source(chat_tg[r.chat_id], r.message_id, r.link)
        p["_sources"].add(src)
        return src

    for row in msgs:
        p = get(row.sender_id)
        if p is None:
            continue
        p["_chats"].add(chat_tg[row.chat_id])
        if row.type == "service":
            p["service_messages"] += 1
        else:
            p["messages"] += 1
        if row.date_utc is not None:
            p["_first"] = row.date_utc if p["_first"] is None else min(p["_first"], row.date_utc)
            p["_last"] = row.date_utc if p["_last"] is None else max(p["_last"], row.date_utc)
        if row.via_bot:
            p["_bots"].add(row.via_bot)

    for pk, kind, detail in finds:
        r = msg_of.get(pk)
        p = get(r.sender_id) if r is not None else None
        if p is None:
            continue
        p["_findings"][kind] += 1
        if kind == "media.match":
            p["_harm"] += MATCH_WEIGHTS.get((detail or {}).get("category", ""), 4.0)
        else:
            p["_harm"] += WEIGHTS.get(kind, 0.5)
        note(p, r)

    for sender, first_pk in doxes:
        p = get(sender)
        if p is not None:
            p["doxes"] += 1
            p["_harm"] += DOX_WEIGHT
            if first_pk in msg_of:
                note(p, msg_of[first_pk])

    def role(p: dict[str, Any] | None, name: str, r: Any, detail: str, inferred: bool) -> None:
        if p is None:
            return
        entry = {
            "role": name,
            "chat_id": chat_tg[r.chat_id],
            "message_id": r.message_id,
            "detail": detail,
            "date_utc": iso_utc(r.date_utc),
            "inferred": inferred,
            "source": note(p, r),
        }
        p["roles"].append(entry)
        if name in _WEIGHTED_ROLES:
            p["_harm"] += ROLE_WEIGHT

    def by_display_name(name: Any) -> dict[str, Any] | None:
        pks = by_name.get(name) if isinstance(name, str) else None
        return get(pks[0]) if pks and len(pks) == 1 else None

    for message_pk, action, actor_pk, detail in events:
        r = msg_of.get(message_pk)
        if r is None:
            continue
        detail = detail or {}
        name = ROLE_OF.get(action, action)
        role(get(actor_pk), name, r, _detail(action, detail), False)
        if action == "join_group_by_link" and detail.get("inviter"):
            key = actors[actor_pk].key if actor_pk in actors else None
            shown = display.get(actor_pk) if actor_pk is not None else None
            who = f"{shown} ({key})" if shown and key else (shown or key or "?")
            role(by_display_name(detail["inviter"]), "link_inviter", r, f"joined: {who}", True)

    for pk, raw in authored:
        r = msg_of.get(pk)
        try:
            author = json.loads(raw).get("author")
        except (ValueError, AttributeError):
            continue
        if r is None or not isinstance(author, str) or not author:
            continue
        role(get(r.sender_id), "admin_signature", r, f"signed by {author}", False)
        signer = by_display_name(author)
        if signer is not None and signer is not get(r.sender_id):
            role(signer, "admin_signature", r, f"signed as {author}", True)

    # Media: which cluster each file belongs to, and the cluster's earliest posting anywhere.
    first_of: dict[int, tuple[Any, ...]] = {}
    posted: list[tuple[int, Any]] = []
    for message_pk, media_id, cluster_id in occurrences:
        r = msg_of.get(message_pk)
        if r is None:
            continue
        cluster = cluster_id if cluster_id is not None else media_id
        key = (r.date_utc or datetime.max, r.chat_id, r.message_id)
        if cluster not in first_of or key < first_of[cluster]:
            first_of[cluster] = key
        posted.append((cluster, r))
    for cluster, r in posted:
        p = get(r.sender_id)
        if p is None:
            continue
        key = (r.date_utc or datetime.max, r.chat_id, r.message_id)
        have = p["_clusters"].get(cluster)
        if have is None or key < have[0]:
            p["_clusters"][cluster] = (key, r)

    out = []
    for actor_pk, p in profile.items():
        clusters = []
        for cluster, (key, r) in sorted(p["_clusters"].items(), key=lambda kv: kv[1][0]):
            first = key == first_of[cluster]
            clusters.append(
                {
                    "cluster_sha256": sha.get(cluster),
                    "first": first,
                    "message_id": r.message_id,
                    "chat_id": chat_tg[r.chat_id],
                    "date_utc": iso_utc(r.date_utc),
                }
            )
            p["_harm"] += FIRST_WEIGHT if first else REPOST_WEIGHT
            if first:
                note(p, r)
        firsts = sum(1 for c in clusters if c["first"])
        out.append(
            {
                "tg_id": p["tg_id"],
                "key": p["key"],
                "kind": p["kind"],
                "names": [],
                "chats": sorted(p["_chats"]),
                "messages": p["messages"],
                "service_messages": p["service_messages"],
                "findings": dict(sorted(p["_findings"].items())),
                "doxes": p["doxes"],
                "first_seen": iso_utc(p["_first"]),
                "last_seen": iso_utc(p["_last"]),
                "roles": p["roles"],
                "bots": sorted(p["_bots"]),
                "media": {
                    "first_posted": firsts,
                    "reposted": len(clusters) - firsts,
                    "clusters": clusters,
                },
                "harm_score": round(p["_harm"], 2),
                "allegation": True,
                "sources": sorted(p["_sources"]),
                "_pk": actor_pk,
            }
        )
    seen: dict[int, dict[tuple[str, str], list[Any]]] = {}
    for actor, kind, value, first, last in names:
        slot = seen.setdefault(actor, {}).setdefault((kind, value), [first, last])
        if first is not None and (slot[0] is None or first < slot[0]):
            slot[0] = first
        if last is not None and (slot[1] is None or last > slot[1]):
            slot[1] = last
    for o in out:
        items = seen.get(o.pop("_pk"), {})
        o["names"] = [
            {"kind": kind, "value": value, "first_seen": iso_utc(f), "last_seen": iso_utc(la)}
            for (kind, value), (f, la) in sorted(
                items.items(), key=lambda kv: (kv[1][0] or datetime.max, kv[0])
            )
        ]
    out.sort(key=lambda o: (-o["harm_score"], o["tg_id"]))
    return out
