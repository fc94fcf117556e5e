"""Malaysian postal addresses, found as runs of address-like segments.

Addresses are written as comma- or newline-separated parts: house (No./Lot/Blok/Unit), street
(Jalan/Jln/Lorong/Lrg/Persiaran), area (Taman/Tmn/Kampung/Kg/Bandar/Desa/Pangsapuri), postcode
and city, state. We split the text at commas and newlines, classify each segment by its first
word, and keep runs of two or more kinds of part that include a street, an area or a postcode.
The score grows with the number of kinds present; an "Alamat:" label adds to it.
"""

from __future__ import annotations

import re

from perisai.detect.finding import Finding, Lowered, clamp, near, plain

# fmt: off
STATES = (
    "Selangor|Johor|Kedah|Kelantan|Melaka|Malacca|Negeri Sembilan|N\\. ?Sembilan|Pahang|Perak"
    "|Perlis|Pulau Pinang|P\\. ?Pinang|Penang|Sabah|Sarawak|Terengganu|Kuala Lumpur|W\\.?P\\.?"
    "(?: Kuala Lumpur)?|Putrajaya|Labuan|KL|Sel|Jhr|Kel|Mlk|NS|Phg|Prk|Trg|Tganu|Pnang"
)
# fmt: on
HOUSE = r"(?:No\.?|Nombor|Lot|Blok|Block|Unit|Apartment|Apt\.?|Flat|Pangsapuri|Kondo|Condo)"
STREET = r"(?:Jalan|Jln\.?|Lorong|Lrg\.?|Persiaran|Psrn\.?|Lebuh|Lebuhraya|Lengkok|Solok|Medan)"
AREA = r"(?:Taman|Tmn\.?|Kampung|Kampong|Kg\.?|Bandar|Bdr\.?|Desa|Seksyen|Section|Pangsapuri|Flat)"
CUE = re.compile(rf"\b(?:{HOUSE}|{STREET}|{AREA})(?=[\s\d])|\b\d{{5}}\s+[A-Z]", re.IGNORECASE)

_SEGMENT = re.compile(r"[^,\n]+")
_HOUSE = re.compile(rf"{HOUSE}\s*[\w/-]*\d", re.IGNORECASE)
_STREET = re.compile(rf"{STREET}\s+\w", re.IGNORECASE)
_AREA = re.compile(rf"{AREA}\s+\w", re.IGNORECASE)
# Postcode then a capitalised city name (case-sensitive so that "40000 tu" is not a city).
_POSTCODE = re.compile(r"(?<!\d)\d{5}\s+[A-Z][A-Za-z]+(?:[ -][A-Z][A-Za-z]+){0,2}")
_STATE = re.compile(rf"(?:{STATES})\b")
# A lead-in before the first part of a casual address: "dok ", "rumah dia ", "Alamat: ".
_LEAD = re.compile(rf"\b(?:{HOUSE}|{STREET}|{AREA})(?=[\s\d])", re.IGNORECASE)
_LEAD_FAST = Lowered(_LEAD)
LABEL = re.compile(r"(alamat|address|addr|umah|rumah|dok|duduk|tinggal|stay)\b", re.IGNORECASE)


_FIRST = re.compile(r"[A-Za-z]+")
# First words that can open a part: most segments are rejected by one dict lookup.
FIRST_WORDS = frozenset(
    [
        "no",
        "nombor",
        "lot",
        "blok",
        "block",
        "unit",
        "apartment",
        "apt",
        "flat",
        "pangsapuri",
        "kondo",
        "condo",
        "jalan",
        "jln",
        "lorong",
        "lrg",
        "persiaran",
        "psrn",
        "lebuh",
        "lebuhraya",
        "lengkok",
        "solok",
        "medan",
        "taman",
        "tmn",
        "kampung",
        "kampong",
        "kg",
        "bandar",
        "bdr",
        "desa",
        "seksyen",
        "section",
        "selangor",
        "johor",
        "kedah",
        "kelantan",
        "melaka",
        "malacca",
        "negeri",
        "n",
        "pahang",
        "perak",
        "perlis",
        "pulau",
        "p",
        "penang",
        "sabah",
        "sarawak",
        "terengganu",
        "kuala",
        "putrajaya",
        "labuan",
        "kl",
        "sel",
        "jhr",
        "kel",
        "mlk",
        "ns",
        "phg",
        "prk",
        "trg",
        "tganu",
        "pnang",
        "w",
        "wp",
    ]
)


def _words_of(group: str) -> list[str]:
    """ "(?:No\\.?|Lot|...)" -> ["no", "lot", ...]: the letters each alternative starts with."""
    return [alt.replace("\\.?", "").lower() for alt in group[3:-1].split("|")]


_PARTS = (("house", _HOUSE, HOUSE), ("street", _STREET, STREET), ("area", _AREA, AREA))
_ALL_PARTS = tuple((kind, rx) for kind, rx, _ in _PARTS)
# A part's regex starts with one of its words, so it can only match a segment whose first
# letters begin with one: "Jalan ..." is tried as a street only, not as a house or an area.
_PARTS_BY_FIRST = {
    w: tuple(
        (kind, rx) for kind, rx, group in _PARTS if any(w.startswith(a) for a in _words_of(group))
    )
    for w in FIRST_WORDS
}


def _classify(seg: str) -> tuple[str, int] | None:
    """(kind of part, how many characters of it belong to the address) or None."""
    s = seg
    parts = _ALL_PARTS
    if not s[:1].isdigit():
        first = _FIRST.match(s)
        if first is None:
            return None
        parts_for = _PARTS_BY_FIRST.get(first.group(0).lower())
        if parts_for is None:
            return None
        parts = parts_for
    for kind, rx in (("postcode", _POSTCODE), ("state", _STATE)):
        m = rx.match(s)
        if m:
            return kind, m.end()
    for kind, rx in parts:
        if rx.match(s):
            return kind, len(s.rstrip())
    return None


# Lower-case words of which an address needs at least one (besides a postcode).
CUE_WORDS = frozenset(
    [
        "jalan",
        "jln",
        "lorong",
        "lrg",
        "persiaran",
        "psrn",
        "lebuh",
        "lebuhraya",
        "lengkok",
        "solok",
        "medan",
        "taman",
        "tmn",
        "kampung",
        "kampong",
        "kg",
        "bandar",
        "bdr",
        "desa",
        "seksyen",
        "section",
        "pangsapuri",
        "flat",
    ]
)
POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)")


def detect_addresses(text: str, words: frozenset[str] | set[str] | None = None) -> list[Finding]:
    """`words`: the message's lower-case words, when the caller already has them (detect_text)."""
    if words is not None:
        if words.isdisjoint(CUE_WORDS) and not POSTCODE.search(text):
            return []
    elif not CUE.search(text):
        return []
    out: list[Finding] = []
    run: list[tuple[int, int, str]] = []  # (start, end, kind)

    def flush() -> None:
        kinds = {k for _, _, k in run}
        if len(kinds) >= 2 and kinds & {"street", "area", "postcode"}:
            start, end = run[0][0], run[-1][1]
            raw = text[start:end]
            value = " ".join(raw.replace(",\n", ", ").split())
            label = LABEL.search(near(text, start, 24))
            score = 0.45 + 0.1 * len(kinds) + (0.1 if label else 0.0)
            detail = {"raw": raw, "parts": sorted(kinds), "label": label and label.group(1)}
            out.append(Finding("pii.address", value, (start, end), clamp(score), detail))
        run.clear()

    low = text.lower() if plain(text) else None
    for m in _SEGMENT.finditer(text):
        seg_start = m.start()
        seg = m.group(0)
        stripped = seg.lstrip()
        seg_start += len(seg) - len(stripped)
        got = _classify(stripped)
        if got is None and not run:
            # Only the first part may have a lead-in ("Alamat: No. 5", "rumah dia Jalan ...").
            # (Searched in place: the text just before a segment is a separator or a space.)
            lead = _LEAD_FAST.search(text, low, seg_start, m.end())
            if lead:
                stripped = stripped[lead.start() - seg_start :]
                seg_start = lead.start()
                got = _classify(stripped)
        if got is None:
            flush()
            continue
        kind, length = got
        run.append((seg_start, seg_start + length, kind))
        if length < len(stripped.rstrip()):
            flush()  # the segment went on past the address ("Selangor pm dia")
    flush()
    return out
