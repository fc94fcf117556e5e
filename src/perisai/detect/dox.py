"""Dox scoring: does a message (or a short burst of one sender's messages) expose one person?

Pure: no database, no network, no I/O. The caller gives one chat's messages in chat order,
each with the `Finding`s the text detectors found in it and the sha256 of the photos it
posted; `score_messages` returns one `Dox` per message or window that holds personal
information (`pii.*`). What makes a dox rather than a seller's contact line
(pii-malaysia.md, "Doxxing, not just PII"): several kinds of personal information together,
labelled fields, talk about a third person, and intent cues nearby.

Windows. A message joins the open window of its sender when it is within
`WINDOW_SECONDS` (300) of the window's first message, the window has fewer than
`WINDOW_MESSAGES` (4) messages, at most `WINDOW_GAP_MESSAGES` (5) other messages were
posted in between, and it brings no second value of a kind the window already has (a
second phone, IC or name means a second person). Only messages with something to say join
(personal information, a name, a field label, a third-person or intent cue); a window
without personal information gives no `Dox`. Messages without a sender or a time are never
merged.

Score (clamped to 0..1, two decimals)::

    K     = sum over distinct kinds (pii.* plus pii.name) of the best finding score
            of that kind (a labelled name counts 1.0, "X bin/binti Y" 0.8, a bare
            capitalised name line 0.6)
    base  = piecewise linear through (0, 0) (1, 0.30) (2, 0.50) (3, 0.65) (4, 0.75)
            (5, 0.80), flat after 5
    score = base
          + 0.05 per distinct field label ("Nama:", "IC:", "No tel:", "Alamat:", ...), max 0.20
          + 0.20 if a third-person reference fires ("dia", "budak ni", "awek tu",
            "this girl", "her")
          + 0.15 if a threat cue fires (intent.sextortion, intent.csam_coded, "pm dia",
            "spam dia", ...), else 0.10 if a trade cue fires (intent.trade,
            intent.solicitation, a price "RM50")
          - 0.30 if the poster gives their own contact ("PM saya", "contact me",
            "hubungi saya", "order"), only 0.10 when a third-person reference also fires

Intent findings count from the window's messages and from their reply chain (the messages
they reply to and the replies to them). Thresholds: `score >= DOX_THRESHOLD` (0.6) is a
dox; `REVIEW_THRESHOLD` (0.4) to 0.6 is worth a caseworker's look; below 0.4 is ordinary
contact information. Examples: "Nama/IC/No tel/Alamat" labelled 0.95; "ni nombor awek tu
012-3456789, ig dia @siti.x" about 0.73; "PM saya 012-3456789" 0.0; one bare phone about 0.25.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from perisai.detect.finding import Finding, clamp

__all__ = [
    "DOX_THRESHOLD",
    "REVIEW_THRESHOLD",
    "Dox",
    "DoxMessage",
    "score_messages",
]

DOX_THRESHOLD = 0.6
REVIEW_THRESHOLD = 0.4
WINDOW_SECONDS = 300.0
WINDOW_MESSAGES = 4
WINDOW_GAP_MESSAGES = 5
MEDIA_SECONDS = 300.0

_BASE = ((0.0, 0.0), (1.0, 0.30), (2.0, 0.50), (3.0, 0.65), (4.0, 0.75), (5.0, 0.80))
LABEL_EACH, LABEL_MAX = 0.05, 0.20
THIRD_PERSON_BONUS = 0.20
THREAT_BONUS, TRADE_BONUS = 0.15, 0.10
SELLER_PENALTY, SELLER_PENALTY_THIRD = 0.30, 0.10

NAME_KIND = "pii.name"
NAME_LABELLED, NAME_BIN, NAME_LINE = 1.0, 0.8, 0.6


@dataclass(frozen=True)
class DoxMessage:
    """One message of a chat, with what the detectors found in it."""

    message_pk: int
    sender: int | None
    when: float | None  # unix seconds
    reply_to_pk: int | None
    text: str
    findings: list[Finding] = field(default_factory=list)
    media: list[str] = field(default_factory=list)  # sha256 of the photos it posted


@dataclass(frozen=True)
class Dox:
    """A message, or a short window of one sender's messages, that exposes one person."""

    message_pks: list[int]
    score: float
    identifiers: list[tuple[str, str]]  # (kind, value), de-duplicated, in order of appearance
    cues: list[str]
    linked_media: list[str]


# --- cue lexicons -------------------------------------------------------------------------

_BIN = r"(?:bin|binti|bte|bt|a/l|a/p)"
_CAP = r"[A-Z][a-z'’]+"
# A field label at the start of a line or after a separator, followed by ":" or "=".
_FIELD_LABEL = re.compile(
    r"(?:^|[\n,;|])[ \t]*[-•*>]?[ \t]*"
    r"(nama(?:\s+penuh)?|full\s+name|name|nick(?:name)?"
    r"|no\.?\s*ic|ic|i/c|nric|mykad|no\.?\s*kp|kp|kad\s+pengenalan"
    r"|no\.?\s*tel|tel|telefon|phone|no\.?\s*hp|hp|handphone|whatsapp|wasap|ws|wa"
    r"|alamat|address|addr|rumah|umah"
    r"|ig|insta|instagram|fb|facebook|tiktok|twitter|twt|telegram|tele|tg"
    r"|e-?mel|e-?mail"
    r"|no\.?\s*akaun|akaun|acc|bank"
    r"|plat|no\.?\s*plat|kereta"
    r"|umur|age|sekolah|school|kerja|keje|tempat\s+kerja|office|ofis|uni|kolej|college)"
    r"[ \t]*[:=]",
    re.IGNORECASE,
)
_LABEL_GROUPS = {
    "Nama:": ("nama", "nama penuh", "full name", "name", "nick", "nickname"),
    "IC:": ("no ic", "ic", "i/c", "nric", "mykad", "no kp", "kp", "kad pengenalan"),
    "No tel:": ("no tel", "tel", "telefon", "phone", "no hp", "hp", "handphone", "whatsapp",
                "wasap", "ws", "wa"),
    "Alamat:": ("alamat", "address", "addr", "rumah", "umah"),
    "IG:": ("ig", "insta", "instagram", "fb", "facebook", "tiktok", "twitter", "twt", "telegram",
            "tele", "tg"),
    "Email:": ("emel", "e-mel", "email", "e-mail"),
    "Akaun:": ("no akaun", "akaun", "acc", "bank"),
    "Plat:": ("plat", "no plat", "kereta"),
    "Umur:": ("umur", "age"),
    "Kerja:": ("sekolah", "school", "kerja", "keje", "tempat kerja", "office", "ofis", "uni",
               "kolej", "college"),
}  # fmt: skip
_LABEL_NAMES = {
    key: canon
    for canon, words in _LABEL_GROUPS.items()
    for word in words
    for key in (word, word.replace(" ", ""))
}
# Labels the detectors put in Finding.detail that name a field of a person's record.
_DETAIL_LABELS = {
    "pii.phone": ("No tel:", {"no tel", "tel", "telefon", "phone", "ph", "no hp", "hp", "h/p",
                              "handphone", "mobile", "nombor", "number", "no dia", "no rumah",
                              "whatsapp", "wasap", "wassap", "watsap", "ws", "wa", "sms"}),
    "pii.ic": ("IC:", None),
    "pii.address": ("Alamat:", {"alamat", "address", "addr"}),
    "pii.bank_account": ("Akaun:", None),
}  # fmt: skip

_THIRD_PERSON = re.compile(
    r"\b(dia|dye|her|she"
    r"|(?:budak|awek|makwe|minah|pompuan|perempuan|betina|gadis|girl|bini|ex|kakak|akak)"
    r"\s+(?:ni|tu|nie|tuh)"
    r"|this\s+(?:girl|chick|bitch|woman|lady|slut)|that\s+(?:girl|chick|bitch|woman)"
    r"|ex\s+(?:aku|dia)|bini\s+orang)\b",
    re.IGNORECASE,
)
_THREAT = re.compile(
    r"\b(?:pm|dm|call|spam|kacau|serang|ws|wasap|whatsapp|text|msg|mesej|tag|cari|carik"
    r"|attack|raid|viralkan|sebarkan|sebar|report|hantar\s+kat|datang|pergi)\s+"
    r"(?:dia|her|budak\s+ni|awek\s+ni|minah\s+ni|rumah\s+dia)\b",
    re.IGNORECASE,
)
_PRICE = re.compile(r"\brm\s?\d", re.IGNORECASE)
_SELLER = re.compile(
    r"\b(?:(?:pm|dm|ws|wasap|whatsapp|text|call|contact|hubungi|msg|mesej|roger)\s+"
    r"(?:saya|sy|me|aku|kami|us|admin|sis|kak)"
    r"|(?:nombor|no|number|contact)\s+(?:saya|sy|aku|kami)|my\s+(?:number|no|contact|whatsapp|wa)"
    r"|order|orders|tempah|tempahan|berminat|interested)\b",
    re.IGNORECASE,
)
_THREAT_KINDS = {"intent.sextortion", "intent.csam_coded"}
_TRADE_KINDS = {"intent.trade", "intent.solicitation"}

_NAME_LABELLED = re.compile(
    r"(?:^|[\n,;|])[ \t]*[-•*>]?[ \t]*(?:nama(?:\s+penuh)?|full\s+name|name|nick(?:name)?)"
    r"[ \t]*[:=][ \t]*([^\n,;|:=\d]{2,60})",
    re.IGNORECASE,
)
_NAME_BIN = re.compile(rf"\b{_CAP}(?:\s+{_CAP}){{0,3}}\s+{_BIN}\s+{_CAP}(?:\s+{_CAP}){{0,3}}\b")
_NAME_LINE = re.compile(rf"^{_CAP}(?:\s+{_CAP}){{1,3}}$")
# Capitalised words that start chatter, shop lines or addresses rather than names.
_NOT_NAME = frozenset(
    """
    selamat pagi petang malam tengahari terima kasih good morning night evening afternoon thank
    thanks hello hai hi assalamualaikum salam jual harga promo free new update info the this that
    and ready stock nama name no alamat address tel phone ig fb tiktok pm dm ws kl jalan jln taman
    tmn lorong lrg kampung kg persiaran blok pangsapuri apartment flat desa bandar lot unit
    selangor johor kedah kelantan melaka negeri sembilan pahang perak perlis pulau pinang penang
    sabah sarawak terengganu kuala lumpur putrajaya labuan shah alam petaling jaya happy birthday
    hari raya merry christmas ok okay best sedap murah cantik lawa gambar video link join group
    admin sorry maaf tahniah congrats welcome jom wow haha lol omg
    """.split()  # noqa: SIM905
)
_WS = re.compile(r"\s+")


# --- scoring ------------------------------------------------------------------------------


def _base(kinds: float) -> float:
    for (x0, y0), (x1, y1) in zip(_BASE, _BASE[1:], strict=False):
        if kinds <= x1:
            return y0 + (y1 - y0) * (kinds - x0) / (x1 - x0)
    return _BASE[-1][1]


def _covered(span: tuple[int, int], boxes: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in boxes)


def _names(message: DoxMessage) -> list[tuple[str, float, str]]:
    """Names in a message as (value, weight, how): labelled, "bin/binti", or a name line."""
    text = message.text
    boxes = [f.span for f in message.findings if f.kind.startswith("pii.")]
    out: list[tuple[str, float, str]] = []
    for m in _NAME_LABELLED.finditer(text):
        value = _WS.sub(" ", m.group(1)).strip(" .-'\"")
        if any(c.isalpha() for c in value) and not _covered(m.span(1), boxes):
            out.append((value, NAME_LABELLED, "labelled"))
    for m in _NAME_BIN.finditer(text):
        if not _covered(m.span(), boxes):
            out.append((_WS.sub(" ", m.group(0)), NAME_BIN, "bin_binti"))
    pos = 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        stripped = line.strip()
        if not _NAME_LINE.match(stripped):
            continue
        words = stripped.lower().split()
        if words[0] in _NOT_NAME or any(w in _NOT_NAME for w in words):
            continue
        if not _covered((start, start + len(line)), boxes):
            out.append((_WS.sub(" ", stripped), NAME_LINE, "line"))
    seen: set[str] = set()
    unique = []
    for value, weight, how in sorted(out, key=lambda n: -n[1]):
        key = value.casefold()
        if any(key in s or s in key for s in seen):
            continue
        seen.add(key)
        unique.append((value, weight, how))
    return unique


def _labels(message: DoxMessage) -> set[str]:
    found = set()
    for m in _FIELD_LABEL.finditer(message.text):
        word = _WS.sub(" ", m.group(1).lower().replace(".", "")).strip()
        canon = _LABEL_NAMES.get(word) or _LABEL_NAMES.get(word.replace(" ", ""))
        if canon:
            found.add(canon)
    for f in message.findings:
        label = f.detail.get("label")
        rule = _DETAIL_LABELS.get(f.kind)
        if not label or rule is None:
            continue
        canon, allowed = rule
        if allowed is None or str(label).lower() in allowed:
            found.add(canon)
    return found


def _identity(kind: str, value: str) -> tuple[str, str]:
    """What may hold only one value per person: a handle per platform, otherwise the kind."""
    if kind == "pii.handle" and ":" in value:
        return kind, value.split(":", 1)[0]
    return kind, ""


def _values(message: DoxMessage) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for f in message.findings:
        if f.kind.startswith("pii."):
            out.setdefault(_identity(f.kind, f.value), set()).add(f.value)
    for value, _, _ in _names(message):
        out.setdefault((NAME_KIND, ""), set()).add(value.casefold())
    return out


def _conflicts(
    window: dict[tuple[str, str], set[str]], new: dict[tuple[str, str], set[str]]
) -> bool:
    for key, values in new.items():
        have = window.get(key)
        if not have:
            continue
        if key[0] == NAME_KIND:
            if any(not any(v in h or h in v for h in have) for v in values):
                return True
        elif values - have:
            return True
    return False


def _relevant(message: DoxMessage) -> bool:
    if any(f.kind.startswith(("pii.", "intent.")) for f in message.findings):
        return True
    text = message.text
    return bool(
        _FIELD_LABEL.search(text)
        or _THIRD_PERSON.search(text)
        or _THREAT.search(text)
        or _names(message)
    )


def _add(out: list[str], seen: set[str], items: Iterable[str]) -> None:
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)


def _score_window(
    idx: list[int],
    messages: list[DoxMessage],
    by_pk: dict[int, int],
    children: dict[int, list[int]],
    by_sender: dict[int, tuple[list[float], list[int]]],
) -> Dox | None:
    window = [messages[i] for i in idx]
    identifiers: list[tuple[str, str]] = []
    seen_ids: set[tuple[str, str]] = set()
    best: dict[str, float] = {}
    for m in window:
        for f in m.findings:
            if not f.kind.startswith("pii."):
                continue
            best[f.kind] = max(best.get(f.kind, 0.0), f.score)
            if (f.kind, f.value) not in seen_ids:
                seen_ids.add((f.kind, f.value))
                identifiers.append((f.kind, f.value))
    if not best:
        return None
    cues: list[str] = []
    name_hows: list[str] = []
    for m in window:
        for value, weight, how in _names(m):
            best[NAME_KIND] = max(best.get(NAME_KIND, 0.0), weight)
            if (NAME_KIND, value) not in seen_ids:
                seen_ids.add((NAME_KIND, value))
                identifiers.append((NAME_KIND, value))
            if how not in name_hows:
                name_hows.append(how)
    kinds = sum(best.values())
    score = _base(kinds)
    cues.append(f"kinds:{len(best)}")

    labels: set[str] = set()
    for m in window:
        labels |= _labels(m)
    score += min(LABEL_MAX, LABEL_EACH * len(labels))
    cues += [f"label:{label}" for label in sorted(labels)]
    cues += [f"name:{how}" for how in name_hows]

    third: list[str] = []
    threat: list[str] = []
    trade: list[str] = []
    seller: list[str] = []
    for m in window:
        _add(third, set(third), (_WS.sub(" ", t.lower()) for t in _THIRD_PERSON.findall(m.text)))
        _add(
            threat,
            set(threat),
            (_WS.sub(" ", t.group(0).lower()) for t in _THREAT.finditer(m.text)),
        )
        if _PRICE.search(m.text):
            _add(trade, set(trade), ["price"])
        _add(
            seller,
            set(seller),
            (_WS.sub(" ", t.group(0).lower()) for t in _SELLER.finditer(m.text)),
        )
    chain = set(idx)
    for i in idx:
        parent = messages[i].reply_to_pk
        if parent is not None and parent in by_pk:
            chain.add(by_pk[parent])
        chain.update(children.get(messages[i].message_pk, ()))
    for i in sorted(chain):
        for f in messages[i].findings:
            if f.kind in _THREAT_KINDS:
                _add(threat, set(threat), [f.kind.removeprefix("intent.")])
            elif f.kind in _TRADE_KINDS:
                _add(trade, set(trade), [f.kind.removeprefix("intent.")])
    if third:
        score += THIRD_PERSON_BONUS
        cues += [f"third_person:{t}" for t in third]
    if threat:
        score += THREAT_BONUS
    elif trade:
        score += TRADE_BONUS
    cues += [f"intent:{t}" for t in threat + trade]
    if seller:
        score -= SELLER_PENALTY_THIRD if third else SELLER_PENALTY
        cues += [f"seller:{s}" for s in seller]

    media: list[str] = []
    seen_media: set[str] = set()
    for i in idx:
        _add(media, seen_media, messages[i].media)
    sender = window[0].sender
    times = [m.when for m in window if m.when is not None]
    if sender is not None and times and sender in by_sender:
        whens, order = by_sender[sender]
        lo = bisect_left(whens, min(times) - MEDIA_SECONDS)
        hi = bisect_right(whens, max(times) + MEDIA_SECONDS)
        for j in sorted(order[lo:hi]):
            _add(media, seen_media, messages[j].media)
    for i in sorted(chain - set(idx)):
        _add(media, seen_media, messages[i].media)

    return Dox(
        message_pks=[m.message_pk for m in window],
        score=clamp(score),
        identifiers=identifiers,
        cues=cues,
        linked_media=media,
    )


def score_messages(messages: list[DoxMessage]) -> list[Dox]:
    """Score one chat's messages (in chat order); one `Dox` per message or window with PII.

    See the module docstring for the windows and the formula. Every message or window with at
    least one `pii.*` finding gives a `Dox`, however low its score: filter with
    `DOX_THRESHOLD` (0.6) or `REVIEW_THRESHOLD` (0.4).
    """
    by_pk = {m.message_pk: i for i, m in enumerate(messages)}
    children: dict[int, list[int]] = {}
    for i, m in enumerate(messages):
        if m.reply_to_pk is not None:
            children.setdefault(m.reply_to_pk, []).append(i)
    timed: dict[int, list[tuple[float, int]]] = {}
    for i, m in enumerate(messages):
        if m.sender is not None and m.when is not None:
            timed.setdefault(m.sender, []).append((m.when, i))
    by_sender = {
        s: ([w for w, _ in sorted(v)], [i for _, i in sorted(v)]) for s, v in timed.items()
    }

    windows: list[list[int]] = []
    open_: dict[int, tuple[list[int], dict[tuple[str, str], set[str]]]] = {}
    for i, m in enumerate(messages):
        if not _relevant(m):
            continue
        values = _values(m)
        if m.sender is None or m.when is None:
            windows.append([i])
            continue
        current = open_.get(m.sender)
        if current is not None:
            idx, have = current
            first, last = messages[idx[0]], idx[-1]
            assert first.when is not None
            if (
                0.0 <= m.when - first.when <= WINDOW_SECONDS
                and len(idx) < WINDOW_MESSAGES
                and i - last - 1 <= WINDOW_GAP_MESSAGES
                and not _conflicts(have, values)
            ):
                idx.append(i)
                for key, vals in values.items():
                    have.setdefault(key, set()).update(vals)
                continue
        idx = [i]
        windows.append(idx)
        open_[m.sender] = (idx, {k: set(v) for k, v in values.items()})

    out = []
    for idx in sorted(windows, key=lambda w: w[0]):
        dox = _score_window(idx, messages, by_pk, children, by_sender)
        if dox is not None:
            out.append(dox)
    return out
