"""Malay / English / mixed, from function words (data/language.json).

lingua detects Malay well but costs a large dependency and ~9,000 messages/s; triage only needs
to know which lexicon family a message leans on, and chat messages are short, so counting
frequent words of each language is enough and costs microseconds.
"""

from __future__ import annotations

import json
import re
from importlib import resources

_WORD = re.compile(r"[^\W\d_]+")
_doc = json.loads(resources.files("perisai.detect").joinpath("data/language.json").read_text())
MS = frozenset(_doc["ms"])
EN = frozenset(_doc["en"])
BOTH = MS & EN  # e.g. "group": counts for neither


def detect_language(text: str) -> str:
    """ "ms" | "en" | "mixed" | "other" | "unknown" (no words at all)."""
    words = _WORD.findall(text.lower())
    if not words:
        return "unknown"
    ms = en = 0
    for w in words:
        if w in BOTH:
            continue
        if w in MS:
            ms += 1
        elif w in EN:
            en += 1
    if ms == 0 and en == 0:
        return "other"  # names, slang, other scripts: nothing to lean on
    if ms and en and min(ms, en) / (ms + en) >= 0.25:
        return "mixed"
    return "ms" if ms > en else "en"
