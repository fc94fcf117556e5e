"""The police case report: what happened, where, by whom, and how to check the evidence.

Victims' identifiers appear only masked unless the investigator opts in
(`include_identities`); the victim registry never appears here. CSAM appears only as counts,
hashes and message links: no thumbnail is ever made or shown for it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from .. import settings
from ..case import Case
from ..stats import _latest, stats
from ..store import models as m
from . import common as c

TIMELINE_LIMIT = 300
OFFENDER_LIMIT = 10  # in full; the rest in one compact table
OFFENDER_TABLE_LIMIT = 100
HARMFUL = (
    "media.match",
    "media.victim_match",
    "intent.csam_coded",
    "intent.sextortion",
    "intent.trade",
    "intent.solicitation",
    "link.telegram",
)
PEOPLE_LIMIT = 200
MEDIA_ROWS_LIMIT = 500
NOTABLE_SERVICE = {
    "create_group": ("Kumpulan dicipta", "Group created"),
    "create_channel": ("Saluran dicipta", "Channel created"),
    "migrate_to_supergroup": ("Dinaik taraf ke supergroup", "Upgraded to a supergroup"),
    "migrate_from_group": ("Dipindah dari kumpulan asas", "Migrated from a basic group"),
    "edit_group_title": ("Nama kumpulan ditukar", "Group renamed"),
}


def chats_section(conn: Any, lk: c.Lookups) -> list[dict[str, Any]]:
    latest = _latest()
    MSG = m.MESSAGES
    counts = {
        r.chat_id: r
        for r in conn.execute(
            select(
                MSG.c.chat_id,
                func.count().label("n"),
                func.min(MSG.c.date_utc).label("first"),
                func.max(MSG.c.date_utc).label("last"),
                func.count(func.distinct(MSG.c.sender_id)).label("senders"),
            )
            .where(MSG.c.id.in_(select(latest.c.id)))
            .group_by(MSG.c.chat_id)
        )
    }
    bases = c.chat_link_bases(conn)
    out = []
    for pk, chat in sorted(lk.chats.items()):
        r = counts.get(pk)
        base = bases.get(pk)
        out.append(
            {
                "name": chat["name"],
                "type": chat["type"],
                "kind": chat["kind"],
                "tg_id": chat["tg_id"],
                "marked_id": chat["marked_id"],
                "link_base": base,
                "messages": r.n if r else 0,
                "senders": r.senders if r else 0,
                "first": r.first if r else None,
                "last": r.last if r else None,
            }
        )
    return out


def timeline(
    conn: Any,
    lk: c.Lookups,
    media: list[dict[str, Any]],
    people: list[dict[str, Any]],
    include_identities: bool,
) -> tuple[list[dict[str, Any]], int]:
    MSG, SE, F = m.MESSAGES, m.SERVICE_EVENTS, m.FINDINGS
    events: list[dict[str, Any]] = []

    def add(when: Any, ms: str, en: str, ref: dict[str, Any] | None, detail: str = "") -> None:
        events.append({"when": c.as_utc(when), "ms": ms, "en": en, "ref": ref, "detail": detail})

    for r in conn.execute(
        select(SE.c.action, SE.c.detail, MSG.c.chat_id, MSG.c.message_id, MSG.c.link)
        .add_columns(MSG.c.date_utc)
        .join(MSG, MSG.c.id == SE.c.message_pk)
        .where(SE.c.action.in_(list(NOTABLE_SERVICE)))
    ):
        ms, en = NOTABLE_SERVICE[r.action]
        title = (r.detail or {}).get("title") or ""
        add(r.date_utc, ms, en, c.message_ref(lk.chat(r.chat_id), r.message_id, r.link), title)
    latest = _latest()
    for r in conn.execute(
        select(MSG.c.chat_id, func.min(MSG.c.date_utc), func.max(MSG.c.date_utc))
        .where(MSG.c.id.in_(select(latest.c.id)))
        .group_by(MSG.c.chat_id)
    ):
        chat = lk.chat(r[0])
        add(
            r[1],
            "Mesej pertama dalam eksport",
            "First message in the export",
            None,
            chat.get("name") or "",
        )
        add(
            r[2],
            "Mesej terakhir dalam eksport",
            "Last message in the export",
            None,
            chat.get("name") or "",
        )
    for item in media:
        if item["category"] in ("uncategorised", "benign", "none") or not item["where"]:
            continue
        first = item["where"][0]
        ms, en = c.CATEGORY_LABELS[item["category"]]
        add(
            first["date_utc"],
            f"Pertama dihantar: {ms}",
            f"First posted: {en}",
            first,
            f"SHA-256 {item['sha256'][:16]}…",
        )
    for p in people:
        kinds = sorted({i["kind"] for i in p["identifiers"]})
        label = ", ".join(c.KIND_LABELS.get(k, (k, k))[1] for k in kinds)
        ref = p["messages"][0] if p.get("messages") else None
        if ref is not None:
            ref = dict(ref)
            ref.setdefault("chat_name", lk.chat_by_tg.get(ref.get("chat_id"), {}).get("name"))
        add(
            p["first_seen"],
            f"Butiran peribadi orang #{p['id']} didedahkan",
            f"Person #{p['id']}: personal details first exposed",
            ref,
            label,
        )
    for r in conn.execute(
        select(F.c.kind, F.c.value, MSG.c.chat_id, MSG.c.message_id, MSG.c.link, MSG.c.date_utc)
        .join(MSG, MSG.c.id == F.c.message_pk)
        .where(F.c.kind.in_(("link.telegram", "intent.sextortion", "intent.csam_coded")))
    ):
        ms, en = c.KIND_LABELS[r.kind]
        detail = r.value if r.kind == "link.telegram" else ""
        add(r.date_utc, ms, en, c.message_ref(lk.chat(r.chat_id), r.message_id, r.link), detail)
    events.sort(key=lambda e: (e["when"] is None, e["when"] or 0))
    return events[:TIMELINE_LIMIT], len(events)


def _identifier_view(ident: dict[str, Any], include_identities: bool) -> dict[str, Any]:
    kind, value = ident["kind"], ident["value"]
    return {
        "kind": kind,
        "label": c.KIND_LABELS.get(kind, (kind, kind)),
        "value": value if include_identities else c.mask(kind, value),
    }


def people_section(
    conn: Any, lk: c.Lookups, people: list[dict[str, Any]], include_identities: bool
) -> dict[str, Any]:
    kinds: Counter[str] = Counter()
    for p in people:
        for i in p["identifiers"]:
            kinds[i["kind"]] += 1
    rows = []
    for p in people[:PEOPLE_LIMIT]:
        refs = []
        for msg in (p.get("messages") or [])[:6]:
            chat = lk.chat_by_tg.get(msg.get("chat_id"), {})
            ref = c.message_ref(chat, msg.get("message_id"), msg.get("link"))
            ref["date_utc"] = msg.get("date_utc")
            refs.append(ref)
        rows.append(
            {
                "id": p["id"],
                "identifiers": [_identifier_view(i, include_identities) for i in p["identifiers"]],
                "occurrences": p.get("occurrences", 0),
                "chats": [
                    lk.chat_by_tg.get(x, {}).get("name") or str(x) for x in p.get("chat_ids", [])
                ],
                "first_seen": p.get("first_seen"),
                "last_seen": p.get("last_seen"),
                "posted_by": [lk.user(u) for u in p.get("posted_by", [])],
                "linked_media": len(p.get("linked_media", [])),
                "dox_score": p.get("dox_score"),
                "status": p.get("status"),
                "refs": refs,
                "more_refs": max(len(p.get("messages") or []) - len(refs), 0),
            }
        )
    return {
        "count": len(people),
        "shown": len(rows),
        "by_kind": [
            {"kind": k, "label": c.KIND_LABELS.get(k, (k, k)), "n": n}
            for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])
        ],
        "rows": rows,
        "doxes": int(
            conn.execute(select(func.count()).where(m.DOXES.c.score >= c.DOX_THRESHOLD)).scalar()
            or 0
        ),
    }


def _harmful_messages(conn: Any, lk: c.Lookups, tg_id: Any, limit: int = 8) -> list[dict]:
    """The sender's messages with harmful findings or doxes, oldest first."""
    actor = lk.actor_by_tg.get(tg_id)
    if actor is None:
        return []
    F, MSG = m.FINDINGS, m.MESSAGES
    latest = _latest()
    rows = conn.execute(
        select(F.c.kind, MSG.c.chat_id, MSG.c.message_id, MSG.c.link, MSG.c.date_utc)
        .join(MSG, MSG.c.id == F.c.message_pk)
        .where(MSG.c.sender_id == actor["id"], MSG.c.id.in_(select(latest.c.id)))
        .where(F.c.kind.in_(HARMFUL) | F.c.kind.startswith("pii."))
        .order_by(MSG.c.date_utc, MSG.c.message_id)
    )
    by_message: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        key = (r.chat_id, r.message_id)
        ref = by_message.get(key)
        if ref is None:
            if len(by_message) >= limit:
                continue
            ref = c.message_ref(lk.chat(r.chat_id), r.message_id, r.link)
            ref.update(date_utc=r.date_utc, kinds=[])
            by_message[key] = ref
        label = c.KIND_LABELS.get(r.kind, (r.kind, r.kind))[1]
        if label not in ref["kinds"]:
            ref["kinds"].append(label)
    return list(by_message.values())


def offenders_section(
    conn: Any, lk: c.Lookups, profiles: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    top = profiles[:OFFENDER_LIMIT]
    pairs = {(r.get("chat_id"), r.get("message_id")) for p in top for r in p.get("roles", [])}
    links = c.resolve_links(conn, lk, pairs)
    out = []
    for rank, p in enumerate(profiles[:OFFENDER_TABLE_LIMIT], 1):
        person = lk.user(p.get("tg_id"))
        names = p.get("names") or person["names"]
        roles = []
        for role in p.get("roles", [])[:8] if rank <= OFFENDER_LIMIT else []:
            chat = lk.chat_by_tg.get(role.get("chat_id"), {})
            key = (role.get("chat_id"), role.get("message_id"))
            ref = c.message_ref(chat, role.get("message_id"), links.get(key))
            ref["role"] = role.get("role")
            detail = role.get("detail")
            ref["detail"] = detail if isinstance(detail, str) else ""
            roles.append(ref)
        findings = sorted((p.get("findings") or {}).items(), key=lambda kv: -kv[1])
        out.append(
            {
                "rank": rank,
                "tg_id": p.get("tg_id"),
                "names": names,
                "display": c.display_names({"names": names}),
                "messages": p.get("messages", 0),
                "findings": [
                    {"kind": k, "label": c.KIND_LABELS.get(k, (k, k)), "n": n} for k, n in findings
                ],
                "first_seen": p.get("first_seen"),
                "last_seen": p.get("last_seen"),
                "bots": p.get("bots", []),
                "media": p.get("media") or {},
                "roles": roles,
                "evidence": (
                    _harmful_messages(conn, lk, p.get("tg_id")) if rank <= OFFENDER_LIMIT else []
                ),
                "sources": len(p.get("sources", [])),
            }
        )
    return out[:OFFENDER_LIMIT], out[OFFENDER_LIMIT:]


def media_section(case: Case, media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups = []
    for cat in c.CATEGORIES:
        items = [x for x in media if x["category"] == cat]
        if not items:
            continue
        items.sort(key=lambda x: (-(x["postings"] or 0), x["sha256"]))
        rows = []
        for x in items[:MEDIA_ROWS_LIMIT]:
            rows.append(
                {
                    **x,
                    "thumb": None if cat == "csam" else c.preview_uri(case, x),
                    "refs": x["where"][:5],
                    "more_refs": max(len(x["where"]) - 5, 0),
                }
            )
        groups.append(
            {
                "category": cat,
                "label": c.CATEGORY_LABELS[cat],
                "count": len(items),
                "postings": sum(len(x["where"]) for x in items),
                "rows": rows,
                "hidden": len(items) - len(rows),
            }
        )
    return groups


def context(case: Case, *, include_identities: bool = False, who: str | None = None) -> dict:
    counts = stats(case)
    people = c.at_risk(case)
    profiles = c.offender_profiles(case)
    with case.engine.connect() as conn:
        lk = c.Lookups(conn)
        media = c.media_index(case, conn, lk)
        events, n_events = timeline(conn, lk, media, people, include_identities)
        offenders = offenders_section(conn, lk, profiles)
        by_cat = Counter(x["category"] for x in media)
        chats = chats_section(conn, lk)
        firsts = [ch["first"] for ch in chats if ch["first"]]
        lasts = [ch["last"] for ch in chats if ch["last"]]
        facts = {
            "period": (min(firsts) if firsts else None, max(lasts) if lasts else None),
            "csam": by_cat.get("csam", 0),
            "ncii": by_cat.get("ncii", 0) + by_cat.get("voyeur", 0),
            "uncategorised": by_cat.get("uncategorised", 0),
            "confident_people": sum(
                1 for p in people if (p.get("dox_score") or 0) >= c.DOX_THRESHOLD
            ),
            "top": [o for o in offenders[0][:3]],
        }
        ctx = {
            "title": ("Laporan Kes Polis", "Police Case Report"),
            "facts": facts,
            "kind": "police",
            "generated": c.now_utc(),
            "investigator": settings.investigator(who),
            "include_identities": include_identities,
            "stats": counts,
            "finding_rows": [
                {"kind": k, "label": c.KIND_LABELS.get(k, (k, k)), "n": n}
                for k, n in counts["findings"].items()
            ],
            "chats": chats,
            "timeline": events,
            "timeline_total": n_events,
            "offenders": offenders[0],
            "offenders_rest": offenders[1],
            "offenders_total": len(profiles),
            "people": people_section(conn, lk, people, include_identities),
            "media": media_section(case, media),
            "media_total": len(media),
            "custody": c.custody_summary(case, conn),
            "case_dir": str(case.root),
        }
    return ctx
