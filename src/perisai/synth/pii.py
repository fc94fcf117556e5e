"""Fictional Malaysian personal data in valid formats, each with the way people write it.

Every generator returns the normalised value the detectors must produce (interfaces.md) and
separate renderers give the many raw spellings, so one person's number recurs in different
writings across the chat, the way doxes get reposted.
"""

from __future__ import annotations

import calendar
import random
import string
from dataclasses import dataclass, field

from perisai.synth.names import female_name

# fmt: off
# Prefixes checked against libphonenumber metadata: every number drawn here is a valid mobile.
# (prefix after the leading 0, digits that may follow it, subscriber digits after those)
MOBILE_PLANS = [
    ("12", "0123456789", 6), ("16", "0123456789", 6), ("19", "0123456789", 6),
    ("13", "123456789", 6), ("17", "123456789", 6), ("14", "2356789", 6),
    ("18", "236", 6), ("10", "23568", 6), ("11", "12345", 7),
]
MOBILE_WEIGHTS = [22, 18, 16, 10, 12, 6, 3, 3, 10]
LANDLINE_PLANS = [("38", 7), ("390", 6), ("72", 6), ("75", 6), ("45", 6), ("95", 6), ("882", 5)]

# Place-of-birth codes valid on a MyKad (pii-malaysia.md); states first, they dominate.
IC_STATE_CODES = [f"{n:02d}" for n in range(1, 17)]
IC_OTHER_CODES = (
    [f"{n:02d}" for n in range(21, 60)]
    + ["82"]
    + [f"{n:02d}" for n in [*range(60, 69), 71, 72, *range(74, 80), *range(83, 94), 98, 99]]
)
VALID_IC_CODES = frozenset(IC_STATE_CODES + IC_OTHER_CODES)

# (city, state, lowest postcode, highest postcode): postcodes fall inside the real range.
CITIES = [
    ("Shah Alam", "Selangor", 40000, 40470), ("Petaling Jaya", "Selangor", 46000, 47400),
    ("Kajang", "Selangor", 43000, 43009), ("Klang", "Selangor", 41000, 41300),
    ("Subang Jaya", "Selangor", 47500, 47650), ("Kuala Lumpur", "Kuala Lumpur", 50000, 60000),
    ("Johor Bahru", "Johor", 80000, 81300), ("Ipoh", "Perak", 30000, 31650),
    ("George Town", "Pulau Pinang", 10000, 11000), ("Alor Setar", "Kedah", 5000, 6000),
    ("Kota Bharu", "Kelantan", 15000, 16010), ("Kuala Terengganu", "Terengganu", 20000, 21000),
    ("Kuantan", "Pahang", 25000, 26000), ("Seremban", "Negeri Sembilan", 70000, 71000),
    ("Melaka", "Melaka", 75000, 75990), ("Kuching", "Sarawak", 93000, 93990),
    ("Kota Kinabalu", "Sabah", 88000, 88999), ("Kangar", "Perlis", 1000, 2000),
    ("Putrajaya", "Putrajaya", 62000, 62988), ("Labuan", "Labuan", 87000, 87033),
]
CITY_CENTRES = [
    (3.139, 101.687), (3.073, 101.518), (1.492, 103.741), (4.597, 101.090), (5.414, 100.329),
    (6.125, 102.238), (1.553, 110.359), (5.980, 116.073),
]
STREET_WORDS = ["Mawar", "Melati", "Cempaka", "Kenanga", "Seroja", "Dahlia", "Teratai",
                "Anggerik", "Bunga Raya", "Delima", "Nuri", "Merbah", "Pinang", "Kasturi"]
TAMAN_WORDS = ["Sri Muda", "Desa Jaya", "Bukit Indah", "Sri Gombak", "Permata", "Mutiara",
               "Seri Alam", "Bukit Mewah", "Cahaya", "Universiti", "Setia", "Saujana"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "icloud.com", "outlook.com",
                 "yahoo.com.my", "live.com"]
BANKS = [("Maybank", 12), ("CIMB", 10), ("Public Bank", 10), ("RHB", 14), ("Bank Islam", 14),
         ("Hong Leong", 11), ("BSN", 16), ("AmBank", 13)]
PLATE_PREFIXES = "WVBJPAKMNCTDRSQ"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"  # no I or O on plates; Z is for the military
# fmt: on
_B62 = string.ascii_letters + string.digits


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def mobile_nsn(rng: random.Random) -> str:
    """National significant number (no leading 0), e.g. 123456789 for 012-345 6789."""
    prefix, follow, rest = rng.choices(MOBILE_PLANS, MOBILE_WEIGHTS)[0]
    return prefix + rng.choice(follow) + _digits(rng, rest)


def landline_nsn(rng: random.Random) -> str:
    prefix, rest = rng.choice(LANDLINE_PLANS)
    return prefix + _digits(rng, rest)


def render_phone(rng: random.Random, nsn: str) -> str:
    """One of the spellings people use in chats (pii-malaysia.md, "Formats")."""
    if not nsn.startswith("1"):  # landline: 03-8765 4321, 07-234 5678, 088-123456
        if nsn.startswith("88"):
            return f"0{nsn[:2]}-{nsn[2:]}"
        tail = nsn[1:]
        return f"0{nsn[0]}-{tail[:-4]} {tail[-4:]}" if rng.random() < 0.6 else f"0{nsn[0]}-{tail}"
    local = "0" + nsn
    a, b, c = local[:3], local[3:-4], local[-4:]
    style = rng.randrange(12)
    return [
        f"{a}-{b}{c}",
        f"{a}-{b} {c}",
        f"{a} {b} {c}",
        local,
        f"+60 {a[1:]}-{b} {c}",
        f"+60{a[1:]}-{b}{c}",
        "60" + nsn,
        f"{a}.{b}.{c}",
        f"+60{nsn}",
        f"60{a[1:]} {b} {c}",
        f"{a}-{b}{c}",
        f"{a}{b} {c}",
    ][style]


def contact_phone(nsn: str) -> str:
    """How the exporter formats a shared contact's number."""
    local = "0" + nsn
    return f"+60 {local[1:3]} {local[3:-4]} {local[-4:]}"


def make_ic(rng: random.Random, female: bool = True) -> tuple[str, str]:
    """(12 digits, ISO birth date). Adults born 1975-2005; last digit even for women."""
    year = rng.randrange(1975, 2006)
    month = rng.randrange(1, 13)
    day = rng.randrange(1, calendar.monthrange(year, month)[1] + 1)
    code = rng.choice(IC_STATE_CODES) if rng.random() < 0.88 else rng.choice(IC_OTHER_CODES)
    last = rng.choice("02468" if female else "13579")
    digits = f"{year % 100:02d}{month:02d}{day:02d}{code}{_digits(rng, 3)}{last}"
    return digits, f"{year:04d}-{month:02d}-{day:02d}"


def render_ic(rng: random.Random, digits: str) -> str:
    style = rng.random()
    if style < 0.55:
        return f"{digits[:6]}-{digits[6:8]}-{digits[8:]}"
    if style < 0.85:
        return digits
    return f"{digits[:6]} {digits[6:8]} {digits[8:]}"


def ic_is_valid(digits: str) -> bool:
    """Date and place-of-birth checks; the same rules the detectors apply."""
    if len(digits) != 12 or not digits.isdigit():
        return False
    month, day = int(digits[2:4]), int(digits[4:6])
    if not 1 <= month <= 12:
        return False
    yy = int(digits[:2])
    # Either century is possible; 29 February must exist in at least one of them.
    days = max(calendar.monthrange(1900 + yy, month)[1], calendar.monthrange(2000 + yy, month)[1])
    return 1 <= day <= days and digits[6:8] in VALID_IC_CODES


def make_address(rng: random.Random) -> tuple[str, dict[str, str]]:
    """An address written on one line or several, with the parts a detector can check."""
    city, state, low, high = rng.choice(CITIES)
    postcode = f"{rng.randrange(low, high + 1):05d}"
    jalan = rng.choice(["Jalan", "Jln", "Jalan", "Lorong", "Lrg", "Persiaran"])
    taman = rng.choice(["Taman", "Tmn", "Taman", "Kampung", "Bandar", "Desa"])
    street = f"{jalan} {rng.choice(STREET_WORDS)} {rng.randrange(1, 12)}"
    if rng.random() < 0.3:
        street += f"/{rng.randrange(1, 9)}"
    if rng.random() < 0.25:
        house = f"Blok {rng.choice('ABCDE')}-{rng.randrange(1, 15)}-{rng.randrange(1, 20)}"
        house += f", Pangsapuri {rng.choice(TAMAN_WORDS)}"
    else:
        house = f"No. {rng.randrange(1, 180)}" if rng.random() < 0.8 else f"Lot {_digits(rng, 4)}"
    place = f"{taman} {rng.choice(TAMAN_WORDS)}"
    parts = [house, street, place, f"{postcode} {city}"]
    if city != state:
        parts.append(state)
    sep = ", " if rng.random() < 0.75 else ",\n"
    return sep.join(parts), {"postcode": postcode, "city": city, "state": state}


def normalise_address(raw: str) -> str:
    return " ".join(raw.replace(",\n", ", ").split())


def make_email(rng: random.Random, short_name: str) -> str:
    base = "".join(ch for ch in short_name.lower() if ch.isalpha())[:10] or "user"
    sep = rng.choice(["", ".", "_"])
    return f"{base}{sep}{rng.choice(['x', 'cute', 'ms', '', 'baby'])}{rng.randrange(1, 2007)}@" + (
        rng.choice(EMAIL_DOMAINS)
    )


def make_handle(rng: random.Random, short_name: str, dots: bool = True) -> str:
    base = "".join(ch for ch in short_name.lower() if ch.isalpha())[:10] or "user"
    join = rng.choice([".", "_", ""]) if dots else rng.choice(["_", ""])
    tail = rng.choice(["", "x", "xx", "official", "_", "cantik", "ms"])
    return f"{base}{join}{tail}{rng.randrange(1, 999) if rng.random() < 0.7 else ''}"


def make_bank_account(rng: random.Random) -> tuple[str, str]:
    bank, length = rng.choice(BANKS)
    return bank, str(rng.randrange(1, 10)) + _digits(rng, length - 1)


def render_bank_account(rng: random.Random, digits: str) -> str:
    if rng.random() < 0.7 or len(digits) % 4:
        return digits
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def make_plate(rng: random.Random) -> str:
    letters = rng.choice(PLATE_PREFIXES) + "".join(
        rng.choice(PLATE_LETTERS) for _ in range(rng.randrange(0, 3))
    )
    suffix = rng.choice(PLATE_LETTERS) if rng.random() < 0.15 else ""
    return f"{letters}{rng.randrange(1, 10000)}{suffix}"


def render_plate(rng: random.Random, plate: str) -> str:
    if rng.random() < 0.5:
        return plate
    i = next(i for i, ch in enumerate(plate) if ch.isdigit())
    return f"{plate[:i]} {plate[i:]}"


def invite_hash(rng: random.Random, joinchat: bool) -> str:
    if joinchat:  # the old form: a base64 of chat id and key
        return "AAAAA" + "".join(rng.choice(_B62 + "-_") for _ in range(17))
    return "".join(rng.choice(_B62) for _ in range(16))


def location_near(rng: random.Random) -> tuple[float, float]:
    lat, lon = rng.choice(CITY_CENTRES)
    return round(lat + rng.uniform(-0.05, 0.05), 6), round(lon + rng.uniform(-0.05, 0.05), 6)


@dataclass
class Person:
    """A woman exposed in the group. Every identifier is fictional, drawn once and reused."""

    index: int
    full_name: str
    short_name: str
    nsn: str
    ic: str
    birth: str
    address: str
    address_parts: dict[str, str]
    instagram: str
    tiktok: str | None = None
    email: str | None = None
    plate: str | None = None
    home_nsn: str | None = None
    identifiers: list[tuple[str, str]] = field(default_factory=list)


def make_person(rng: random.Random, index: int) -> Person:
    full, short = female_name(rng)
    ic, birth = make_ic(rng)
    address, parts = make_address(rng)
    p = Person(
        index, full, short, mobile_nsn(rng), ic, birth, address, parts, make_handle(rng, short)
    )
    if rng.random() < 0.5:
        p.tiktok = make_handle(rng, short, dots=False)
    if rng.random() < 0.4:
        p.email = make_email(rng, short)
    if rng.random() < 0.3:
        p.plate = make_plate(rng)
    if rng.random() < 0.15:
        p.home_nsn = landline_nsn(rng)
    p.identifiers = [
        ("pii.phone", "+60" + p.nsn),
        ("pii.ic", p.ic),
        ("pii.handle", "instagram:" + p.instagram.lower()),
        ("pii.address", normalise_address(p.address)),
    ]
    if p.tiktok:
        p.identifiers.append(("pii.handle", "tiktok:" + p.tiktok.lower()))
    if p.email:
        p.identifiers.append(("pii.email", p.email.lower()))
    if p.plate:
        p.identifiers.append(("pii.plate", p.plate))
    if p.home_nsn:
        p.identifiers.append(("pii.phone", "+60" + p.home_nsn))
    return p
