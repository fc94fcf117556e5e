"""Fictional people: the group's senders and bots, and the women exposed in it.

Names are recombined from common Malaysian given names and surnames, so no output names a real
person on purpose; senders use display names the way Telegram users do (nicknames, emoji).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# fmt: off
MALAY_F = [
    "Nur Aisyah", "Siti Hajar", "Nurul Izzah", "Farah", "Aina", "Syafiqah", "Nabila",
    "Amira", "Hana", "Alya", "Balqis", "Izzati", "Nadia", "Sofea", "Qistina", "Aqilah",
    "Hidayah", "Liyana", "Zulaikha", "Atikah", "Dayana", "Wani", "Ain", "Syazwani",
]
MALAY_M = [
    "Ahmad", "Muhammad Hafiz", "Amirul", "Faiz", "Hakim", "Izzat", "Syafiq", "Rizal", "Azlan",
    "Firdaus", "Haziq", "Irfan", "Khairul", "Nazmi", "Shahrul", "Zulkifli", "Aiman", "Danial",
]
MALAY_FATHER = [
    "Rahman", "Ismail", "Abdullah", "Hassan", "Yusof", "Ibrahim", "Osman", "Razak", "Kamal",
    "Hamid", "Salleh", "Aziz", "Harun", "Mokhtar", "Zainal", "Rosli",
]
CHINESE_SURNAME = ["Tan", "Lim", "Lee", "Wong", "Ng", "Chong", "Ong", "Goh", "Teoh", "Chan",
                   "Yap", "Loh", "Khoo", "Chin", "Foo", "Heng"]
CHINESE_F = ["Wei Ling", "Mei Xin", "Jia Hui", "Xin Yi", "Hui Min", "Pei Shan", "Yee Ling",
             "Li Ying", "Shu Fen", "Kai Xin", "Jing Wen", "Siew Mei"]
CHINESE_M = ["Kah Wai", "Jun Hao", "Wei Jie", "Chee Keong", "Zhi Hao", "Kok Leong",
             "Jia Jun", "Boon Huat", "Yong Sheng", "Kar Lok"]
INDIAN_F = ["Kavitha", "Priya", "Deepa", "Thivya", "Sharmila", "Nisha", "Yamini", "Revathi",
            "Keerthana", "Malini", "Shalini", "Vanitha"]
INDIAN_M = ["Arun", "Suresh", "Ravi", "Vignesh", "Karthik", "Prakash", "Dinesh", "Ganesh",
            "Naveen", "Sanjay", "Thinesh", "Kumar"]
INDIAN_FATHER = ["Ramasamy", "Subramaniam", "Muniandy", "Krishnan", "Rajendran", "Maniam",
                 "Govindasamy", "Perumal", "Arumugam", "Selvaraj"]
ENGLISH_F = ["Ashley", "Rachel", "Michelle", "Vanessa", "Crystal", "Natalie", "Jolene"]
ENGLISH_M = ["Jason", "Kevin", "Daniel", "Ryan", "Marcus", "Brandon", "Alvin", "Desmond"]
NICKS = [
    "Abg Jo", "Mat Rempit", "ah boy", "Deep", "Shadow", "Kucing Hitam", "Pakcik Bawang",
    "Budak Baik", "Hantu Malam", "Otai KL", "Si Bujang", "Geng Lepak", "Anak Jantan",
    "Orang Lama", "Paklong", "Kaki Lepak", "Mr Nobody", "Ghost", "Raja Share", "Tokey",
]
NICK_DECOR = ["", "", "", " 🔥", " 😈", " 👻", " ⚡", " 🐈", "_", " 88", " 2.0", " (backup)"]
# fmt: on
# Bot usernames carry "Synth" so that none can be a real bot's name.
BOTS = [("Pengawal Lepak", "PengawalLepakSynthBot"), ("Simpan Media", "SimpanMediaSynthBot")]
INLINE_BOTS = ["@JualPantasSynthBot", "@PautanRahsiaSynthBot", "@AnonPostSynthBot"]


@dataclass
class Sender:
    uid: int
    name: str | None  # None: a deleted account ("from": null)
    username: str | None
    is_bot: bool = False
    is_admin: bool = False
    weight: float = 1.0


def _ascii_slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def female_name(rng: random.Random) -> tuple[str, str]:
    """(full name as a dox writes it, the short name people use)."""
    group = rng.random()
    if group < 0.55:
        given = rng.choice(MALAY_F)
        return f"{given} binti {rng.choice(MALAY_FATHER)}", given.split()[-1]
    if group < 0.8:
        surname, given = rng.choice(CHINESE_SURNAME), rng.choice(CHINESE_F)
        return f"{surname} {given}", given
    if group < 0.95:
        given = rng.choice(INDIAN_F)
        return f"{given} a/p {rng.choice(INDIAN_FATHER)}", given
    given = rng.choice(ENGLISH_F)
    return f"{given} {rng.choice(CHINESE_SURNAME)}", given


def _display_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(NICKS) + rng.choice(NICK_DECOR)
    if roll < 0.55:
        given = rng.choice(MALAY_M)
        return given if rng.random() < 0.5 else f"{given.split()[-1]} {rng.choice('ABDHKMNRSZ')}"
    if roll < 0.72:
        return f"{rng.choice(CHINESE_M)} {rng.choice(CHINESE_SURNAME)}"
    if roll < 0.86:
        return rng.choice(INDIAN_M) + rng.choice(["", "", " K", " R", " Raj"])
    if roll < 0.95:
        return f"{rng.choice(ENGLISH_M)} {rng.choice(CHINESE_SURNAME + ['T', 'L', 'W'])}"
    return rng.choice(MALAY_F).split()[-1] + rng.choice(["", " 🌸", "_x"])  # a few women


def sender_count(messages: int) -> int:
    """Dozens for a small export, a few hundred for a huge one."""
    return max(12, min(400, int(8 + 2.5 * messages**0.5)))


def make_senders(rng: random.Random, count: int, user_id_max: int) -> list[Sender]:
    senders: list[Sender] = []
    seen_ids: set[int] = set()
    seen_names: set[str] = set()

    def new_id() -> int:
        while True:
            # Most accounts are old (ids below 2**31); newer ones pass 2**32 in recent eras.
            high = user_id_max if rng.random() < 0.3 else min(user_id_max, 2_147_000_000)
            uid = rng.randrange(100_000_000, high)
            if uid not in seen_ids:
                seen_ids.add(uid)
                return uid

    def unique(name: str) -> str:
        base, n = name, 2
        while name in seen_names:
            name, n = f"{base} {n}", n + 1
        seen_names.add(name)
        return name

    for i in range(count):
        name = unique(_display_name(rng))
        username = None
        if rng.random() < 0.6:
            username = f"{_ascii_slug(name)[:12] or 'user'}{rng.randrange(10, 9999)}"
        # Zipf-like activity: a handful of sellers and admins write most messages.
        senders.append(Sender(new_id(), name, username, weight=1.0 / (i + 1) ** 0.9))
    for i in range(min(4, max(2, count // 40))):
        senders[i].is_admin = True
    # Two deleted accounts: the exporter writes "from": null for them.
    for s in senders[-2:]:
        s.name, s.username = None, None
    for display, username in BOTS:
        senders.append(Sender(new_id(), display, username, is_bot=True, weight=0.0))
    return senders
