"""Writes pii_labelled.jsonl: hand-written frames x hand-picked values, plus hard negatives.

    .venv/bin/python benchmarks/data/make_labelled.py

Expected values are written out by hand here (not computed by perisai.detect), so the set
checks the detectors rather than echoing them. Deterministic: fixed seed, no clock.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("pii_labelled.jsonl")
rng = random.Random(20260)
rows: list[dict[str, object]] = []


def add(text: str, *expect: tuple[str, str], tags: str = "") -> None:
    rows.append(
        {"text": text, "expect": [{"kind": k, "value": v} for k, v in expect], "tags": tags.split()}
    )


# --- phones: (raw, E.164) in the spellings of pii-malaysia.md, local and foreign -----------------
PHONES = [
    ("012-345 6789", "+60123456789"),
    ("012-3456789", "+60123456789"),
    ("012 345 6789", "+60123456789"),
    ("0123456789", "+60123456789"),
    ("+60 12-345 6789", "+60123456789"),
    ("+6012-3456789", "+60123456789"),
    ("60123456789", "+60123456789"),
    ("012.345.6789", "+60123456789"),
    ("+60123456789", "+60123456789"),
    ("6012 345 6789", "+60123456789"),
    ("011-2345 6789", "+601123456789"),
    ("011 2345 6789", "+601123456789"),
    ("01123456789", "+601123456789"),
    ("+60 11-2345 6789", "+601123456789"),
    ("017-654 3210", "+60176543210"),
    ("019-8765432", "+60198765432"),
    ("013 333 4444", "+60133334444"),
    ("016.222.1111", "+60162221111"),
    ("014-345 6789", "+60143456789"),
    ("018-236 1234", "+60182361234"),
    ("010-234 5678", "+60102345678"),
    ("+6019 876 5432", "+60198765432"),
    ("03-8765 4321", "+60387654321"),
    ("03-87654321", "+60387654321"),
    ("(03) 8765 4321", "+60387654321"),
    ("07-234 5678", "+6072345678"),
    ("04-555 1234", "+6045551234"),
    ("088-123456", "+6088123456"),
    ("082-412345", "+6082412345"),
    ("09-7451234", "+6097451234"),
    ("+65 9123 4567", "+6591234567"),
    ("+44 7911 123456", "+447911123456"),
    ("+62 812-3456-7890", "+6281234567890"),
    ("+1 202 456 1111", "+12024561111"),
    ("012 - 345 6789", "+60123456789"),
]
PHONE_FRAMES = [
    "No tel: {p}",
    "no hp {p}",
    "tel:{p}",
    "Phone: {p}",
    "WhatsApp {p} utk info",
    "wasap dia {p}",
    "hubungi {p}",
    "call {p} after 6pm",
    "contact: {p}",
    "nombor dia {p} lol",
    "minah ni {p} pm dia",
    "{p}",
    "ni no dia {p}, spam la",
    "WS {p}\nbank in dulu",
    "kalau nak order WS {p} ok",
    "her number is {p}",
    "{p} <- call dia",
]
for i, (raw, value) in enumerate(PHONES):
    for frame in rng.sample(PHONE_FRAMES, 2 if i % 3 else 3):
        add(frame.format(p=raw), ("pii.phone", value), tags="phone")
add("wa.me/60123456789 pm tepi", ("pii.phone", "+60123456789"), tags="phone url")
add("https://wa.me/60176543210?text=hi", ("pii.phone", "+60176543210"), tags="phone url")
add("api.whatsapp.com/send?phone=60198765432", ("pii.phone", "+60198765432"), tags="phone url")

# --- ICs --------------------------------------------------------------------------------------
ICS = [
    ("900101-14-5678", "900101145678"),
    ("900101145678", "900101145678"),
    ("900101 14 5678", "900101145678"),
    ("851231-01-5432", "851231015432"),
    ("000229-10-1234", "000229101234"),
    ("020315-09-9158", "020315099158"),
    ("760106-11-4480", "760106114480"),
    ("881111-82-5566", "881111825566"),
    ("950630-71-1232", "950630711232"),
    ("010101-98-7654", "010101987654"),
    ("990909-59-0002", "990909590002"),
    ("870517-06-6644", "870517066644"),
]
IC_FRAMES = [
    "IC: {i}",
    "No IC {i}",
    "kad pengenalan {i}",
    "MyKad: {i}",
    "NRIC {i}",
    "KP: {i}",
    "ic dia {i} haha",
    "No. IC: {i}\nNama: Siti",
    "{i}",
]
for raw, value in ICS:
    for frame in rng.sample(IC_FRAMES, 3):
        add(frame.format(i=raw), ("pii.ic", value), tags="ic")

# --- e-mails ----------------------------------------------------------------------------------
EMAILS = [
    ("nur.aisyah92@gmail.com", "nur.aisyah92@gmail.com"),
    ("Siti_Cute@Yahoo.com.my", "siti_cute@yahoo.com.my"),
    ("meiling+ig@hotmail.com", "meiling+ig@hotmail.com"),
    ("kavitha.r@outlook.com", "kavitha.r@outlook.com"),
    ("AMIRAH99@ICLOUD.COM", "amirah99@icloud.com"),
    ("priya-s@live.com", "priya-s@live.com"),
    ("w.yan@student.um.edu.my", "w.yan@student.um.edu.my"),
    ("farah.h@company.com.my", "farah.h@company.com.my"),
]
for raw, value in EMAILS:
    for frame in rng.sample(
        [
            "Email: {e}",
            "email dia {e}",
            "{e}",
            "emel: {e} spam dia",
            "contact me at {e}.",
            "(e-mail {e})",
        ],
        3,
    ):
        add(frame.format(e=raw), ("pii.email", value), tags="email")
add("email dia nurul [at] gmail [dot] com", ("pii.email", "nurul@gmail.com"), tags="email obf")
add("emel: aina.k(at)yahoo(dot)com(dot)my", ("pii.email", "aina.k@yahoo.com.my"), tags="email obf")

# --- handles ----------------------------------------------------------------------------------
HANDLES = [
    ("IG: @nur.aisyah", "instagram:nur.aisyah"),
    ("ig dia @siti_xx", "instagram:siti_xx"),
    ("insta @Mei.Ling99", "instagram:mei.ling99"),
    ("instagram.com/farah.h_", "instagram:farah.h_"),
    ("https://www.instagram.com/kavitha.r/", "instagram:kavitha.r"),
    ("IG: amirah.k", "instagram:amirah.k"),
    ("tiktok @aina_cantik", "tiktok:aina_cantik"),
    ("tt: @wanie99", "tiktok:wanie99"),
    ("tiktok.com/@lisa.m", "tiktok:lisa.m"),
    ("fb: facebook.com/nurul.huda.5", "facebook:nurul.huda.5"),
    ("facebook.com/profile.php?id=100012345678", "facebook:100012345678"),
    ("twitter @sitiz_", "twitter:sitiz_"),
    ("x.com/priya_s", "twitter:priya_s"),
    ("twitter.com/Hana_K", "twitter:hana_k"),
    ("X: @yanyan88", "twitter:yanyan88"),
    ("telegram: @aisyah_backup", "telegram:aisyah_backup"),
    ("tele dia @farahxx1", "telegram:farahxx1"),
    ("@nadia_official", "telegram:nadia_official"),
]
for raw, value in HANDLES:
    for frame in rng.sample(["{h}", "minah ni {h} pm dia", "{h} share la", "cari dia: {h}"], 2):
        add(frame.format(h=raw), ("pii.handle", value), tags="handle")

# --- addresses --------------------------------------------------------------------------------
ADDRESSES = [
    "No. 12, Jalan Mawar 3, Taman Sri Muda, 40400 Shah Alam, Selangor",
    "Lot 2231, Kampung Bukit Tinggi, 16800 Pasir Puteh, Kelantan",
    "No 5, Lrg Melati 2, Tmn Desa Jaya, 81100 Johor Bahru, Johor",
    "Blok C-3-12, Pangsapuri Seri Alam, Jalan Nuri 4, 47000 Sungai Buloh",
    "No. 88, Persiaran Setia 1, Bandar Setia Alam, 40170 Shah Alam",
    "Unit 7-2, Jalan Ampang, 50450 Kuala Lumpur",
    "No. 3, Jln Kenanga 5/2, Taman Permata, 53300 Kuala Lumpur",
    "No. 41, Lorong Delima 7, Taman Cahaya, 14000 Bukit Mertajam, Pulau Pinang",
    "Kg. Baru Sungai Buloh, 47000 Sungai Buloh, Selangor",
    "No. 9, Jalan Pinang 2, 25200 Kuantan, Pahang",
]
for addr in ADDRESSES:
    for frame in ["Alamat: {a}", "rumah dia {a} pergi la", "{a}"]:
        add(frame.format(a=addr), ("pii.address", addr), tags="address")
add(
    "Alamat:\nNo. 12,\nJalan Mawar 3,\nTaman Sri Muda,\n40400 Shah Alam,\nSelangor",
    ("pii.address", "No. 12, Jalan Mawar 3, Taman Sri Muda, 40400 Shah Alam, Selangor"),
    tags="address multiline",
)

# --- banks, plates, links (recorded so they are not counted as phones) -----------------------
add("Maybank acc 512345678901", ("pii.bank_account", "512345678901"), tags="bank")
add("bank in CIMB 8001234567 ye", ("pii.bank_account", "8001234567"), tags="bank")
add("no akaun 1234 5678 9012 (Public Bank)", ("pii.bank_account", "123456789012"), tags="bank")
add("Maybank acc 0123456789 bukan no phone", ("pii.bank_account", "0123456789"), tags="bank hard")
add("RHB a/c 21234500012345", ("pii.bank_account", "21234500012345"), tags="bank")
add("plat kereta WXY 1234", ("pii.plate", "WXY1234"), tags="plate")
add("kereta dia VBA 88", ("pii.plate", "VBA88"), tags="plate")
add("Plat: JQM 4412", ("pii.plate", "JQM4412"), tags="plate")
add("join t.me/+AbCdEf123456 cepat", ("link.telegram", "https://t.me/+AbCdEf123456"), tags="link")
add(
    "backup: https://t.me/joinchat/AAAAAEj4kLq-xyz",
    ("link.telegram", "https://t.me/joinchat/AAAAAEj4kLq-xyz"),
    tags="link",
)
add(
    "t.me/c/1234567890/45 tengok",
    ("link.telegram", "https://t.me/c/1234567890/45"),
    tags="link url hard",
)
add("telegram.me/LepakGeng2", ("link.telegram", "https://t.me/lepakgeng2"), tags="link")

# --- a few doxes with several kinds -----------------------------------------------------------
add(
    "Nama: Nur Aisyah\nIC: 920314-10-5566\nNo tel: 013-456 7890\nIG: @aisyah.n",
    ("pii.ic", "920314105566"),
    ("pii.phone", "+60134567890"),
    ("pii.handle", "instagram:aisyah.n"),
    tags="dox",
)
add(
    "this girl 0198887766, email lina.m@gmail.com, tiktok @linaaa_",
    ("pii.phone", "+60198887766"),
    ("pii.email", "lina.m@gmail.com"),
    ("pii.handle", "tiktok:linaaa_"),
    tags="dox",
)

# --- hard negatives: nothing here is personal information ------------------------------------
NEGATIVES = [
    # prices
    "harga RM 1,200.00 je",
    "RM1200 nego",
    "RM 350.50 sekali",
    "USD 1,234,567.89",
    "RM12,345,678",
    "total RM 10 123 456",
    "kereta RM 12000 je boss",
    "harga 1,234,567 ringgit",
    # order, tracking, invoice and reference numbers
    "Order #0123456789 dah sampai",
    "order no: 0123456789",
    "tracking EF123456789MY",
    "AWB 0123456789 Poslaju",
    "No. pesanan: 0129876543",
    "ref: 0198765432",
    "invoice INV-0123456789",
    "resit 0176543210 simpan",
    "parcel 0134567890 belum sampai",
    "Transaction ID 0123456789012",
    "kod OTP 0123456789",
    "booking ref 0187654321",
    # dates and times
    "12-09-2020",
    "2020-09-12",
    "12/09/2020 jumpa",
    "12.09.2020 10:30",
    "12-09-2020 10:30:45",
    "20200912",
    "jam 10:30 malam",
    "0800-1700 isnin-jumaat",
    "buka 0800 - 1700",
    "on 2020.09.12",
    "tarikh 01.01.2021, 02.02.2022",
    "2021-03-04T05:06:07Z",
    # invalid ICs (bad month, bad day, bad place code)
    "IC: 901301-14-5678",
    "IC: 900230-14-5678",
    "IC 900101-00-5678",
    "No IC 900101-17-5678",
    "NRIC 900101-80-1234",
    "IC: 901301145678",
    "kad pengenalan 991332-10-1234",
    "IC: 900101-69-1234",
    "MyKad 900431-01-2345",
    "IC 000000-00-0000",
    # short numbers, counts, scores
    "999",
    "15999",
    "call 999 kalau emergency",
    "umur 25",
    "1,000 members dah",
    "skor 3-1",
    "tingkat 12 bilik 1203",
    "level 3, lot 45",
    "aku ada 2 kereta",
    "jam 10 malam",
    "top 10",
    "012-345",
    "0123",
    "call 1234567",
    # long digit runs and URL ids
    "01234567890123456789",
    "https://example.com/p/0123456789",
    "https://shopee.com.my/product/123/0198765432",
    "https://www.facebook.com/groups/0123456789/",
    "www.site.my/?id=0123456789",
    "youtube.com/watch?v=0123456789",
    "https://x.com/i/status/1234567890123456789",
    "instagram.com/p/ABC123/",
    "instagram.com/explore/",
    "tiktok.com/@/video/7123456789012345678",
    # e-mail and handle look-alikes
    "jumpa @ 8pm",
    "meet @ KLCC",
    "email me @ home",
    "user@localhost",
    "a@b",
    "@abc",
    "@ 3pm esok",
    "IG dia cantik gila",
    "ig pun tak ada",
    "tt la ni",
    "x tau",
    # address look-alikes
    "jalan-jalan cari makan",
    "Taman Negara best gila",
    "Jalan jam teruk",
    "Bandar Utama mall",
    "jalan dengan dia semalam",
    "kampung aku jauh",
    "no. 1 fan dia",
    "Lot 10 shopping",
    # plates without context, mixed chatter
    "WXY 1234",
    "ABC 123 easy as",
    "VIP 2 group",
    "KL 2020 meetup",
    "bro dah makan? jom lepak",
    "wkwk mantap",
    "siapa admin baru",
    "ok noted boss",
    "gg la bro",
    "sabar2 nanti aku share",
    "rilek la bro chill",
    "thanks admin 🔥",
    "x.com is the new twitter",
    "group ni 2nd backup",
    "dah 3 tahun group ni",
    "harga barang naik 10%",
    "tahun 1999 lagi",
    "aku lahir 1990",
    "batch 2019/2020",
    "1. jangan share 2. jangan forward",
    "v2.3.1 update",
    "IPv4 192.168.1.254",
    "coordinates 3.139, 101.687",
    "lat 3.1390 lon 101.6869",
    "ISBN 978-3-16-148410-0",
    "serial 1234-5678-9012",
    "model SM-G991B/DS",
    "tiket 0123 4567 89",
    "my account 0123456789 bank",
    "akaun 0198765432 maybank dah block",
]
for text in NEGATIVES:
    bank = ("akaun 0198765432" in text) or text.startswith("my account")
    exp = [("pii.bank_account", "0198765432" if "akaun" in text else "0123456789")] if bank else []
    add(text, *exp, tags="negative")
# The same negatives inside Malay/English sentences, so that context words are exercised.
WRAPS = ["ok {n} ye", "bro {n}", "{n} tq", "semalam {n}, confirm?", "FYI {n}"]
for text in NEGATIVES[:80]:
    if "akaun" in text or "account" in text:
        continue
    add(rng.choice(WRAPS).format(n=text), tags="negative wrapped")

with OUT.open("w", encoding="utf-8") as fh:
    for row in rows:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
pos = sum(1 for r in rows if r["expect"])
print(f"{len(rows)} messages ({pos} with PII, {len(rows) - pos} hard negatives) -> {OUT.name}")
