"""Telegram links, canonicalised to https://t.me/... so that reposts of one link match.

Types: `username` (t.me/name), `invite` (t.me/+HASH, t.me/joinchat/HASH; hashes keep their
case), `message` (t.me/name/45), `private_message` (t.me/c/123/45). Usernames are lower-cased:
Telegram treats them case-insensitively.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from perisai.detect.finding import Finding, ascii_twin, plain

TME = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/"
    r"(\+[\w-]+|joinchat/[\w-]+|c/\d+(?:/\d+)?|s/[A-Za-z]\w{3,31}|[A-Za-z]\w{3,31}(?:/\d+)?)",
    re.IGNORECASE,
)
TG = re.compile(r"tg://(resolve|join)\?([\w=&.%+-]+)", re.IGNORECASE)
# Paths that are Telegram features, not chats.
RESERVED = frozenset(
    [
        "share",
        "addstickers",
        "addemoji",
        "proxy",
        "socks",
        "setlanguage",
        "iv",
        "login",
        "confirmphone",
    ]
)


def canonical_path(path: str) -> tuple[str, str] | None:
    """(canonical URL, type) for the part after t.me/, or None for feature links."""
    if path.startswith("+"):
        return "https://t.me/" + path, "invite"
    low = path.lower()
    if low.startswith("joinchat/"):
        return "https://t.me/joinchat/" + path[9:], "invite"
    if low.startswith("c/"):
        kind = "private_message" if path.count("/") == 2 else "private_chat"
        return "https://t.me/" + low, kind
    if low.startswith("s/"):
        low = low[2:]
    name, _, post = low.partition("/")
    if name in RESERVED:
        return None
    if post:
        return f"https://t.me/{name}/{post}", "message"
    return "https://t.me/" + name, "username"


def link_finding(path: str, span: tuple[int, int], raw: str) -> Finding | None:
    canon = canonical_path(path)
    if canon is None:
        return None
    return Finding("link.telegram", canon[0], span, 0.99, {"raw": raw, "type": canon[1]})


def detect_links(text: str) -> list[Finding]:
    out: list[Finding] = []
    if ".me/" in text or ".dog/" in text or "T.ME/" in text:
        for m in (ascii_twin(TME) if plain(text) else TME).finditer(text):
            found = link_finding(m.group(1), m.span(), m.group(0))
            if found is not None:
                out.append(found)
    if "tg://" in text:
        for m in TG.finditer(text):
            q = {k: v[0] for k, v in parse_qs(m.group(2)).items()}
            if m.group(1).lower() == "join" and "invite" in q:
                path = "+" + q["invite"]
            elif "domain" in q:
                path = q["domain"] + ("/" + q["post"] if q.get("post", "").isdigit() else "")
            else:
                continue
            found = link_finding(path, m.span(), m.group(0))
            if found is not None:
                out.append(found)
    return out
