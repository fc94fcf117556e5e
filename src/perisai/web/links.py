"""Links in hostile message text: never live, only through a click-through warning page.

`linkify(text)` escapes the whole text and turns each URL-looking part into a link to
`/out?to=URL` (the warning page), never to the URL itself. `target(url)` decides whether the
warning page may offer a plain link onwards: only `http://`, `https://` and `tg://` URLs (a
bare `t.me/...` is read as `https://t.me/...`), without credentials, spaces, quotes, angle
brackets or invisible/bidi controls, at most MAX_URL characters. Everything else (e.g.
`javascript:`, `data:`) is shown as text only.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from ..reports.common import neutralise

MAX_URL = 2000
SCHEMES = ("http", "https", "tg")
# What counts as a URL in a message: an explicit scheme we might offer, or a bare Telegram
# link. It stops at whitespace, quotes, angle brackets and backticks.
_URL = re.compile(
    r"(?:(?:https?|tg)://|(?<![\w.@/])(?:t|telegram)\.me/)[^\s<>\"'`]+",
    re.IGNORECASE,
)
_TRAIL = ".,;:!?)]}»\u201d\u2019"
_BAD = re.compile(r"[\s<>\"'`\\^{}|]")


def _clean(url: str) -> str:
    # Trailing punctuation belongs to the sentence, unless it closes a bracket in the URL.
    while url and url[-1] in _TRAIL:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def target(url: str) -> str | None:
    """The URL the warning page may link on to, or None when it must stay text."""
    if not url or len(url) > MAX_URL:
        return None
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs") for ch in url):
        return None
    if _BAD.search(url):
        return None
    if re.match(r"(?:t|telegram)\.me/", url, re.IGNORECASE):
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return None
    if scheme in ("http", "https"):
        if not parts.hostname or "@" in parts.netloc:
            return None
        if not url[len(scheme) :].startswith("://"):
            return None
    elif not url[len(scheme) :].startswith("://") or not parts.netloc:  # tg://resolve?...
        return None
    return url


def out_href(url: str) -> str:
    return "/out?to=" + quote(url, safe="")


def linkify(text: str | None) -> Markup:
    """The text escaped (bidi controls made visible), with URLs as links to the warning page."""
    if not text:
        return Markup("")
    shown = neutralise(str(text))
    link = Markup('<a class="ext" rel="nofollow noopener noreferrer" href="{}">{}</a>')
    pieces: list[Markup] = []
    last = 0
    for found in _URL.finditer(shown):
        url = _clean(found.group(0))
        if not url:
            continue
        start, end = found.start(), found.start() + len(url)
        pieces.append(escape(shown[last:start]))
        pieces.append(link.format(out_href(url), url))  # format() escapes both
        last = end
    pieces.append(escape(shown[last:]))
    return Markup("").join(pieces)
