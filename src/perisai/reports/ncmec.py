"""An NCMEC CyberTipline-shaped, hash-only XML report template. No files are ever attached.

The CyberTipline API takes a `<report>` document, then one `<fileDetails>` document per
uploaded file. We upload nothing: the template holds one `<report>` (elements in schema
order: incidentSummary, internetDetails*, lawEnforcement?, reporter, personOrUserReported?,
intendedRecipient*, victim*, additionalInfo?) and one `<fileDetails>` per CSAM file with its
hashes only (`originalFileHash hashType="MD5|SHA1|SHA256"`) and no file name, wrapped in a
`<perisaiNcmecTemplate>` root. Fields only the reporter can fill (who is reporting) are left
empty and marked with comments. Built with xml.etree, so every value is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

from .. import __version__, settings
from ..case import Case
from . import common as c

INCIDENT_TYPE = "Child Pornography (possession, manufacture, and distribution)"


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = c.neutralise(str(text))
    return el


def build(case: Case, who: str | None = None) -> ET.Element:
    with case.engine.connect() as conn:
        lk = c.Lookups(conn)
        media = [x for x in c.media_index(case, conn, lk) if x["category"] == "csam"]
    root = ET.Element("perisaiNcmecTemplate", {"generator": f"Perisai {__version__}"})
    root.append(
        ET.Comment(
            " Hash-only template: no file is attached. Review, fill in the reporter, "
            "and submit through the CyberTipline API or web form. "
        )
    )
    report = _sub(root, "report")
    summary = _sub(report, "incidentSummary")
    _sub(summary, "incidentType", INCIDENT_TYPE)
    dates = [c.as_utc(r["date_utc"]) for x in media for r in x["where"] if r.get("date_utc")]
    first = min((d for d in dates if d), default=None)
    _sub(summary, "incidentDateTime", c.iso(first) or c.iso(c.now_utc()))
    _sub(
        summary,
        "incidentDateTimeDescription",
        "Earliest posting of a matched file in the collected Telegram export (UTC)"
        if first
        else "No matched file: the time of this template",
    )
    chats: dict[Any, dict[str, Any]] = {}
    for x in media:
        for r in x["where"]:
            chats.setdefault(r["chat_id"], {"name": r.get("chat_name"), "links": []})
            if r.get("link"):
                chats[r["chat_id"]]["links"].append(r["link"])
    for chat_id, info in chats.items():
        details = _sub(report, "internetDetails")
        chat = _sub(details, "chatImIncident")
        _sub(chat, "chatClient", "Telegram")
        _sub(chat, "chatRoomName", info["name"] or str(chat_id))
        _sub(
            chat,
            "additionalInfo",
            f"Telegram chat id {chat_id}; message links: " + " ".join(sorted(set(info["links"]))),
        )
    reporter = _sub(report, "reporter")
    person = _sub(reporter, "reportingPerson")
    person.append(ET.Comment(" fill in: firstName, lastName, email of the reporting person "))
    _sub(person, "firstName", "")
    _sub(person, "lastName", "")
    _sub(person, "email", "")
    posters: Counter[Any] = Counter()
    for x in media:
        for r in x["where"]:
            sender = r.get("sender") or {}
            if sender.get("tg_id") is not None:
                posters[sender["tg_id"]] += 1
    ranked = [tg for tg, _ in posters.most_common()]
    if ranked:
        top = lk.user(ranked[0])
        reported = _sub(report, "personOrUserReported")
        _sub(reported, "espIdentifier", top["tg_id"])
        _sub(reported, "espService", "Telegram")
        usernames = [n["value"] for n in top["names"] if n["kind"] == "username"]
        if usernames:
            _sub(reported, "screenName", usernames[-1])
        for name in dict.fromkeys(n["value"] for n in top["names"] if n["kind"] != "username"):
            _sub(reported, "displayName", name)
        _sub(
            reported,
            "additionalInfo",
            f"Posted {posters[ranked[0]]} of the matched postings (Telegram numeric user id).",
        )
    others = [f"{tg} ({posters[tg]})" for tg in ranked[1:]]
    _sub(
        report,
        "additionalInfo",
        f"Prepared with Perisai {__version__} by investigator "
        f"{settings.investigator(who)} from a collected Telegram export (case "
        f"{case.meta.get('case_id')}). {len(media)} files matched a CSAM hash list or were "
        "marked CSAM-suspected by a reviewer; their bytes were removed or sealed, so only "
        "hashes are given. A hash shows a file is unchanged since intake, not who made it."
        + (f" Other posters (Telegram user id, postings): {', '.join(others)}." if others else ""),
    )
    for n, x in enumerate(media, 1):
        fd = _sub(root, "fileDetails")
        fd.append(ET.Comment(" reportId and fileId are assigned by NCMEC on submission "))
        _sub(fd, "reportId", "")
        _sub(fd, "fileId", f"perisai-{n}")
        links = [r["link"] for r in x["where"] if r.get("link")]
        if links:
            _sub(fd, "locationOfFile", links[0])
        _sub(fd, "fileViewedByEsp", "false")
        _sub(fd, "originalFileHash", x["md5"], hashType="MD5")
        _sub(fd, "originalFileHash", x["sha1"], hashType="SHA1")
        _sub(fd, "originalFileHash", x["sha256"], hashType="SHA256")
        postings = [
            f"{r['date_utc']:%Y-%m-%dT%H:%M:%SZ} chat {r['chat_id']} message {r['message_id']}"
            for r in x["where"]
            if r.get("date_utc")
        ]
        _sub(
            fd,
            "additionalInfo",
            f"Size {x['size']} bytes, {x['mime'] or 'unknown type'}; lists: "
            f"{', '.join(x['lists']) or 'reviewer decision'}; postings: " + "; ".join(postings),
        )
    return root


def ncmec_xml(case: Case, who: str | None = None) -> bytes:
    root = build(case, who)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
