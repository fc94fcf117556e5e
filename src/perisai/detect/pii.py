"""E-mails, social handles and car plates; digit PII lives in numbers.py, addresses in address.py.

Each detector first checks a cheap condition (an "@", a platform word, a plate word) so that
ordinary chatter costs one or two `in` tests, then runs compiled regexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from perisai.detect.finding import Finding, ascii_twin, near, plain

EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.+%-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# "nama [at] gmail [dot] com", "nama(at)gmail(dot)com": cheap to catch, common in doxes.
EMAIL_OBFUSCATED = re.compile(
    r"(?<![\w.])([A-Za-z0-9][\w.+-]*)\s*[\[(]\s*at\s*[\])]\s*([A-Za-z0-9-]+)"
    r"((?:\s*[\[(]\s*dot\s*[\])]\s*[A-Za-z]{2,})+)",
    re.IGNORECASE,
)
_DOT = re.compile(r"\s*[\[(]\s*dot\s*[\])]\s*", re.IGNORECASE)

# Platform words as people write them before a handle, mapped to the canonical platform.
PLATFORMS = {
    "ig": "instagram", "insta": "instagram", "instagram": "instagram", "igdia": "instagram",
    "tiktok": "tiktok", "tt": "tiktok", "tik tok": "tiktok",
    "fb": "facebook", "facebook": "facebook",
    "twitter": "twitter", "twt": "twitter", "x": "twitter",
    "telegram": "telegram", "tele": "telegram", "tg": "telegram",
}  # fmt: skip
_PLATFORM_ALT = "|".join(sorted((re.escape(k) for k in PLATFORMS), key=len, reverse=True))
# A platform word right before the handle: "IG: @x", "ig dia @x", "tiktok - @x", "X: @x".
CUE_BEFORE = re.compile(rf"(?<![\w.])({_PLATFORM_ALT})(?:\s+dia)?\s*[:\-]?\s*$")
PLATFORM_WORD = re.compile(rf"(?<![\w.])(?:{_PLATFORM_ALT})\b", re.IGNORECASE)
MENTION = re.compile(r"(?<![\w@./])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)")
# "IG: nur.aisyah" (no @): only after a colon, to keep "ig dia cantik" out.
LABELLED = re.compile(
    rf"(?<![\w.])({_PLATFORM_ALT})\s*:\s*([A-Za-z0-9_](?:[A-Za-z0-9_.]{{1,28}}[A-Za-z0-9_])?)\b",
    re.IGNORECASE,
)
PROFILE_URL = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.|m\.|mobile\.|vm\.)?"
    r"(instagram\.com|instagr\.am|tiktok\.com|facebook\.com|fb\.com|twitter\.com|x\.com)"
    r"/(profile\.php\?id=\d+|@?[A-Za-z0-9_.]{0,50}[A-Za-z0-9_])(?![\w.]*[?=])/?",
    re.IGNORECASE,
)
_URL_PLATFORM = {
    "instagram.com": "instagram", "instagr.am": "instagram", "tiktok.com": "tiktok",
    "facebook.com": "facebook", "fb.com": "facebook", "twitter.com": "twitter", "x.com": "twitter",
}  # fmt: skip
# Paths on those sites that are pages, not people.
NOT_PROFILES = frozenset(
    [
        "p",
        "reel",
        "reels",
        "explore",
        "stories",
        "tv",
        "accounts",
        "share",
        "sharer",
        "groups",
        "watch",
        "pages",
        "events",
        "video",
        "intent",
        "home",
        "search",
        "hashtag",
        "i",
        "status",
        "login",
        "signup",
        "marketplace",
        "gaming",
        "tag",
        "music",
        "about",
    ]
)
PLATFORM_KEYS = frozenset(k for k in PLATFORMS if " " not in k)
TELEGRAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")

PLATE_CUE = re.compile(
    r"\b(plat|plate|no\.? ?plat|nombor plat|kereta|car|moto|motor|motosikal|vehicle)\b",
    re.IGNORECASE,
)
# Peninsular/Sabah/Sarawak plates: 1-3 letters (no I/O as first), 1-4 digits, optional letter.
PLATE_WORDS = frozenset(["plat", "plate", "kereta", "car", "moto", "motor", "motosikal", "vehicle"])
PLATE = re.compile(r"\b([A-HJ-NP-Z][A-Z]{0,2}) ?([1-9]\d{0,3})([A-Z]?)\b")


def detect_emails(text: str) -> list[Finding]:
    out: list[Finding] = []
    fast = plain(text)
    if "@" in text:
        for m in (ascii_twin(EMAIL) if fast else EMAIL).finditer(text):
            raw = m.group(0).rstrip(".")
            end = m.start() + len(raw)
            out.append(Finding("pii.email", raw.lower(), (m.start(), end), 0.95, {"raw": raw}))
    if "[" in text or "(" in text:
        for m in (ascii_twin(EMAIL_OBFUSCATED) if fast else EMAIL_OBFUSCATED).finditer(text):
            domain = m.group(2) + "." + ".".join(p for p in _DOT.split(m.group(3)) if p)
            value = f"{m.group(1)}@{domain}".lower()
            detail = {"raw": m.group(0), "obfuscated": True}
            out.append(Finding("pii.email", value, m.span(), 0.85, detail))
    return out


def platform_before(text: str, start: int, fast: bool = False) -> str | None:
    """The platform a handle at `start` belongs to, from the words just before it."""
    m = (ascii_twin(CUE_BEFORE) if fast else CUE_BEFORE).search(near(text, start, 16))
    return PLATFORMS[m.group(1)] if m else None


def handle_finding(
    text: str, start: int, end: int, name: str, via: str, fast: bool = False
) -> Finding | None:
    platform = platform_before(text, start, fast)
    if platform is None:
        if not TELEGRAM_NAME.fullmatch(name):
            return None  # "@ 3pm", "@abc": not a username Telegram would link
        platform, score = "telegram", 0.6
    else:
        score = 0.9
        if platform == "telegram" and not TELEGRAM_NAME.fullmatch(name):
            return None
    detail = {"raw": text[start:end], "platform": platform, "via": via}
    return Finding("pii.handle", f"{platform}:{name.lower()}", (start, end), score, detail)


def mentions_in(text: str) -> Iterator[re.Match[str]]:
    """The same matches as `MENTION.finditer(text)`: tried only at each "@" (str.find is C)."""
    match, find = (ascii_twin(MENTION) if plain(text) else MENTION).match, text.find
    pos = find("@")
    while pos >= 0:
        m = match(text, pos)
        if m is None:
            pos = find("@", pos + 1)
        else:
            yield m
            pos = find("@", m.end())


def _may_have_profile_url(text: str) -> bool:
    """Every PROFILE_URL match holds one of these (case-folding covers IGNORECASE)."""
    if "/" not in text:
        return False
    low = text.casefold()
    return ".com/" in low or "instagr.am/" in low


def _may_have_platform_word(text: str, words: frozenset[str] | set[str] | None) -> bool:
    """A superset of `PLATFORM_WORD.search(text)`, exact and cheap for ASCII text with words."""
    if words is None or not text.isascii():
        return PLATFORM_WORD.search(text) is not None
    # For ASCII text, a PLATFORM_WORD match is a whole [a-z0-9]+ word after lower-casing.
    return not words.isdisjoint(PLATFORM_KEYS) or "tik tok" in text.lower()


def detect_handles(text: str, words: frozenset[str] | set[str] | None = None) -> list[Finding]:
    """`words`: the message's lower-case words, when the caller already has them (detect_text)."""
    out: list[Finding] = []
    taken: list[tuple[int, int]] = []
    fast = plain(text)
    if _may_have_profile_url(text):
        for m in (ascii_twin(PROFILE_URL) if fast else PROFILE_URL).finditer(text):
            platform = _URL_PLATFORM[m.group(1).lower()]
            name = m.group(2)
            if name.startswith("profile.php"):
                name = name.rsplit("=", 1)[1]
            name = name.lstrip("@")
            if name.lower() in NOT_PROFILES or not name:
                continue
            detail = {"raw": m.group(0), "platform": platform, "via": "url"}
            value = f"{platform}:{name.lower()}"
            out.append(Finding("pii.handle", value, m.span(), 0.95, detail))
            taken.append(m.span())
    if "@" in text:
        for m in mentions_in(text):
            found = handle_finding(text, m.start(), m.end(), m.group(1), "mention", fast)
            if found is not None:
                out.append(found)
    if ":" in text and _may_have_platform_word(text, words):
        for m in (ascii_twin(LABELLED) if fast else LABELLED).finditer(text):
            s = m.start(2)
            if any(a <= s < b for a, b in taken):
                continue
            platform = PLATFORMS[m.group(1).lower()]
            name = m.group(2)
            if platform == "telegram" and not TELEGRAM_NAME.fullmatch(name):
                continue
            detail = {"raw": name, "platform": platform, "via": "label"}
            out.append(Finding("pii.handle", f"{platform}:{name.lower()}", m.span(2), 0.8, detail))
    return out


def detect_plates(text: str) -> list[Finding]:
    out: list[Finding] = []
    for cue in PLATE_CUE.finditer(text):
        # The plate follows its cue closely: "plat kereta WXY 1234", "kereta dia VBA 88".
        window_end = min(len(text), cue.end() + 24)
        for m in PLATE.finditer(text, cue.end(), window_end):
            if m.group(1) == "RM":
                continue  # "kereta RM 1234": a price
            value = m.group(1) + m.group(2) + m.group(3)
            if out and out[-1].span == m.span():
                break
            detail = {"raw": m.group(0), "label": cue.group(1)}
            out.append(Finding("pii.plate", value, m.span(), 0.85, detail))
            break
    return out
