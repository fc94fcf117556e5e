"""Findings from Telegram's own markup: text entities and shared contacts.

Telegram already recognised these (its phone and e-mail entities, @mentions, hidden links), so
they are findings in their own right, marked by the caller with source "entity". Validation is
lenient here: Telegram's client decided it was a phone number; we only normalise it.
"""

from __future__ import annotations

import re
from typing import Any

from perisai.detect.finding import Finding
from perisai.detect.links import detect_links
from perisai.detect.numbers import WAME, normalise_phone
from perisai.detect.pii import PROFILE_URL, detect_handles, handle_finding

_NON_DIGIT = re.compile(r"[^\d+]")


def _phone(raw: str, span: tuple[int, int], via: str) -> Finding | None:
    text = _NON_DIGIT.sub("", raw)
    norm = normalise_phone(text)
    if norm is None and not text.startswith("+") and text.startswith("60"):
        norm = normalise_phone("+" + text)
    if norm is None:
        return None
    detail = {"raw": raw, "valid": norm[1], "entity": via}
    return Finding("pii.phone", norm[0], span, 0.95 if norm[1] else 0.7, detail)


def _url_findings(url: str, span: tuple[int, int], via: str) -> list[Finding]:
    """A URL (visible or hidden behind anchor text): Telegram link, profile, or wa.me phone."""
    out: list[Finding] = []
    for f in detect_links(url):
        out.append(Finding(f.kind, f.value, span, f.score, {**f.detail, "entity": via}))
    if PROFILE_URL.search(url):
        for f in detect_handles(url):
            if f.detail.get("via") == "url":
                out.append(Finding(f.kind, f.value, span, f.score, {**f.detail, "entity": via}))
    m = WAME.search(url)
    if m:
        found = _phone("+" + m.group(1).lstrip("+"), span, via)
        if found is not None:
            out.append(found)
    return out


def detect_entities(entities: list[dict[str, Any]], text: str) -> list[Finding]:
    out: list[Finding] = []
    for ent in entities:
        etype = ent.get("type")
        offset = int(ent.get("offset", 0))
        etext = str(ent.get("text", ""))
        span = (offset, offset + int(ent.get("length", len(etext))))
        if etype == "phone":
            found = _phone(etext, span, "phone")
            if found is not None:
                out.append(found)
        elif etype == "email":
            detail = {"raw": etext, "entity": "email"}
            out.append(Finding("pii.email", etext.strip().lower(), span, 0.97, detail))
        elif etype == "mention":
            name = etext.lstrip("@")
            found = handle_finding(text, offset, span[1], name, "entity")
            if found is not None:
                out.append(found)
        elif etype == "mention_name" and ent.get("user_id") is not None:
            # A member without a username, linked by id: the id is the stable identifier.
            uid = str(ent["user_id"])
            detail = {"user_id": ent["user_id"], "name": etext, "entity": "mention_name"}
            out.append(Finding("pii.handle", f"telegram:{uid}", span, 0.5, detail))
        elif etype == "text_link" and ent.get("href"):
            out.extend(_url_findings(str(ent["href"]), span, "text_link"))
        elif etype in ("link", "url"):
            out.extend(_url_findings(etext, span, str(etype)))
    out.sort(key=lambda f: f.span)
    return out


def detect_contact(contact: dict[str, Any]) -> list[Finding]:
    """A shared contact card: its phone number, with the name it was saved under."""
    raw = str(contact.get("phone_number") or "").strip()
    if not raw:
        return []
    found = _phone(raw if raw.startswith("+") else raw, (0, 0), "contact")
    if found is None:
        return []
    first = str(contact.get("first_name") or "")
    last = str(contact.get("last_name") or "")
    detail = {**found.detail, "name": " ".join(p for p in (first, last) if p)}
    return [Finding("pii.phone", found.value, (0, 0), 0.95, detail)]
