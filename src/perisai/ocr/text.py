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
