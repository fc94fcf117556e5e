"""Message text as Telegram Desktop writes it, with the ground truth of what was planted where.

A message's canonical text is the concatenation of its pieces; every span recorded here is a
Python string index range into that text (code points, not Telegram's UTF-16 offsets).
"""

from __future__ import annotations

import random
import re
from typing import Any

from perisai.synth import pii as P

Piece = str | dict[str, Any]
Record = dict[str, Any]

# What Telegram itself links as @mention: letters, digits and underscores, 5 to 32 long.
_MENTIONABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")


class TextBuilder:
    __slots__ = ("parts", "pos", "has_entities", "pii", "intents", "cues")

    def __init__(self) -> None:
        self.parts: list[Piece] = []
        self.pos = 0
        self.has_entities = False
        self.pii: list[Record] = []
        self.intents: list[Record] = []
        self.cues: list[str] = []

    def lit(self, s: str) -> None:
        if not s:
            return
        parts = self.parts
        if parts and isinstance(parts[-1], str):
            parts[-1] += s
        else:
            parts.append(s)
        self.pos += len(s)

    def ent(self, etype: str, s: str, **extra: Any) -> None:
        piece: dict[str, Any] = {"type": etype, "text": s}
        piece.update(extra)
        self.parts.append(piece)
        self.has_entities = True
        self.pos += len(s)

    def add_pii(
        self,
        kind: str,
        raw: str,
        value: str,
        about: str,
        person: int | None = None,
        entity: str | None = None,
        detail: dict[str, str] | None = None,
    ) -> None:
        start = self.pos
        if entity:
            self.ent(entity, raw)
        else:
            self.lit(raw)
        rec: Record = {"kind": kind, "value": value, "raw": raw, "span": [start, self.pos]}
        rec["where"] = "text"
        if entity:
            rec["entity"] = entity
        rec["about"] = about
        if person is not None:
            rec["person"] = person
        if detail:
            rec["detail"] = detail
        self.pii.append(rec)

    def add_hidden_link(self, anchor: str, href: str, value: str, about: str) -> None:
        """A text_link: the link is only in href, the span covers the anchor text."""
        start = self.pos
        self.ent("text_link", anchor, href=href)
        self.pii.append(
            {
                "kind": "link.telegram",
                "value": value,
                "raw": href,
                "span": [start, self.pos],
                "where": "href",
                "entity": "text_link",
                "about": about,
            }
        )

    def intent(self, kind: str, phrase: str) -> None:
        start = self.pos
        self.lit(phrase)
        self.intents.append({"kind": kind, "phrase": phrase, "span": [start, self.pos]})

    def cue(self, phrase: str) -> None:
        self.lit(phrase)
        self.cues.append(phrase)

    def text_value(self) -> str | list[Piece]:
        parts = self.parts
        if not self.has_entities:
            return parts[0] if parts else ""  # type: ignore[return-value]  # one str piece
        if isinstance(parts[-1], dict):
            return [*parts, ""]  # the exporter ends a list that ends in an entity with ""
        return list(parts)

    def entities_value(self) -> list[dict[str, Any]]:
        out = [{"type": "plain", "text": p} if isinstance(p, str) else p for p in self.parts]
        if self.parts and isinstance(self.parts[-1], dict):
            out.append({"type": "plain", "text": ""})
        return out

    def canonical(self) -> str:
        return "".join(p if isinstance(p, str) else p["text"] for p in self.parts)


# Adders: each writes one identifier in one of its real-world spellings.


def add_phone(rng: random.Random, b: TextBuilder, nsn: str, about: str, person: int | None) -> None:
    value = "+60" + nsn
    if nsn.startswith("1") and rng.random() < 0.08:
        b.add_pii("pii.phone", "wa.me/60" + nsn, value, about, person, entity="link")
        return
    raw = P.render_phone(rng, nsn)
    # Telegram links +60 numbers as phone entities more often than local spellings.
    chance = 0.75 if raw.startswith("+") else 0.25
    b.add_pii("pii.phone", raw, value, about, person, "phone" if rng.random() < chance else None)


def add_ic(rng: random.Random, b: TextBuilder, ic: str, birth: str, person: int | None) -> None:
    detail = {"birth_date": birth, "place_code": ic[6:8]}
    b.add_pii("pii.ic", P.render_ic(rng, ic), ic, "victim", person, detail=detail)


def add_address(b: TextBuilder, address: str, parts: dict[str, str], person: int | None) -> None:
    b.add_pii("pii.address", address, P.normalise_address(address), "victim", person, detail=parts)


def add_email(
    rng: random.Random, b: TextBuilder, email: str, about: str, person: int | None
) -> None:
    raw = email if rng.random() < 0.8 else email[0].upper() + email[1:]
    b.add_pii(
        "pii.email", raw, email.lower(), about, person, "email" if rng.random() < 0.9 else None
    )


def add_handle(
    rng: random.Random, b: TextBuilder, platform: str, handle: str, person: int | None
) -> None:
    """Writes the platform word and the handle; only the handle is the recorded span."""
    value = f"{platform}:{handle.lower()}"
    style = rng.random()
    if platform == "instagram":
        if style < 0.6:
            b.lit(rng.choice(["IG: ", "ig ", "insta: ", "IG dia ", "Instagram: "]))
            raw = "@" + handle
        elif style < 0.85:
            raw = "instagram.com/" + handle
        else:
            raw = f"https://www.instagram.com/{handle}/"
    elif platform == "tiktok":
        if style < 0.6:
            b.lit(rng.choice(["tiktok: ", "TikTok ", "tt: "]))
            raw = "@" + handle
        else:
            raw = "tiktok.com/@" + handle
    elif platform == "twitter":
        if style < 0.5:
            b.lit(rng.choice(["twitter ", "X: ", "twt "]))
            raw = "@" + handle
        else:
            raw = rng.choice(["x.com/", "twitter.com/"]) + handle
    elif platform == "telegram":
        b.lit(rng.choice(["tele dia ", "telegram: ", "tg "]))
        raw = "@" + handle
    else:  # facebook
        b.lit(rng.choice(["fb: ", "FB dia ", "facebook "]))
        raw = "facebook.com/" + handle
    entity = None
    if raw.startswith("@"):
        if _MENTIONABLE.fullmatch(handle):
            entity = "mention"
    elif "." in raw:
        entity = "link"
    b.add_pii("pii.handle", raw, value, "victim", person, entity)


def add_bank(rng: random.Random, b: TextBuilder, bank: str, digits: str, about: str) -> None:
    b.lit(f"{bank} {rng.choice(['acc', 'akaun', 'no akaun', 'a/c'])} ")
    b.add_pii(
        "pii.bank_account", P.render_bank_account(rng, digits), digits, about, detail={"bank": bank}
    )


def add_plate(rng: random.Random, b: TextBuilder, plate: str, person: int | None) -> None:
    b.lit(rng.choice(["plat kereta ", "Plat: ", "kereta dia ", "moto dia "]))
    b.add_pii("pii.plate", P.render_plate(rng, plate), plate, "victim", person)


def add_tme(rng: random.Random, b: TextBuilder, about: str = "group") -> str:
    """An invite or public link; returns the canonical value."""
    roll = rng.random()
    if roll < 0.55:
        h = P.invite_hash(rng, joinchat=False)
        value = f"https://t.me/+{h}"
        raw = rng.choice([value, f"t.me/+{h}"])
    elif roll < 0.8:
        h = P.invite_hash(rng, joinchat=True)
        value = f"https://t.me/joinchat/{h}"
        raw = rng.choice([value, f"telegram.me/joinchat/{h}", f"t.me/joinchat/{h}"])
    else:
        name = rng.choice(["lepakgeng", "lgbackup", "koleksi", "arkibviral"]) + str(
            rng.randrange(2, 99)
        )
        value = f"https://t.me/{name}"
        raw = rng.choice([value, f"t.me/{name}"])
    if rng.random() < 0.12 and raw.startswith("https"):
        b.add_hidden_link(rng.choice(["klik sini", "JOIN", "backup 👈"]), raw, value, about)
    else:
        b.add_pii("link.telegram", raw, value, about, entity="link")
    return value
