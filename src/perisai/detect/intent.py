"""Intent cues (trade, sextortion, solicitation, coded CSAM terms) from data/intents.json.

No Malay model exists that could run offline (pii-malaysia.md, "Language"), so intent starts as
curated lexicon rules that caseworkers extend without code. A rule is tried only when one of
its trigger `words` is among the message's words: most chatter costs one regex and a set test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from perisai.detect.finding import Finding

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


def words_of(text: str) -> set[str]:
    """The message's lower-case ASCII words: the index every cheap pre-filter uses."""
    return set(WORD.findall(text.lower()))


def detect_intents(
    text: str, rules: list[Rule] | None = None, words: set[str] | None = None
) -> list[Finding]:
    if words is None:
        words = words_of(text)
    active = RULES if rules is None else rules
    if rules is None and words.isdisjoint(TRIGGERS):
        return []
    out: list[Finding] = []
    for rule in active:
        if words.isdisjoint(rule.words):
            continue
        for m in rule.pattern.finditer(text):
            start, end = m.span()
            if rule.near is not None:
                lo, hi = max(0, start - rule.window), min(len(text), end + rule.window)
                n = rule.near.search(text, lo, hi)
                if n is None or (n.start() < end and n.end() > start):
                    n = rule.near.search(text, end, hi)  # the cue itself is not its context
                if n is None:
                    continue
                start, end = min(start, n.start()), max(end, n.end())
            detail = {"lang": rule.language, "matched": text[start:end]}
            out.append(Finding(rule.kind, rule.id, (start, end), rule.score, detail))
            break  # one finding per rule and message is enough for triage
    return out
