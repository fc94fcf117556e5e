"""The takedown list: message and chat links grouped by harm, each harm with its channels.

One line per item, no media, no victims' identifiers and never the victim registry: a
platform needs the link and the numeric ids, not the content. One accurate report per item
through the official channel; no mass reporting.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import settings
from ..case import Case
from ..stats import _latest
from ..store import models as m
from . import common as c

CHANNELS = {
    "stopca": ("Telegram: stopCA@telegram.org", "e-mail: child abuse only"),
    "iwf": ("IWF Malaysia: report.iwf.org.uk/my", "web form"),
    "pdrm": ("PDRM D11 / MICAC", "police report"),
    "inapp": ("Telegram in-app Report", "long-press the message > Report"),
    "abuse": ("Telegram: abuse@telegram.org", "e-mail"),
    "mcmc": ("MCMC: aduan.mcmc.gov.my", "web form"),
}
HARMS = [
    (
        "csam",
        ("Bahan penderaan seksual kanak-kanak", "Child sexual abuse material"),
        ["stopca", "iwf", "pdrm"],
    ),
    (
        "ncii",
        ("Imej intim tanpa kebenaran", "Non-consensual intimate images"),
        ["inapp", "abuse", "mcmc"],
    ),
    (
        "voyeur",
        ("Rakaman intip / kamera tersembunyi", "Voyeur / hidden-camera material"),
        ["inapp", "abuse", "mcmc"],
    ),
    (
        "doxx",
        ("Pendedahan maklumat peribadi (doxxing)", "Personal data exposed (doxxing)"),
        ["inapp", "abuse", "mcmc"],
    ),
    ("sextortion", ("Ugutan seks", "Sextortion"), ["abuse", "pdrm", "mcmc"]),
    (
        "trade",
        ("Jual beli imej / tawaran seks", "Trading images / solicitation"),
        ["inapp", "abuse", "mcmc"],
    ),
    ("groups", ("Kumpulan dan kumpulan sandaran", "Groups and backup groups"), ["abuse", "mcmc"]),
]
INTENT_HARM = {
    "intent.csam_coded": "csam",
    "intent.sextortion": "sextortion",
    "intent.trade": "trade",
    "intent.solicitation": "trade",
}


def context(case: Case, *, include_identities: bool = False, who: str | None = None) -> dict:
    people = c.at_risk(case)
    items: dict[str, dict[tuple[Any, Any], dict[str, Any]]] = {h: {} for h, _, _ in HARMS}

    def add(harm: str, ref: dict[str, Any], when: Any, note_ms: str, note_en: str) -> None:
        key = (ref.get("chat_id"), ref.get("message_id"))
        line = items[harm].get(key)
        if line is None:
            items[harm][key] = {**ref, "when": when, "notes": [(note_ms, note_en)]}
        elif (note_ms, note_en) not in line["notes"]:
            line["notes"].append((note_ms, note_en))

    with case.engine.connect() as conn:
        lk = c.Lookups(conn)
        for x in c.media_index(case, conn, lk):
            if x["category"] in ("csam", "ncii", "voyeur", "doxx"):
                kind = (x["kind"] or "file").lower()
                note = (f"{kind} ({x['category']})", f"{kind} ({x['category']})")
                for ref in x["where"]:
                    add(x["category"], ref, ref["date_utc"], *note)
        for p in people:
            if (p.get("dox_score") or 0) < c.DOX_THRESHOLD:
                continue  # accurate reports only; lower scores go to the caseworkers' review
            kinds = sorted({i["kind"] for i in p["identifiers"]})
            label_ms = ", ".join(c.KIND_LABELS.get(k, (k, k))[0] for k in kinds)
            label_en = ", ".join(c.KIND_LABELS.get(k, (k, k))[1] for k in kinds)
            for msg in p.get("messages") or []:
                chat = lk.chat_by_tg.get(msg.get("chat_id"), {})
                ref = c.message_ref(chat, msg.get("message_id"), msg.get("link"))
                add("doxx", ref, msg.get("date_utc"), label_ms, label_en)
        F, MSG = m.FINDINGS, m.MESSAGES
        latest = _latest()
        backups: dict[str, Any] = {}
        for r in conn.execute(
            select(F.c.kind, F.c.value, MSG.c.chat_id, MSG.c.message_id, MSG.c.link)
            .add_columns(MSG.c.date_utc)
            .join(MSG, MSG.c.id == F.c.message_pk)
            .where(MSG.c.id.in_(select(latest.c.id)))
            .where(F.c.kind.in_([*INTENT_HARM, "link.telegram"]))
            .order_by(MSG.c.date_utc)
        ):
            ref = c.message_ref(lk.chat(r.chat_id), r.message_id, r.link)
            if r.kind == "link.telegram":
                backups.setdefault(r.value, (ref, r.date_utc))
                continue
            add(INTENT_HARM[r.kind], ref, r.date_utc, *c.KIND_LABELS[r.kind])
        bases = c.chat_link_bases(conn)
        for pk, chat in lk.chats.items():
            ref = c.message_ref(chat, None, None)
            ref["link"] = bases.get(pk)
            add("groups", ref, None, "Kumpulan yang dieksport", "The exported group")
        for value, (ref, when) in backups.items():
            line = {**ref, "message_id": None, "link": value}
            items["groups"][("backup", value)] = {
                **line,
                "when": when,
                "notes": [
                    (
                        f"Pautan sandaran, disiarkan dalam mesej {ref['message_id']}",
                        f"Backup link, posted in message {ref['message_id']}",
                    )
                ],
            }
        groups = []
        for harm, label, channels in HARMS:
            lines = sorted(
                items[harm].values(),
                key=lambda x: (
                    c.iso(x["when"]) or "",
                    str(x.get("chat_id")),
                    x.get("message_id") or 0,
                ),
            )
            if not lines:
                continue
            groups.append(
                {
                    "harm": harm,
                    "label": label,
                    "channels": [CHANNELS[ch] for ch in channels],
                    "lines": lines,
                }
            )
        by_channel = []
        for key, (name, how) in CHANNELS.items():
            harms = [g for g in groups if CHANNELS[key] in g["channels"]]
            if harms:
                by_channel.append(
                    {
                        "name": name,
                        "how": how,
                        "harms": [(g["label"], len(g["lines"])) for g in harms],
                    }
                )
        return {
            "title": ("Senarai Penurunan Kandungan", "Takedown List"),
            "kind": "takedown",
            "generated": c.now_utc(),
            "investigator": settings.investigator(who),
            "groups": groups,
            "by_channel": by_channel,
            "total": sum(len(g["lines"]) for g in groups),
            "dox_threshold": c.DOX_THRESHOLD,
            "custody": c.custody_summary(case, conn),
        }
