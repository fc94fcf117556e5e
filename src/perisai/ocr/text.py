"""Joining lines that OCR (or a narrow chat bubble) broke inside a phone number, IC or handle."""

from __future__ import annotations

import re

# The numeric run at the end of a line: "012-345", "+60 13-456", "990101-".
_TAIL_NUMBER = re.compile(r"(?:\+\s?)?\d[\d .\-()]*$")
# The numeric run at the start of the next line: "6789", "14-5678", "345 6789".
_HEAD_NUMBER = re.compile(r"^\d[\d .\-]*")
# A handle or profile URL cut after a joining character: "@nur.aisyah_", "instagram.com/".
_TAIL_HANDLE = re.compile(
    r"(?:@[\w.]*|(?:instagram\.com|tiktok\.com|twitter\.com|x\.com|facebook\.com|t\.me|wa\.me)"
    r"/@?[\w.]*)[._/@-]$",
    re.IGNORECASE,
)
_HEAD_HANDLE = re.compile(r"^[\w.]+")
# A field label whose value went to the next line: "IG:", "No tel:", "IC".
_TAIL_LABEL = re.compile(
    r"(?:^|\s)(?:ig|insta|instagram|tiktok|tt|twitter|fb|facebook|telegram|tele|wa|whatsapp|"
    r"tel|no\.? tel|phone|hp|no\.? hp|ic|no\.? ic|nric|kp|mykad)\s*[:\-]?$",
    re.IGNORECASE,
)
_HEAD_VALUE = re.compile(r"^(?:@?[\w.]+|\+?\d)")

# Letters Tesseract reads in place of digits, and the digit each stands for.
_DIGIT_FOR = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "S": "5", "B": "8"}
)
_CONFUSABLE = "OoDIl|SB"
# A run of digits and confusable letters with phone/IC separators, not inside a word.
_NUMBER_RUN = re.compile(
    rf"(?<![A-Za-z])\+?[0-9{_CONFUSABLE}][0-9{_CONFUSABLE} .\-()]*[0-9{_CONFUSABLE}](?![A-Za-z])"
)
# A lower-case handle whose trailing digits include an upper-case O: "aisyahO7".
_HANDLE_TAIL = re.compile(r"(?<![\w.])(@?[a-z0-9._]*[a-z._])([0-9O]*O[0-9O]*)(?![\w])")


def _digits(s: str) -> int:
    return sum(c.isdigit() for c in s)


def _numbers_continue(prev: str, nxt: str) -> bool:
    tail, head = _TAIL_NUMBER.search(prev), _HEAD_NUMBER.match(nxt)
    if not tail or not head:
        return False
    t, h = tail.group().strip(), head.group().strip()
    # Only a run that looks like the start of a phone or IC: 0.., +6.., 6.., or a dash inside.
    if not (t.startswith(("0", "+", "6")) or "-" in t):
        return False
    a, b = _digits(t), _digits(h.split(" ")[0] if _digits(h) > 8 else h)
    return 2 <= a <= 11 and 9 <= a + b <= 13


def _joiner(prev: str, nxt: str) -> str | None:
    """The text to put between two lines that belong together, or None to keep the break."""
    p, n = prev.rstrip(), nxt.lstrip()
    if not p or not n:
        return None
    if _numbers_continue(p, n):
        return "" if p.endswith("-") else " "
    if _TAIL_HANDLE.search(p) and _HEAD_HANDLE.match(n):
        return ""
    if _TAIL_LABEL.search(p) and _HEAD_VALUE.match(n):
        return " "
    return None


def _number_run(m: re.Match[str]) -> str:
    run = m.group()
    digits = sum(c.isdigit() for c in run)
    letters = sum(c in _CONFUSABLE for c in run)
    if digits < 6 or letters == 0 or letters > 2 or 3 * letters > digits:
        return run
    return run.translate(_DIGIT_FOR)


def _handle_tail(m: re.Match[str]) -> str:
    head, tail = m.group(1), m.group(2)
    if not any(c.isdigit() for c in tail):
        return m.group()
    return head + tail.replace("O", "0")


def repair_confusables(text: str) -> str:
    """Puts digits back where OCR read letters: "0l2-345 67O9" -> "012-345 6709",
    "IG: hani.aisyahO7" -> "IG: hani.aisyah07". Only inside runs that are mostly digits (six
    or more real ones, at most two letters) and in the trailing digits of a lower-case handle;
    words are left alone. One character for one, so spans stay valid."""
    return _HANDLE_TAIL.sub(_handle_tail, _NUMBER_RUN.sub(_number_run, text))


def join_wrapped(text: str) -> str:
    """Merges lines broken inside a phone number, IC or handle; other lines are left alone.

    "012-345\\n6789" -> "012-345 6789"; "990101-\\n14-5678" -> "990101-14-5678";
    "@nur.aisyah_\\n99" -> "@nur.aisyah_99"; "IG:\\nsiti.hajar" -> "IG: siti.hajar".
    """
    out: list[str] = []
    for line in text.splitlines():
        if out:
            glue = _joiner(out[-1], line)
            if glue is not None:
                out[-1] = out[-1].rstrip() + glue + line.lstrip()
                continue
        out.append(line)
    return "\n".join(out)
