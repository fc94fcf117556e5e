"""Digit-bearing PII: phones, MyKad numbers and bank accounts from ONE candidate regex pass.

Every run of 8 to 16 digits (with single spaces, dots or dashes between them) is a candidate;
the candidate is then claimed, in order, by a bank account (bank word just before it), a MyKad
number (6-2-4 layout, real date, valid place-of-birth code) or a phone (Malaysian number shape,
or +CC that libphonenumber accepts). Labels just before a candidate raise the score; order,
tracking and invoice words drop it. See docs/detectors.md.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import phonenumbers

from perisai.detect.finding import Finding, ascii_twin, clamp, near, plain

# A candidate: optional +, then 8-16 digits with at most one separator between digits. The
# look-behinds keep it out of words, URL paths, "#order" ids and decimals ("1.0123...").
NUMBER = re.compile(
    r"(?=[+\d(])(?<![\w=+@#(])(?<![^\d\s]/)(?<!\w-)(?<!\d[.,])"  # where a number may start
    r"(\+ ?)?\(?\d(?:(?:[ .\-]| - |\) ?)?\d){7,15}(?!\w)"  # 8-16 digits, single separators
)
# For `plain` text: digits -> "0", everything else -> " ", so that bytes.find walks digit runs.
_DIGIT_MASK = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))
WAME = re.compile(
    r"(?:https?://)?(?:wa\.me/|api\.whatsapp\.com/send/?\?phone=)(\+?\d{8,15})", re.IGNORECASE
)
# A token that is a URL: "012-3456789/019-8765432" (two phones) is not.
URLISH = re.compile(r"://|www\.|[A-Za-z]\.[A-Za-z]{2,}/|[?=&]|/\D")
_SEP = re.compile(r"[^\d]")
_IC_LAYOUT = re.compile(r"\d{6}([ -]?)\d{2}\1\d{4}")
# Malaysian national significant numbers (no trunk 0): mobiles 01X, 011 (10 digits), 015 VoIP,
# Klang Valley 03 (9 digits), other states 04-07/09 (8), Sabah/Sarawak 082-089 (8).
_MY_NSN = re.compile(r"1[0-46-9]\d{7}|11\d{8}|15\d{7,8}|3\d{8}|[4-79]\d{7}|8[2-9]\d{6}")

PHONE_LABEL = re.compile(
    r"(no\.? ?tel|tel|telefon|phone|ph|no\.? ?hp|hp|h/p|handphone|mobile|whatsapp|wasap|wassap"
    r"|watsap|ws|wa|hubungi|call|contact|nombor|number|no dia|no rumah|sms)\b\W{0,3}[^\d\n]{0,12}$"
)
IC_LABEL = re.compile(
    r"(no\.? ?ic|ic|i/c|nric|mykad|kad pengenalan|k/p|kp|no\.? ?kp|ic no|ic number)\b[^\d\n]{0,12}$"
)
BANK_LABEL = re.compile(
    r"(maybank|cimb|public ?bank|pbb|rhb|bank islam|hong ?leong|hlb|bsn|ambank|affin|alliance"
    r"|bank rakyat|agrobank|muamalat|ocbc|hsbc|uob|standard chartered|akaun|acc|a/c|account"
    r"|no\.? ?akaun)\b[^\d\n]{0,14}$"
)
# Words before a number that make it a reference, not a person's phone or IC.
NEGATIVE = re.compile(
    r"(order|pesanan|tracking|track|awb|invoice|inv|resit|receipt|ref|rujukan|parcel|siri"
    r"|serial|transaction|txn|trx|id|kod|code|otp|pin|tiket|ticket|booking|harga|rm|usd|\$)"
    r"\b[^\d\n]{0,12}$"
)
# fmt: off
IC_CODES = frozenset(
    [f"{n:02d}" for n in [*range(1, 17), *range(21, 60), 82, *range(60, 69), 71, 72,
                          *range(74, 80), *range(83, 94), 98, 99]]
)
# fmt: on


def _valid_pattern(region: str) -> re.Pattern[str]:
    """libphonenumber's `is_valid_number` for one region as ONE compiled regex on the NSN.

    Same rule as `phonenumberutil._number_type_helper`: the general pattern and at least one
    number type (each with its possible lengths) must fully match. Built from the installed
    metadata at import, so it follows library upgrades; tests compare it with the library.
    """
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert md is not None, region

    def desc(d: Any) -> str:
        if d.possible_length and all(n < 1 for n in d.possible_length):
            return "(?!)"  # [-1]: the region has no numbers of this type
        lengths = "|".join(rf"\d{{{n}}}\Z" for n in d.possible_length if n > 0)
        ahead = f"(?={lengths})" if lengths else ""
        return rf"{ahead}(?:{d.national_number_pattern})\Z"

    kinds: tuple[str, ...] = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number")
    kinds = (*kinds, "pager", "uan", "voicemail", "fixed_line", "mobile")  # libphonenumber order
    types = [desc(d) for k in kinds if (d := getattr(md, k)) is not None]
    return re.compile(f"(?={desc(md.general_desc)})(?:{'|'.join(types)})")


_MY_VALID = _valid_pattern("MY")


def ic_valid(digits: str) -> bool:
    """Real calendar date (either century) and a place-of-birth code from pii-malaysia.md."""
    if len(digits) != 12 or not digits.isdigit() or digits[6:8] not in IC_CODES:
        return False
    yy, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    if not 1 <= month <= 12:
        return False
    days = max(calendar.monthrange(1900 + yy, month)[1], calendar.monthrange(2000 + yy, month)[1])
    return 1 <= day <= days


@lru_cache(maxsize=8192)  # the same numbers are reposted over and over in these groups
def normalise_phone(raw: str) -> tuple[str, bool] | None:
    """(E.164, valid in libphonenumber's metadata) or None when it cannot be a phone.

    Metadata validity is a score feature, not a gate: it lags new Malaysian ranges. Foreign
    numbers need a + and must be valid, as we know nothing else about their shapes.
    """
    digits = _SEP.sub("", raw)
    plus = raw.lstrip().startswith("+")
    if plus and not digits.startswith("60"):
        try:
            num = phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(num):
            return None
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), True
    if digits.startswith("60"):
        nsn = digits[2:]
        if nsn.startswith("0"):  # "+60 012-..." is a common slip
            nsn = nsn[1:]
    elif digits.startswith("0") and not plus:
        nsn = digits[1:]
    else:
        return None
    if not _MY_NSN.fullmatch(nsn):
        return None
    return "+60" + nsn, _MY_VALID.match(nsn) is not None


_NUMBER_A = ascii_twin(NUMBER)


def _label(rx: re.Pattern[str], before: str, fast: bool = False) -> str | None:
    m = (ascii_twin(rx) if fast else rx).search(before)
    return m.group(1) if m else None


def _phone(
    raw: str, start: int, before: str, label: str | None, fast: bool = False
) -> Finding | None:
    norm = normalise_phone(raw)
    if norm is None:
        return None
    if label is None and _label(NEGATIVE, before, fast) is not None:
        return None
    value, valid = norm
    score = (0.8 if valid else 0.55) + (0.15 if label else 0.0)
    if raw.startswith("+") or _SEP.search(raw):
        score += 0.05  # written the way people write phone numbers
    detail = {"raw": raw, "valid": valid, "label": label}
    return Finding("pii.phone", value, (start, start + len(raw)), clamp(score), detail)


def _trimmed_phone(
    raw: str, start: int, before: str, label: str | None, fast: bool = False
) -> Finding | None:
    """The greedy candidate may have swallowed a neighbouring number: drop groups at the end."""
    found = _phone(raw, start, before, label, fast)
    cut = raw
    while found is None:
        i = max(cut.rfind(" "), cut.rfind("-"), cut.rfind("."))
        if i <= 0:
            return None
        cut = cut[:i]
        if len(_SEP.sub("", cut)) < 9:
            return None
        found = _phone(cut, start, before, label, fast)
    return found


def _in_url(text: str, start: int, fast: bool = False) -> bool:
    """Is the candidate part of a URL-like token (a path, a query, a domain)?"""
    tok = text[max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1 : start]
    return "/" in tok and (ascii_twin(URLISH) if fast else URLISH).search(tok) is not None


def digit_mask(text: str) -> bytes | None:
    """For `plain` text: digits as b"0", everything else as b" " (None for other text)."""
    return text.encode("ascii").translate(_DIGIT_MASK) if plain(text) else None


def numbers_in(text: str, mask: bytes | None = None) -> Iterator[re.Match[str]]:
    """The same matches as `NUMBER.finditer(text)`, found faster with `digit_mask(text)`:
    none below 8 digits, else NUMBER's ASCII twin (tests compare the two)."""
    if mask is None:
        return NUMBER.finditer(text)
    if mask.count(b"0") < 8:
        return iter(())  # every candidate has 8 digits or more
    return _NUMBER_A.finditer(text)


def detect_numbers(text: str) -> list[Finding]:
    out: list[Finding] = []
    if "/" in text and ("wa.me/" in (low := text.casefold()) or "whatsapp.com/" in low):
        for m in WAME.finditer(text):
            norm = normalise_phone(m.group(1) if m.group(1).startswith("+") else "+" + m.group(1))
            if norm:
                raw = m.group(0)
                detail = {"raw": raw, "valid": norm[1], "label": "wa.me"}
                out.append(Finding("pii.phone", norm[0], m.span(), 0.95, detail))
    mask = digit_mask(text)
    fast = mask is not None
    for m in numbers_in(text, mask):
        start = m.start()
        if _in_url(text, start, fast):
            continue  # digit runs inside URLs are ids, not phones
        raw = m.group(0)
        digits = _SEP.sub("", raw)
        if mask is None:
            before = near(text, start, 32)
        else:
            # Every label regex ends in "...[^\d\n]{0,N}$" and holds no digit: it can only
            # match after the last digit before the number. Shorter text, same match.
            lo = max(0, start - 32)
            before = text[max(lo, mask.rfind(b"0", lo, start) + 1) : start].lower()
        bank = _label(BANK_LABEL, before, fast)
        phone_label = _label(PHONE_LABEL, before, fast)
        if bank and not phone_label and 10 <= len(digits) <= 16 and not raw.startswith("+"):
            detail = {"raw": raw, "label": bank}
            out.append(Finding("pii.bank_account", digits, m.span(), 0.9, detail))
            continue
        if len(digits) == 12 and _IC_LAYOUT.fullmatch(raw) and ic_valid(digits):
            ic_label = _label(IC_LABEL, before, fast)
            unformatted = raw == digits
            # An unformatted 601... is far more often a phone written 60-prefixed than an IC
            # of someone born in 1960.
            if not (unformatted and digits.startswith("601") and not ic_label):
                if ic_label is None and _label(NEGATIVE, before, fast) is not None:
                    continue
                score = (0.6 if unformatted else 0.8) + (0.3 if ic_label else 0.0)
                detail = {"raw": raw, "label": ic_label, "place_code": digits[6:8]}
                out.append(Finding("pii.ic", digits, m.span(), clamp(score), detail))
                continue
        found = _trimmed_phone(raw, start, before, phone_label, fast)
        if found is not None:
            out.append(found)
    return out
