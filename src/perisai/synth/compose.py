"""What members of the group write: one composer per kind of message.

The mix (mostly chatter, then trading, soliciting, doxxing and threats) follows descriptions
of such groups; identifiers of the same fictional women recur so that the at-risk register can
be tested on merging them.
"""

from __future__ import annotations

import random

from perisai.synth import lexicon as L
from perisai.synth import pii as P
from perisai.synth.names import Sender
from perisai.synth.pii import Person
from perisai.synth.text import (
    TextBuilder,
    add_address,
    add_bank,
    add_email,
    add_handle,
    add_ic,
    add_phone,
    add_plate,
    add_tme,
)

# (kind, cumulative probability) for a message written by a member.
KINDS = [
    ("chatter", 0.52),
    ("trade", 0.67),
    ("solicitation", 0.74),
    ("sextortion", 0.78),
    ("dox", 0.81),
    ("dox_casual", 0.86),
    ("seller", 0.89),
    ("backup", 0.91),
    ("contact", 0.92),
    ("location", 0.925),
]


def pick_kind(roll: float) -> str:
    for kind, edge in KINDS:
        if roll < edge:
            return kind
    return "chatter"


class SellerBook:
    """The phone and bank account a seller reuses; bounded by the number of senders."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.book: dict[int, tuple[str, str, str]] = {}

    def get(self, uid: int) -> tuple[str, str, str]:
        if uid not in self.book:
            bank, digits = P.make_bank_account(self.rng)
            self.book[uid] = (P.mobile_nsn(self.rng), bank, digits)
        return self.book[uid]


def chatter(rng: random.Random, b: TextBuilder, other: Sender | None) -> None:
    if other is not None and other.name and rng.random() < 0.12:
        if other.username:
            b.ent("mention", "@" + other.username)
        else:
            b.ent("mention_name", other.name, user_id=other.uid)
        b.lit(" ")
    b.lit(rng.choice(L.CHATTER) + rng.choice(L.CHATTER_TAILS))


def trade(rng: random.Random, b: TextBuilder, seller: tuple[str, str, str]) -> None:
    b.intent("intent.trade", rng.choice(L.TRADE))
    if rng.random() < 0.5:
        b.lit(" " + rng.choice(L.PRICES))
    if rng.random() < 0.5:
        b.lit(rng.choice([", ", ". ", " - ", "\n"]))
        b.intent("intent.trade", rng.choice(L.TRADE))
    roll = rng.random()
    if roll < 0.2:
        b.lit(f"\n{rng.choice(L.PAYMENT_LEADS)} ")
        add_bank(rng, b, seller[1], seller[2], "poster")
    elif roll < 0.35:
        b.lit(rng.choice(["\nWS ", " whatsapp ", "\nPM/WS: "]))
        add_phone(rng, b, seller[0], "poster", None)
    elif roll < 0.45:
        b.lit(rng.choice(["\njoin ", " link: ", "\nVIP: "]))
        add_tme(rng, b)


def solicitation(rng: random.Random, b: TextBuilder, person: Person) -> None:
    b.intent("intent.solicitation", rng.choice(L.SOLICITATION))
    if rng.random() < 0.5:
        b.lit(" ")
        add_handle(rng, b, "instagram", person.instagram, person.index)


def sextortion(
    rng: random.Random, b: TextBuilder, person: Person, seller: tuple[str, str, str]
) -> None:
    if rng.random() < 0.4:
        b.lit(f"{person.short_name} ")
    b.intent("intent.sextortion", rng.choice(L.SEXTORTION))
    if rng.random() < 0.4:
        b.lit(f". {rng.choice(L.PAYMENT_LEADS)} {rng.choice(L.PRICES)} ")
        add_bank(rng, b, seller[1], seller[2], "poster")
        b.lit(rng.choice([" sebelum 12 malam", " today", ""]))
    elif rng.random() < 0.4:
        b.lit(" ")
        add_handle(rng, b, "instagram", person.instagram, person.index)


def _label(rng: random.Random, b: TextBuilder, text: str, bold: bool) -> None:
    if bold:
        b.ent("bold", text)
        b.lit(" ")
    else:
        b.lit(text + " ")


def dox(rng: random.Random, b: TextBuilder, person: Person) -> None:
    """A labelled dox: the pattern research describes (Nama/IC/Alamat/No tel fields)."""
    bold = rng.random() < 0.35
    i = person.index
    _label(rng, b, rng.choice(["Nama:", "Nama penuh:", "Name:"]), bold)
    b.add_pii("pii.name", person.full_name, person.full_name, "victim", i)
    b.lit("\n")
    _label(rng, b, rng.choice(["IC:", "No. IC:", "KP:", "NRIC:"]), bold)
    add_ic(rng, b, person.ic, person.birth, i)
    b.lit("\n")
    _label(rng, b, rng.choice(["No tel:", "Phone:", "WS:", "Tel:"]), bold)
    add_phone(rng, b, person.nsn, "victim", i)
    if person.home_nsn and rng.random() < 0.6:
        b.lit("\nNo rumah: ")
        add_phone(rng, b, person.home_nsn, "victim", i)
    b.lit("\n")
    _label(rng, b, rng.choice(["Alamat:", "Address:", "Umah dia:"]), bold)
    if "\n" in person.address:
        b.lit("\n")
    add_address(b, person.address, person.address_parts, i)
    b.lit("\n")
    add_handle(rng, b, "instagram", person.instagram, i)
    if person.tiktok and rng.random() < 0.7:
        b.lit("\n")
        add_handle(rng, b, "tiktok", person.tiktok, i)
    if person.email and rng.random() < 0.7:
        b.lit("\nEmail: ")
        add_email(rng, b, person.email, "victim", i)
    if person.plate and rng.random() < 0.7:
        b.lit("\n")
        add_plate(rng, b, person.plate, i)
    b.lit("\n\n")
    b.cue(rng.choice(L.DOX_CUES))
    b.lit(rng.choice(["", " 😂", " 🔥", "!!"]))


def dox_casual(rng: random.Random, b: TextBuilder, person: Person) -> None:
    i = person.index
    b.lit(rng.choice(["awek ni ", "minah ni ", "this girl ", f"{person.short_name} ni ", ""]))
    roll = rng.random()
    if roll < 0.45:
        b.lit(rng.choice(["nombor dia ", "no dia ", "number: "]))
        add_phone(rng, b, person.nsn, "victim", i)
    elif roll < 0.65:
        b.lit(rng.choice(["IC dia ", "no ic ", "kad pengenalan "]))
        add_ic(rng, b, person.ic, person.birth, i)
    elif roll < 0.8:
        b.lit(rng.choice(["dok ", "rumah dia ", "stay at "]))
        add_address(b, person.address, person.address_parts, i)
    elif roll < 0.9 and person.email:
        b.lit("email dia ")
        add_email(rng, b, person.email, "victim", i)
    else:
        slug = "".join(ch for ch in person.full_name.lower() if ch.isalpha())[:14]
        platform = rng.choice(["facebook", "twitter", "telegram"])
        handle = f"{slug}.{rng.randrange(1, 99)}" if platform == "facebook" else slug + "_x"
        add_handle(rng, b, platform, handle, i)
    if rng.random() < 0.6:
        b.lit(", ")
        add_handle(rng, b, "instagram", person.instagram, i)
    b.lit(" ")
    b.cue(rng.choice(L.DOX_CUES))


def seller(rng: random.Random, b: TextBuilder, book: tuple[str, str, str]) -> None:
    b.lit(rng.choice(["nak join VIP ", "yang berminat ", "serious buyer only, "]))
    b.intent("intent.trade", rng.choice(["PM for more", "DM for price", "siapa nak beli"]))
    b.lit(rng.choice(["\nWS ", " or call ", "\ncontact: "]))
    add_phone(rng, b, book[0], "poster", None)
    if rng.random() < 0.5:
        b.lit(f"\n{rng.choice(L.PAYMENT_LEADS)} ")
        add_bank(rng, b, book[1], book[2], "poster")


def backup(rng: random.Random, b: TextBuilder) -> None:
    b.lit(rng.choice(L.BACKUP_LEADS))
    add_tme(rng, b)
