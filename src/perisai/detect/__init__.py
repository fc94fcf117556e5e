"""Pure text detectors: personal information, Telegram links and intent cues.

No database and no I/O beyond reading the packaged lexicons once at import. Every function
takes text (or Telegram's markup) and returns `Finding`s sorted by span; the caller adds
`chat_id`, `message_id` and `source` (interfaces.md, `findings --json`).
"""

from __future__ import annotations

import re

from perisai.detect.address import detect_addresses
from perisai.detect.entities import detect_contact, detect_entities
from perisai.detect.finding import Finding
from perisai.detect.intent import detect_intents, words_of
from perisai.detect.language import detect_language
from perisai.detect.links import detect_links
from perisai.detect.numbers import detect_numbers
from perisai.detect.pii import (
    PLATE_WORDS,
    PLATFORM_KEYS,
    detect_emails,
    detect_handles,
    detect_plates,
)

__all__ = [
    "Finding",
    "detect_contact",
    "detect_entities",
    "detect_language",
    "detect_text",
]

_DIGIT = re.compile(r"\d")


def detect_text(text: str) -> list[Finding]:
    """Everything the text detectors find, sorted by span."""
    if not text:
        return []
    # Cheap gates first (pii-malaysia.md wants 20,000 messages/s): the message's word set, a
    # digit, an "@" or a "/" decide which detectors can possibly fire.
    words = words_of(text)
    out = detect_intents(text, words=words)
    if _DIGIT.search(text):
        out += detect_numbers(text)
        out += detect_addresses(text, words)
        if not words.isdisjoint(PLATE_WORDS):
            out += detect_plates(text)
    if "@" in text or "at" in words:
        out += detect_emails(text)
    if "@" in text or "/" in text or not words.isdisjoint(PLATFORM_KEYS):
        out += detect_handles(text, words)
    if "/" in text:
        out += detect_links(text)
    # A phone inside a wa.me link or a profile URL is still one finding each; a number that a
    # link or e-mail already covers (t.me/c/123..., name123@...) is not a phone.
    if len(out) > 1:
        out = _drop_covered(out)
    out.sort(key=lambda f: (f.span, f.kind))
    return out


_CONTAINERS = ("link.telegram", "pii.email", "pii.handle")
_NUMBERS = ("pii.phone", "pii.ic", "pii.bank_account")


def _drop_covered(found: list[Finding]) -> list[Finding]:
    boxes = [f.span for f in found if f.kind in _CONTAINERS]
    if not boxes:
        return found
    keep = []
    for f in found:
        if f.kind in _NUMBERS and f.detail.get("label") != "wa.me":
            s, e = f.span
            if any(a <= s and e <= b and (a, b) != (s, e) for a, b in boxes):
                continue
        keep.append(f)
    return keep
