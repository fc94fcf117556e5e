"""Intent cues (trade, sextortion, solicitation, coded CSAM terms) from data/intents.json.

No Malay model exists that could run offline (pii-malaysia.md, "Language"), so intent starts as
curated lexicon rules that caseworkers extend without code. A rule is tried only when one of
its trigger `words` is among the message's words: most chatter costs one regex and a set test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from perisai.detect.finding import Finding, Lowered, plain

WORD = re.compile(r"[a-z0-9]+")
KINDS = ("intent.trade", "intent.sextortion", "intent.solicitation", "intent.csam_coded")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    language: str
    words: frozenset[str]
    pattern: re.Pattern[str]
    near: re.Pattern[str] | None
    window: int
    score: float


def parse_rules(doc: dict[str, Any]) -> list[Rule]:
    """Validates and compiles a lexicon document (the packaged one or a caseworker's copy)."""
    rules = []
    for raw in doc["rules"]:
        if raw["kind"] not in KINDS:
            raise ValueError(f"intent rule {raw.get('id')!r}: unknown kind {raw['kind']!r}")
        near = raw.get("near")
        rules.append(
            Rule(
                id=raw["id"],
                kind=raw["kind"],
                language=raw.get("language", "mixed"),
                words=frozenset(w.lower() for w in raw["words"]),
                pattern=re.compile(raw["pattern"], re.IGNORECASE),
                near=re.compile(near, re.IGNORECASE) if near else None,
                window=int(raw.get("window", 40)),
                score=float(raw.get("score", 0.7)),
            )
        )
    return rules


def load_rules() -> list[Rule]:
    text = resources.files("perisai.detect").joinpath("data/intents.json").read_text("utf-8")
    return parse_rules(json.loads(text))


RULES = load_rules()  # loaded once at import; detection itself does no I/O
TRIGGERS = frozenset().union(*(r.words for r in RULES))


def index_rules(rules: list[Rule]) -> dict[str, tuple[int, ...]]:
    """Trigger word -> positions of the rules it wakes up, so a message only visits those."""
    index: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        for w in rule.words:
            index.setdefault(w, []).append(i)
    return {w: tuple(ids) for w, ids in index.items()}


_INDEX = index_rules(RULES)
_LOWERED: dict[re.Pattern[str], Lowered] = {}


def lowered(rx: re.Pattern[str]) -> Lowered:
    """The fast twin of a rule's regex, made once per regex (caseworkers' rules too)."""
    fast = _LOWERED.get(rx)
    if fast is None:
        fast = _LOWERED[rx] = Lowered(rx)
    return fast


for _rule in RULES:
    lowered(_rule.pattern)
    if _rule.near is not None:
        lowered(_rule.near)


# ASCII bytes -> lower-case letters and digits kept, everything else a space: for ASCII text,
# `translate` + `split` gives exactly WORD's words at a fraction of a regex scan's cost.
_WORD_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256)
)


def words_of(text: str) -> set[str]:
    """The message's lower-case ASCII words: the index every cheap pre-filter uses."""
    if text.isascii():
        return set(text.encode("ascii").translate(_WORD_BYTES).decode("ascii").split())
    return set(WORD.findall(text.lower()))


def detect_intents(
    text: str, rules: list[Rule] | None = None, words: set[str] | None = None
) -> list[Finding]:
    if words is None:
        words = words_of(text)
    if rules is None:
        hits = words & TRIGGERS
        if not hits:
            return []
        if len(hits) == 1:
            ids: Iterable[int] = _INDEX[hits.pop()]
        else:
            ids = sorted({i for w in hits for i in _INDEX[w]})  # rule order, as listed
        active: Iterable[Rule] = [RULES[i] for i in ids]
    else:
        active = [r for r in rules if not words.isdisjoint(r.words)]
    out: list[Finding] = []
    low = text.lower() if plain(text) else None
    for rule in active:
        for m in lowered(rule.pattern).finditer(text, low):
            start, end = m.span()
            if rule.near is not None:
                near = lowered(rule.near)
                lo, hi = max(0, start - rule.window), min(len(text), end + rule.window)
                n = near.search(text, low, lo, hi)
                if n is None or (n.start() < end and n.end() > start):
                    n = near.search(text, low, end, hi)  # the cue itself is not its context
                if n is None:
                    continue
                start, end = min(start, n.start()), max(end, n.end())
            detail = {"lang": rule.language, "matched": text[start:end]}
            out.append(Finding(rule.kind, rule.id, (start, end), rule.score, detail))
            break  # one finding per rule and message is enough for triage
    return out
