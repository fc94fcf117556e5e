"""The detectors' fast paths give exactly what the plain regexes give (pii-malaysia.md wants
20,000 messages/s on one core; these shortcuts must never change a finding)."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest

from perisai.detect.address import _LEAD, _LEAD_FAST
from perisai.detect.finding import Lowered, _lowerable, ascii_twin, plain
from perisai.detect.intent import RULES, WORD, lowered, words_of
from perisai.detect.numbers import _MY_VALID, NUMBER, digit_mask, numbers_in
from perisai.detect.pii import MENTION, mentions_in


def _fuzz(alphabet: list[str], n: int, seed: int, longest: int = 40) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest))) for _ in range(n)]


NUMBERISH = list("0123456789") * 3 + list("      +(-).,/#=@aZ_\n:") + ["\x1c", "é", "٣"]


def test_numbers_in_is_number_finditer() -> None:
    for text in _fuzz(NUMBERISH, 30000, seed=1):
        want = [m.span() for m in NUMBER.finditer(text)]
        assert [m.span() for m in numbers_in(text, digit_mask(text))] == want, repr(text)
    text = "call +60 12-345 6789 or (03) 2345 6789, IC 900101-14-5678 #12345678 1.01234567"
    assert [m.group() for m in numbers_in(text, digit_mask(text))] == [
        m.group() for m in NUMBER.finditer(text)
    ]


def test_digit_mask_only_for_plain_text() -> None:
    assert digit_mask("a1 2") == b" 0 0"
    assert digit_mask("é 12345678") is None
    assert digit_mask("\x1c12345678") is None  # Unicode \s differs from ASCII \s there
    assert plain("No. 5, Jalan 1\n") and not plain("rumah 🔥")


def test_words_of_matches_the_regex() -> None:
    alphabet = [chr(c) for c in range(128)] + list("abcXYZ019 ") * 5
    for text in _fuzz(alphabet, 5000, seed=2):
        assert words_of(text) == set(WORD.findall(text.lower()))
    assert words_of("İG: x É") == set(WORD.findall("İG: x É".lower()))


def test_my_validity_regex_is_libphonenumber() -> None:
    rng = random.Random(3)
    samples = {str(rng.randint(10**6, 10**11 - 1)) for _ in range(20000)}
    samples |= {p + str(rng.randint(10**5, 10**8)) for p in ("1", "11", "15", "3", "8", "16")}
    for nsn in samples:
        num = phonenumbers.PhoneNumber(country_code=60, national_number=int(nsn))
        assert (_MY_VALID.match(nsn) is not None) == phonenumbers.is_valid_number(num), nsn


def test_mentions_in_is_mention_finditer() -> None:
    alphabet = list("@@@ab_.Z09 /:") + ["é"]
    for text in _fuzz(alphabet, 20000, seed=4):
        assert [m.span() for m in mentions_in(text)] == [m.span() for m in MENTION.finditer(text)]


def _rule_texts(seed: int) -> list[str]:
    """Chat-like text made of every word the lexicon and the address cues know."""
    vocab: set[str] = set()
    for rule in RULES:
        vocab |= rule.words
        for rx in (rule.pattern, rule.near):
            if rx is not None:
                vocab |= set(re.findall(r"[a-z]{2,}", rx.pattern.lower()))
    vocab |= {"No.", "Jalan", "Jln.", "tmn", "Lot5", "no5", "kampung", "X_no", "Taman"}
    words = sorted(vocab) + ["?", "!", ",", "\n", "_", "x", "9", "RM50", "ALL", "Send", "PM"]
    rng = random.Random(seed)
    out = []
    for _ in range(4000):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 14))]
        seps = [rng.choice([" ", " ", "  ", "", ", ", "\n", "."]) for _ in parts]
        text = "".join(p + s for p, s in zip(parts, seps, strict=True))
        out.append(text.upper() if rng.random() < 0.1 else text)
    return out


def test_lowered_rules_match_like_the_rules() -> None:
    texts = _rule_texts(seed=5)
    for rule in RULES:
        for rx in (rule.pattern, rule.near):
            if rx is None:
                continue
            fast = lowered(rx)
            for text in texts:
                low = text.lower()
                got = [m.span() for m in fast.finditer(text, low)]
                assert got == [m.span() for m in rx.finditer(text)], (rule.id, text)
                lo, hi = len(text) // 4, len(text) - len(text) // 4
                want = rx.search(text, lo, hi)
                found = fast.search(text, low, lo, hi)
                assert (found and found.span()) == (want and want.span()), (rule.id, text)


def test_lowered_address_lead_in() -> None:
    for text in _rule_texts(seed=6):
        low = text.lower()
        for lo in range(0, len(text), 7):
            want = _LEAD.search(text, lo, len(text) - 1)
            found = _LEAD_FAST.search(text, low, lo, len(text) - 1)
            assert (found and found.span()) == (want and want.span()), text


@pytest.mark.parametrize(
    "pattern",
    [r"[A-Z]+", r"\bfoo\S", r"\Bx", r"\x41", r"(?i)a", r"(?P<N>a)", r"[a-c]", r"\Wa", r"\Dx"],
)
def test_unsafe_patterns_are_not_lowered(pattern: str) -> None:
    assert not _lowerable(pattern)
    fast = Lowered(re.compile(pattern, re.IGNORECASE))
    assert fast.body is None


def test_a_leading_boundary_before_an_alternation_is_kept() -> None:
    rx = re.compile(r"\bab|cd", re.IGNORECASE)  # (\bab)|(cd): "xcd" matches, "xab" does not
    fast = Lowered(rx)
    for text in ("xcd", "xab", "AB", "zz cd ab"):
        assert [m.span() for m in fast.finditer(text, text.lower())] == [
            m.span() for m in rx.finditer(text)
        ]


def test_ascii_twin_leaves_unicode_patterns_alone() -> None:
    rx = re.compile("é+")
    assert ascii_twin(rx) is rx
    assert ascii_twin(NUMBER).flags & re.ASCII
