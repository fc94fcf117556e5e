"""The one result type every detector returns (shape of `findings --json`, interfaces.md)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected item. `span` is a code-point range into the text the detector was given."""

    kind: str
    value: str
    span: tuple[int, int]
    score: float
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def clamp(score: float) -> float:
    """Scores are probabilities for caseworkers: keep them inside 0..1, two decimals."""
    return round(min(1.0, max(0.0, score)), 2)


def near(text: str, start: int, before: int) -> str:
    """The lower-cased text just before a candidate: where Malaysian chat puts its labels."""
    return text[max(0, start - before) : start].lower()


# Speed (pii-malaysia.md wants 20,000 messages/s on one core): Python's regex engine is two
# to three times faster in ASCII mode, and most chat text is ASCII. On ASCII text the two modes
# agree exactly except that Unicode `\s` also matches \x1c-\x1f, so `plain` excludes those.


def plain(text: str) -> bool:
    """True when ASCII-mode twins of the detectors' regexes give exactly the same matches."""
    return (
        text.isascii()
        and "\x1c" not in text
        and "\x1d" not in text
        and "\x1e" not in text
        and "\x1f" not in text
    )


def ascii_twin(rx: re.Pattern[str]) -> re.Pattern[str]:
    """`rx` compiled in ASCII mode, for `plain` text (the same regex when `rx` is not ASCII)."""
    twin = _TWINS.get(rx)
    if twin is None:
        twin = rx
        if rx.pattern.isascii():
            twin = re.compile(rx.pattern, (rx.flags & ~re.UNICODE) | re.ASCII)
        _TWINS[rx] = twin
    return twin


_TWINS: dict[re.Pattern[str], re.Pattern[str]] = {}  # the packaged regexes and lexicon rules


_SAFE_ESCAPES = frozenset("bsdw")  # escapes that mean the same in a lower-cased pattern
_GROUPS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")


def _lowerable(pattern: str) -> bool:
    """Can `pattern` (IGNORECASE) be lower-cased and run without IGNORECASE on lower-cased
    text? Only for patterns with no letters or ranges in character classes, no inline flags or
    named groups and no escapes whose meaning changes with case (\\B \\S \\W \\x.. ...)."""
    if not pattern.isascii():
        return False
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if in_class:  # a class may hold no letters, ranges or case-changing escapes
            if c == "]":
                in_class = False
            elif c == "-" or c.isalpha():
                return False
        elif c == "[":
            in_class = True
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):
                i += 1
            continue
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt.isalnum() and nxt not in _SAFE_ESCAPES:
                return False
            i += 2
            continue
        if c == "(" and pattern.startswith("(?", i) and not pattern.startswith(_GROUPS, i):
            return False
        i += 1
    return True


def _top_level_bar(pattern: str) -> bool:
    """Does `pattern` hold an alternation outside every group (then `\\b` + it != `\\b(?:it)`)?"""
    depth, i = 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # skip the class: "[^]|(]" holds no group and no alternation
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):
                i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


class Lowered:
    """A case-insensitive regex run the fast way on `plain` text: lower-cased, without
    IGNORECASE and, for a leading `\\b`, with the boundary checked by hand. Python's engine
    then scans for the first letters in C instead of trying a full match at every position.

    Same spans as `rx` on plain text (tests compare them); other text, and patterns that
    cannot be lowered safely, use `rx` itself. Callers take spans, never groups' text: the
    matches run on `low`, the lower-cased text.
    """

    __slots__ = ("rx", "body", "bounded")

    def __init__(self, rx: re.Pattern[str]) -> None:
        self.rx = rx
        self.body: re.Pattern[str] | None = None
        self.bounded = False
        pattern = rx.pattern
        if rx.flags & re.IGNORECASE and _lowerable(pattern):
            if pattern.startswith("\\b") and not _top_level_bar(pattern[2:]):
                pattern, self.bounded = pattern[2:], True
            flags = rx.flags & ~(re.IGNORECASE | re.UNICODE) | re.ASCII
            self.body = re.compile(pattern.lower(), flags)

    def search(
        self, text: str, low: str | None, pos: int = 0, endpos: int = sys.maxsize
    ) -> re.Match[str] | None:
        """`rx.search(text, pos, endpos)`; `low`: text.lower() when text is `plain`, else None."""
        body = self.body
        if low is None or body is None:
            return self.rx.search(text, pos, endpos)
        if not self.bounded:
            return body.search(low, pos, endpos)
        at = pos
        while (m := body.search(low, at, endpos)) is not None:
            q = m.start()
            if m.end() == q:  # an empty match: leave the boundary to the engine
                return self.rx.search(text, pos, endpos)
            if (q > 0 and _is_word(low[q - 1])) != _is_word(low[q]):
                return m
            at = q + 1
        return None

    def finditer(self, text: str, low: str | None) -> Iterator[re.Match[str]]:
        """`rx.finditer(text)` (spans)."""
        if low is None or self.body is None:
            yield from self.rx.finditer(text)
            return
        pos = 0
        while (m := self.search(text, low, pos)) is not None:
            if m.end() == m.start():  # empty matches: the engine's own rules from here on
                yield from (x for x in self.rx.finditer(text) if x.start() >= pos)
                return
            yield m
            pos = m.end()
