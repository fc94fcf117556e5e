"""The at-risk register: every person exposed in the chats, without anyone registering.

Every distinct exposed identifier (`pii.phone`, `pii.ic`, `pii.email`, `pii.handle`,
`pii.address`, normalised as the detectors give them) found by the text or OCR stages becomes
part of a person record. Identifiers that belong to one person are merged with a union-find:

- *posted together*: the identifiers of one dox record (one message, or one sender's short
  window, as the dox stage cut it), and the identifiers of one segment of a message;
- *segments*: a message's identifiers are read in text order (OCR text and shared contacts
  are separate streams); a new segment starts where a value appears for a slot the segment
  already holds a different value for (a second phone, IC, e-mail, address, or a second
  handle on the same platform). That is the dox detector's own rule ("a second phone, IC or
  name means a second person"), so one message listing several women gives several people;
- a dox record whose identifiers hold two values for one slot is not merged as a whole:
  its messages' segments are used instead;
- a merge that would give one person two values for one slot is refused, so an identifier
  that recurs beside several women (a seller's number) never joins them into one record.
  Groups are merged in time order, so such an identifier stays with the person it was first
  posted with.

`telegram:` handles that only address a chat member (Telegram's `mention_name` entity, or a
bare `@name` with no platform word before it) are not exposures and are left out.

Ids are 1.. in order of (first_seen, smallest identifier); they are stable as long as no new
data (a new export, a re-run stage) arrives. Outreach statuses are stored per identifier
(keyed hash), so a status survives re-numbering, merges and splits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from .. import custody, settings
from ..case import Case
from ..errors import BadInput
from ..store import models as m
from ..victims import PURPOSE, identifier_digest
from . import iso_utc

F, MSG, CHAT, ACT, DOX = m.FINDINGS, m.MESSAGES, m.CHATS, m.ACTORS, m.DOXES

KINDS = ("pii.phone", "pii.ic", "pii.email", "pii.handle", "pii.address")
_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
STATUSES = ("not_contacted", "contacted", "police_report", "closed")
_STATUS_ALIASES = {
    "not contacted": "not_contacted",
    "not-contacted": "not_contacted",
    "police report": "police_report",
    "police report made": "police_report",
    "police-report": "police_report",
    "police_report_made": "police_report",
}

Ident = tuple[str, str]


# --- identifiers --------------------------------------------------------------------------


def _slot(ident: Ident) -> tuple[str, str]:
    """What one person holds one value of: a handle per platform, a mobile and a landline
    (Malaysian mobiles are +601...), otherwise one per kind."""
    kind, value = ident
    if kind == "pii.handle" and ":" in value:
        return kind, value.split(":", 1)[0]
    if kind == "pii.phone":
        return kind, "mobile" if value.startswith("+601") or not value.startswith(
            "+60"
        ) else "fixed"
    return kind, ""


def _member_mention(kind: str, value: str, score: float, detail: dict[str, Any]) -> bool:
    """A Telegram mention of someone in the chat, not a posted identifier."""
    if kind != "pii.handle" or not value.startswith("telegram:"):
        return False
    if detail.get("entity") == "mention_name":
        return True
    return detail.get("via") == "mention" and score < 0.9


# --- union-find with one value per slot ----------------------------------------------------


class _People:
    def __init__(self) -> None:
        self.parent: dict[Ident, Ident] = {}
        self.slots: dict[Ident, dict[tuple[str, str], str]] = {}

    def add(self, ident: Ident) -> None:
        if ident not in self.parent:
            self.parent[ident] = ident
            self.slots[ident] = {_slot(ident): ident[1]}

    def find(self, ident: Ident) -> Ident:
        root = ident
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[ident] != root:
            self.parent[ident], ident = root, self.parent[ident]
        return root

    def union(self, a: Ident, b: Ident) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        sa, sb = self.slots[ra], self.slots[rb]
        if any(sa[k] != v for k, v in sb.items() if k in sa):
            return False  # two phones (ICs, ...) would be two people
        if (len(sa), ra) < (len(sb), rb):
            ra, rb, sa, sb = rb, ra, sb, sa
        self.parent[rb] = ra
        sa.update(sb)
        del self.slots[rb]
        return True

    def merge(self, group: Iterable[Ident]) -> None:
        items = list(dict.fromkeys(group))
        for ident in items:
            self.add(ident)
        for other in items[1:]:
            self.union(items[0], other)


def _conflicting(idents: Iterable[Ident]) -> bool:
    seen: dict[tuple[str, str], str] = {}
    return any(seen.setdefault(_slot(ident), ident[1]) != ident[1] for ident in idents)


def _segments(found: list[tuple[Any, int, Ident]]) -> list[list[Ident]]:
    """One message's identifiers, (stream, position, ident) in any order, cut into people."""
    out: list[list[Ident]] = []
    for stream in sorted({s for s, _, _ in found}, key=repr):
        current: list[Ident] = []
        slots: dict[tuple[str, str], str] = {}
        for _, _, ident in sorted((f for f in found if f[0] == stream), key=lambda f: f[1:]):
            slot = _slot(ident)
            if slots.get(slot, ident[1]) != ident[1]:
                out.append(current)
                current, slots = [], {}
            slots[slot] = ident[1]
            current.append(ident)
        if current:
            out.append(current)
    return out


# --- the register -------------------------------------------------------------------------


def _load(conn: Any) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """pii findings per message pk, with where and when; and the dox records."""
    messages: dict[int, dict[str, Any]] = {}
    query = (
        select(F.c.message_pk, F.c.kind, F.c.value, F.c.source, F.c.span_start, F.c.score)
        .add_columns(F.c.media_sha256, F.c.detail, CHAT.c.tg_id.label("chat_tg"))
        .add_columns(MSG.c.message_id, MSG.c.date_utc, MSG.c.link, ACT.c.tg_id.label("sender"))
        .select_from(F)
        .join(MSG, MSG.c.id == F.c.message_pk)
        .join(CHAT, CHAT.c.id == MSG.c.chat_id)
        .outerjoin(ACT, ACT.c.id == MSG.c.sender_id)
        .where(F.c.kind.in_(KINDS), F.c.stage.in_(("text", "ocr")))
        .order_by(F.c.message_pk, F.c.id)
    )
    for r in conn.execute(query):
        detail = r.detail or {}
        if _member_mention(r.kind, r.value, r.score, detail):
            continue
        msg = messages.get(r.message_pk)
        if msg is None:
            msg = messages[r.message_pk] = {
                "chat_id": r.chat_tg,
                "message_id": r.message_id,
                "date": r.date_utc,
                "link": r.link,
                "sender": r.sender,
                "found": [],
                "media": set(),
            }
        if r.source == "ocr":
            stream: Any = ("ocr", r.media_sha256 or "")
        elif r.span_start is None:
            stream = ("whole", str(detail.get("from") or r.source))
        else:
            stream = ("text", "")
        msg["found"].append((stream, r.span_start or 0, (r.kind, r.value)))
        if r.source == "ocr" and r.media_sha256:
            msg["media"].add(r.media_sha256)
    doxes = [
        dict(r._mapping)
        for r in conn.execute(
            select(DOX.c.id, DOX.c.message_pks, DOX.c.score, DOX.c.identifiers)
            .add_columns(DOX.c.linked_media)
            .order_by(DOX.c.id)
        )
    ]
    return messages, doxes


def _when(messages: dict[int, dict[str, Any]], pks: Iterable[int]) -> tuple[Any, ...]:
    dates = [messages[pk]["date"] for pk in pks if pk in messages and messages[pk]["date"]]
    return (min(dates) if dates else datetime.max, min(pks, default=0))


def _build(case: Case) -> list[dict[str, Any]]:
    with case.engine.connect() as conn:
        messages, doxes = _load(conn)
    known = {ident for msg in messages.values() for _, _, ident in msg["found"]}

    groups: list[tuple[tuple[Any, ...], list[Ident]]] = []
    for pk, msg in messages.items():
        for segment in _segments(msg["found"]):
            groups.append(((*_when(messages, [pk]), 1), segment))
    dox_of: dict[Ident, list[dict[str, Any]]] = {}
    for dox in doxes:
        idents = [(k, v) for k, v in dox["identifiers"] if (k, v) in known]
        for ident in dict.fromkeys(idents):
            dox_of.setdefault(ident, []).append(dox)
        if len(idents) > 1 and not _conflicting(idents):
            groups.append(((*_when(messages, dox["message_pks"]), 0), idents))
    people = _People()
    for ident in sorted(known):
        people.add(ident)
    for _, group in sorted(groups, key=lambda g: g[0]):
        people.merge(group)

    members: dict[Ident, list[Ident]] = {}
    for ident in sorted(known):
        members.setdefault(people.find(ident), []).append(ident)
    seen_in: dict[Ident, list[int]] = {}
    for pk, msg in messages.items():
        for ident in {i for _, _, i in msg["found"]}:
            seen_in.setdefault(ident, []).append(pk)

    persons = []
    for idents in members.values():
        pks = sorted({pk for i in idents for pk in seen_in.get(i, ())})
        occ: dict[tuple[int, int], dict[str, Any]] = {}
        media: set[str] = set()
        for pk in pks:
            msg = messages[pk]
            media |= msg["media"]
            key = (msg["chat_id"], msg["message_id"])
            if key not in occ or (msg["date"] and not occ[key]["date"]):
                occ[key] = msg
        records = {d["id"]: d for i in idents for d in dox_of.get(i, ())}
        for d in records.values():
            media.update(d["linked_media"] or ())
        score = max((float(d["score"]) for d in records.values()), default=0.0)
        listed = sorted(occ.values(), key=lambda x: (x["date"] or datetime.max, *_key(x)))
        dates = [x["date"] for x in listed if x["date"]]
        ordered = sorted(idents, key=lambda i: (_KIND_ORDER[i[0]], i[1]))
        persons.append(
            {
                "identifiers": [{"kind": k, "value": v} for k, v in ordered],
                "occurrences": len(listed),
                "chat_ids": sorted({x["chat_id"] for x in listed}),
                "first_seen": iso_utc(min(dates)) if dates else None,
                "last_seen": iso_utc(max(dates)) if dates else None,
                "posted_by": sorted({x["sender"] for x in listed if x["sender"] is not None}),
                "linked_media": sorted(media),
                "dox_score": round(score, 2),
                "messages": [
                    {
                        "chat_id": x["chat_id"],
                        "message_id": x["message_id"],
                        "link": x["link"],
                        "date_utc": iso_utc(x["date"]),
                        "sender_id": x["sender"],
                    }
                    for x in listed
                ],
                "_smallest": min(idents),
            }
        )
    persons.sort(key=lambda p: (p["first_seen"] or "~", p["_smallest"]))
    for number, person in enumerate(persons, 1):
        del person["_smallest"]
        person["id"] = number
    return persons


def _key(x: dict[str, Any]) -> tuple[int, int]:
    return (x["chat_id"], x["message_id"])


def _statuses(case: Case, persons: list[dict[str, Any]]) -> None:
    """Each person's newest outreach row over all of her identifiers' digests."""
    key = case.keys.purpose(PURPOSE)
    digests = {
        p["id"]: [identifier_digest(key, i["kind"], i["value"]) for i in p["identifiers"]]
        for p in persons
    }
    with case.engine.connect() as conn:
        rows = conn.execute(
            select(m.OUTREACH.c.digest, m.OUTREACH.c.status, m.OUTREACH.c.note)
            .add_columns(m.OUTREACH.c.set_utc, m.OUTREACH.c.id)
            .order_by(m.OUTREACH.c.set_utc, m.OUTREACH.c.id)
        ).all()
    newest: dict[str, Any] = {}
    for row in rows:
        newest[row.digest] = row
    for p in persons:
        found = [newest[d] for d in digests[p["id"]] if d in newest]
        last = max(found, key=lambda r: (r.set_utc, r.id), default=None)
        p["status"] = last.status if last else "not_contacted"
        p["status_note"] = last.note if last else None
        p["status_set_utc"] = last.set_utc if last else None


_FIELDS: tuple[str, ...] = (
    "id",
    "identifiers",
    "occurrences",
    "chat_ids",
    "first_seen",
    "posted_by",
)
_FIELDS += ("linked_media", "dox_score", "status", "last_seen", "messages", "status_note")


def at_risk(case: Case, min_score: float = 0.0) -> list[dict[str, Any]]:
    """The register: one dict per exposed person (see the module docstring and
    docs/analysis.md). `min_score` keeps only people with a dox score at least that high
    (ids are numbered before filtering, so they do not change with it)."""
    persons = _build(case)
    _statuses(case, persons)
    out = []
    for p in persons:
        if p["dox_score"] < min_score:
            continue
        out.append({k: p[k] for k in _FIELDS} | {"status_set_utc": p["status_set_utc"]})
    return out


def normalise_status(status: str) -> str:
    key = " ".join(status.strip().lower().split())
    key = _STATUS_ALIASES.get(key, key.replace(" ", "_"))
    if key not in STATUSES:
        raise BadInput(f"unknown status {status!r}: choose from {', '.join(STATUSES)}")
    return key


def set_status(
    case: Case, person_id: int, status: str, note: str | None = None, who: str | None = None
) -> dict[str, Any]:
    """Record a caseworker's outreach status for person `person_id` of the current register:
    one outreach row per identifier (keyed hash), logged as `atrisk.status`. Returns the
    person's register entry with the new status."""
    status = normalise_status(status)
    person = next((p for p in at_risk(case) if p["id"] == person_id), None)
    if person is None:
        raise BadInput(f"no at-risk person with id {person_id} (see `perisai atrisk list`)")
    key = case.keys.purpose(PURPOSE)
    digests = [identifier_digest(key, i["kind"], i["value"]) for i in person["identifiers"]]
    when = custody.utc_now()
    investigator = settings.investigator(who)
    with case.begin() as conn:
        conn.execute(
            insert(m.OUTREACH),
            [
                {
                    "digest": d,
                    "status": status,
                    "note": note,
                    "set_utc": when,
                    "investigator": investigator,
                }
                for d in digests
            ],
        )
        case.log(
            conn,
            "atrisk.status",
            {"person": person_id, "status": status, "digests": digests},
            who,
        )
    person.update(status=status, status_note=note, status_set_utc=when)
    return person
