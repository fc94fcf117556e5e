"""What every report reads from a case: chats, names, times, media categories, people.

Reports never change the case (apart from the `report.write` custody event written by
`render`). Everything here reads; people come from `perisai.analysis.atrisk`,
`perisai.analysis.offenders` and `perisai.victims`.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, func, select

from .. import __version__, custody
from ..case import Case
from ..stats import _latest
from ..store import models as m

MYT = timezone(timedelta(hours=8), "MYT")

# Our categories, most severe first. A `benign` list match never suppresses another category.
CATEGORIES = ("csam", "ncii", "voyeur", "doxx", "benign", "none", "uncategorised")
SEVERITY = {c: i for i, c in enumerate(CATEGORIES)}
CATEGORY_LABELS = {
    "csam": ("Bahan penderaan seksual kanak-kanak (CSAM)", "Child sexual abuse material (CSAM)"),
    "ncii": ("Imej intim tanpa kebenaran", "Non-consensual intimate images"),
    "voyeur": ("Rakaman intip / kamera tersembunyi", "Voyeur / hidden-camera material"),
    "doxx": ("Imej yang digunakan untuk dedahkan identiti", "Images used to dox"),
    "benign": ("Tidak berbahaya (senarai dibenarkan)", "Benign (allow-list)"),
    "none": ("Disemak: tiada kandungan berbahaya", "Reviewed: nothing harmful"),
    "uncategorised": ("Belum dikategorikan", "Not yet categorised"),
}
KIND_LABELS = {
    "pii.phone": ("Nombor telefon", "Phone number"),
    "pii.ic": ("Nombor MyKad", "MyKad (IC) number"),
    "pii.email": ("E-mel", "E-mail"),
    "pii.handle": ("Akaun media sosial", "Social-media handle"),
    "pii.address": ("Alamat", "Address"),
    "pii.bank_account": ("Akaun bank", "Bank account"),
    "pii.plate": ("Nombor plat kenderaan", "Vehicle plate"),
    "pii.name": ("Nama", "Name"),
    "link.telegram": ("Pautan kumpulan Telegram (sandaran)", "Telegram group links (backups)"),
    "intent.trade": ("Jual beli / tukar gambar", "Trading images"),
    "intent.sextortion": ("Ugutan seks", "Sextortion"),
    "intent.solicitation": ("Pelacuran / tawaran seks", "Solicitation"),
    "intent.csam_coded": ("Bahasa kod CSAM", "CSAM code words"),
    "media.nudity": ("Kebogelan (pengelas, nasihat sahaja)", "Nudity (classifier, advisory)"),
    "media.match": ("Padanan senarai hash", "Hash-list matches"),
    "media.victim_match": ("Padanan imej mangsa berdaftar", "Registered victim image matches"),
}

_BIDI = re.compile(
    "[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
    "\ud800-\udfff\ufffe\uffff]"
)


def neutralise(text: str) -> str:
    """Show bidi controls (and other invisible controls) as visible escapes, e.g. `\\u202e`.

    An RTL override inside a message could otherwise reorder the rest of a report line."""
    return _BIDI.sub(lambda c: f"\\u{ord(c.group()):04x}", text)


# -- times ----------------------------------------------------------------------------------
def as_utc(value: Any) -> datetime | None:
    """A datetime (naive = UTC, as the store keeps them) or an ISO string, in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: Any) -> str | None:
    dt = as_utc(value)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def when(value: Any) -> str:
    """`2020-09-14 13:03:11 UTC (21:03:11 MYT, UTC+8)`; a dash when unknown."""
    dt = as_utc(value)
    if dt is None:
        return "—"
    local = dt.astimezone(MYT)
    same_day = local.date() == dt.date()
    local_text = local.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S")
    return f"{dt:%Y-%m-%d %H:%M:%S} UTC ({local_text} MYT, UTC+8)"


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# -- masking --------------------------------------------------------------------------------
def mask(kind: str, value: str) -> str:
    """A value a reader can tell apart from others without learning it: +6012•••••89."""
    v = value or ""
    if kind == "pii.phone":
        return v[:5] + "•" * max(len(v) - 7, 3) + v[-2:] if len(v) > 7 else "•" * len(v)
    if kind == "pii.email" and "@" in v:
        user, _, domain = v.partition("@")
        return (user[:1] + "•" * max(len(user) - 1, 3)) + "@" + domain
    if kind == "pii.handle" and ":" in v:
        platform, _, name = v.partition(":")
        return f"{platform}:{name[:1]}{'•' * max(len(name) - 2, 3)}{name[-1:]}"
    if kind in ("pii.address", "pii.name"):
        return f"[{len(v)} aksara / characters]"
    if len(v) <= 4:
        return "•" * len(v)
    return "•" * (len(v) - 2) + v[-2:]


# -- lookups --------------------------------------------------------------------------------
class Lookups:
    """Chats, actors and names, read once per report."""

    def __init__(self, conn: Connection) -> None:
        self.chats: dict[int, dict[str, Any]] = {}
        for r in conn.execute(select(m.CHATS)).mappings():
            self.chats[r["id"]] = dict(r)
        self.chat_by_tg = {c["tg_id"]: c for c in self.chats.values()}
        self.actors: dict[int, dict[str, Any]] = {
            r["id"]: dict(r) for r in conn.execute(select(m.ACTORS)).mappings()
        }
        self.actor_by_tg = {a["tg_id"]: a for a in self.actors.values() if a["tg_id"]}
        names: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in conn.execute(select(m.ACTOR_NAMES).order_by(m.ACTOR_NAMES.c.id)).mappings():
            names[r["actor_id"]].append(
                {
                    "kind": r["name_kind"],
                    "value": r["value"],
                    "first_seen": iso(r["first_seen_utc"]),
                    "last_seen": iso(r["last_seen_utc"]),
                }
            )
        self.names = dict(names)

    def actor_label(self, actor_pk: int | None) -> dict[str, Any]:
        a = self.actors.get(actor_pk) if actor_pk is not None else None
        if a is None:
            return {"tg_id": None, "kind": "unknown", "names": [], "key": None}
        return {
            "tg_id": a["tg_id"],
            "kind": a["kind"],
            "key": a["key"],
            "names": self.names.get(a["id"], []),
        }

    def user(self, tg_id: Any) -> dict[str, Any]:
        a = self.actor_by_tg.get(tg_id)
        if a is None:
            return {"tg_id": tg_id, "kind": "user", "names": [], "key": None}
        return self.actor_label(a["id"])

    def chat(self, chat_pk: int | None) -> dict[str, Any]:
        return self.chats.get(chat_pk or -1) or {}


def display_names(person: dict[str, Any]) -> str:
    seen: list[str] = []
    for n in person.get("names", []):
        text = ("@" + n["value"]) if n["kind"] == "username" else n["value"]
        if text not in seen:
            seen.append(text)
    return ", ".join(seen) if seen else "(tiada nama / no name)"


def message_ref(chat: dict[str, Any], message_id: int | None, link: str | None) -> dict[str, Any]:
    """How to find one message: the t.me link when there is one, numeric ids always."""
    return {
        "chat_id": chat.get("tg_id"),
        "marked_chat_id": chat.get("marked_id"),
        "chat_name": chat.get("name"),
        "message_id": message_id,
        "link": link,
    }


def chat_link_bases(conn: Connection) -> dict[int, str]:
    """Each chat's message-link prefix (`https://t.me/c/123` or `https://t.me/name`), taken
    from a stored message link: chats without links (basic groups, private chats) have none."""
    out: dict[int, str] = {}
    for chat_pk, link in conn.execute(
        select(m.MESSAGES.c.chat_id, func.max(m.MESSAGES.c.link))
        .where(m.MESSAGES.c.link.is_not(None))
        .group_by(m.MESSAGES.c.chat_id)
    ):
        if link and link.startswith("https://t.me/"):
            out[chat_pk] = link.rsplit("/", 1)[0]
    return out


def resolve_links(
    conn: Connection, lk: Lookups, pairs: set[tuple[Any, Any]]
) -> dict[tuple[Any, Any], str | None]:
    """The t.me link of each (chat tg id, message id), newest version; None when none."""
    out: dict[tuple[Any, Any], str | None] = {}
    by_chat: dict[int, set[int]] = defaultdict(set)
    for chat_tg, message_id in pairs:
        chat = lk.chat_by_tg.get(chat_tg)
        if chat is not None and message_id is not None:
            by_chat[chat["id"]].add(int(message_id))
    for chat_pk, ids in by_chat.items():
        tg = lk.chat(chat_pk).get("tg_id")
        id_list = sorted(ids)
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            for message_id, link in conn.execute(
                select(m.MESSAGES.c.message_id, m.MESSAGES.c.link)
                .where(m.MESSAGES.c.chat_id == chat_pk, m.MESSAGES.c.message_id.in_(chunk))
                .order_by(m.MESSAGES.c.version)
            ):
                out[(tg, message_id)] = link
    return out


# -- custody --------------------------------------------------------------------------------
def custody_summary(case: Case, conn: Connection) -> dict[str, Any]:
    t = m.CUSTODY
    n, first, last = conn.execute(
        select(func.count(), func.min(t.c.time_utc), func.max(t.c.time_utc))
    ).one()
    head = custody.read_head(case.head_path) or {}
    ingests = [
        {
            "time_utc": e["time_utc"],
            "actor": e["actor"],
            "body": e["body"],
        }
        for e in custody.events(conn, "ingest")
    ]
    return {
        "events": int(n or 0),
        "first_utc": first,
        "last_utc": last,
        "head_seq": head.get("seq"),
        "head_sha256": head.get("sha256"),
        "ingests": ingests,
        "case_id": case.meta.get("case_id"),
        "case_created_utc": case.meta.get("created_utc"),
        "tool_version": __version__,
    }


# -- media ----------------------------------------------------------------------------------
def media_index(case: Case, conn: Connection, lk: Lookups) -> list[dict[str, Any]]:
    """Every stored file with its category, where it came from, and where it was posted.

    Category: the newest reviewer decision on any member of its cluster wins; otherwise the
    most severe hash-list match (a `benign` list never hides another category); a file whose
    bytes were quarantined or sealed is always `csam`."""
    MF, CM, F, D = m.MEDIA_FILES, m.CLUSTER_MEMBERS, m.FINDINGS, m.DECISIONS
    files = {r["id"]: dict(r) for r in conn.execute(select(MF).order_by(MF.c.id)).mappings()}
    sha_to_id = {f["sha256"]: i for i, f in files.items()}
    cluster = dict(conn.execute(select(CM.c.media_id, CM.c.cluster_id)).all())
    postings = dict(conn.execute(select(CM.c.media_id, CM.c.postings)).all())

    def group(media_id: int) -> int:
        return cluster.get(media_id, -media_id)

    decided: dict[int, dict[str, Any]] = {}
    for d in conn.execute(select(D).order_by(D.c.id)).mappings():
        mid = sha_to_id.get(d["media_sha256"])
        if mid is not None:
            decided[group(mid)] = dict(d)
    matches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sha, detail in conn.execute(
        select(F.c.media_sha256, F.c.detail).where(F.c.kind == "media.match")
    ):
        if sha:
            matches[sha].append(detail or {})
    analysis = {
        r.media_id: r
        for r in conn.execute(
            select(
                m.MEDIA_ANALYSIS.c.media_id,
                m.MEDIA_ANALYSIS.c.kind,
                m.MEDIA_ANALYSIS.c.pdq,
                m.MEDIA_ANALYSIS.c.status,
            )
        )
    }
    previews = dict(conn.execute(select(m.PREVIEWS.c.media_id, m.PREVIEWS.c.sha256)).all())
    nudity: dict[str, float] = {}
    for sha, score in conn.execute(
        select(F.c.media_sha256, func.max(F.c.score))
        .where(F.c.kind == "media.nudity")
        .group_by(F.c.media_sha256)
    ):
        if sha:
            nudity[sha] = float(score)
    where: dict[int, list[dict[str, Any]]] = defaultdict(list)
    latest = _latest()
    OCC, MSG = m.MEDIA_OCCURRENCES, m.MESSAGES
    for r in conn.execute(
        select(OCC.c.media_id, OCC.c.export_path, MSG.c.chat_id, MSG.c.message_id, MSG.c.link)
        .add_columns(MSG.c.date_utc, MSG.c.sender_id)
        .join(MSG, MSG.c.id == OCC.c.message_pk)
        .where(OCC.c.media_id.is_not(None), MSG.c.id.in_(select(latest.c.id)))
        .order_by(MSG.c.date_utc, MSG.c.message_id)
    ):
        ref = message_ref(lk.chat(r.chat_id), r.message_id, r.link)
        ref.update(
            date_utc=r.date_utc,
            sender=lk.actor_label(r.sender_id),
            export_path=r.export_path,
        )
        where[r.media_id].append(ref)
    out = []
    for mid, f in files.items():
        hits = matches.get(f["sha256"], [])
        decision = decided.get(group(mid))
        listed = sorted(
            {h.get("category", "") for h in hits} - {""}, key=lambda k: SEVERITY.get(k, 99)
        )
        harmful = [c for c in listed if c != "benign"]
        if f["vault_state"] != "stored" or "csam" in listed:
            category, source = "csam", "list" if "csam" in listed else "quarantine"
        elif decision is not None:
            category, source = decision["category"], "decision"
        elif harmful:
            category, source = harmful[0], "list"
        elif listed:
            category, source = listed[0], "list"
        else:
            category, source = "uncategorised", None
        if decision is not None and decision["category"] == "csam":
            category = "csam"
        a = analysis.get(mid)
        out.append(
            {
                "id": mid,
                "sha256": f["sha256"],
                "md5": f["md5"],
                "sha1": f["sha1"],
                "size": f["size"],
                "mime": f["mime"],
                "width": f["width"],
                "height": f["height"],
                "vault_state": f["vault_state"],
                "kind": (a.kind if a is not None else None),
                "pdq": (a.pdq if a is not None else None),
                "category": category,
                "category_source": source,
                "lists": sorted({h.get("list", "") for h in hits} - {""}),
                "match_algorithms": sorted({h.get("algorithm", "") for h in hits} - {""}),
                "decision": decision,
                "nudity": nudity.get(f["sha256"]),
                "cluster_id": cluster.get(mid),
                "postings": postings.get(mid) or len(where.get(mid, [])),
                "where": where.get(mid, []),
                "preview_sha256": previews.get(mid),
            }
        )
    return out


def may_show_preview(item: dict[str, Any]) -> bool:
    """Blurred thumbnails only for stored files nobody matched or marked as CSAM."""
    return (
        item["category"] != "csam"
        and item["vault_state"] == "stored"
        and item.get("preview_sha256") is not None
    )


def preview_uri(case: Case, item: dict[str, Any]) -> str | None:
    if not may_show_preview(item):
        return None
    try:
        data = case.vault.read(item["preview_sha256"])
    except Exception:  # noqa: BLE001 - a missing preview is shown as none
        return None
    if data[:3] == b"\xff\xd8\xff":
        mime = "image/jpeg"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        mime = "image/png"
    else:
        return None
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


# -- people ---------------------------------------------------------------------------------
DOX_THRESHOLD = 0.6  # the takedown list and the police counts keep only confident exposures


def at_risk(case: Case) -> list[dict[str, Any]]:
    """People exposed in the chats (the at-risk register)."""
    from ..analysis.atrisk import at_risk as register

    return list(register(case))


def offender_profiles(case: Case) -> list[dict[str, Any]]:
    """Senders ranked most harmful first."""
    from ..analysis.offenders import profiles

    return list(profiles(case))


def registered_victims(case: Case) -> list[dict[str, Any]]:
    """The victim registry: the caseworkers' report only."""
    from ..victims import list_victims

    return list(list_victims(case))


def without_images(value: Any) -> Any:
    """A report context with every embedded image (data: URI) taken out."""
    if isinstance(value, str):
        return None if value.startswith("data:image/") else value
    if isinstance(value, dict):
        return {k: without_images(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_images(v) for v in value)
    return value
