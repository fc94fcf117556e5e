"""Phrases the synthetic group writes, in Malay, English and Manglish.

Each intent list holds whole phrases that the ground truth records with their spans, so the
lists never overlap and chatter never contains an intent phrase. The wording mirrors what
reporting on such groups describes, kept non-graphic: the point is the trade, not the content.
"""

from __future__ import annotations

TRADE = [
    "jual video",
    "trade pic",
    "ada lagi?",
    "PM for more",
    "nak tukar?",
    "full set ada",
    "VIP group",
    "harga murah",
    "ready stock",
    "siapa nak beli",
    "tukar koleksi",
    "selling full folder",
    "DM for price",
    "jual murah",
    "boleh COD link",
    "pakej premium",
]
SEXTORTION = [
    "bayar atau aku sebar",
    "kalau tak transfer aku viralkan",
    "send more or I post everything",
    "aku ada video kau",
    "pay or everyone sees",
    "aku hantar kat family kau",
    "tak bayar aku tag semua kawan kau",
    "last warning, transfer sekarang",
]
SOLICITATION = [
    "sesiapa ada pic dia?",
    "share la ex korang",
    "request minah ni",
    "anyone have her pics?",
    "sapa kenal dia? share info",
    "ada full set dia tak",
    "siapa ada IG dia",
    "nak cari minah ni",
]
DOX_CUES = [
    "pm dia",
    "call dia",
    "spam dia",
    "share sampai viral",
    "tag dia sekali",
    "pergi umah dia",
    "jangan bagi dia lari",
]
CHATTER = [
    "mana link?",
    "up",
    "tq bro",
    "mantap",
    "lol",
    "haha",
    "😂😂😂",
    "admin on9 tak",
    "group lama kena ban ke",
    "bro",
    "noted",
    "ok",
    "sabar2",
    "tunggu jap",
    "nice",
    "wah",
    "rilek la",
    "siapa admin baru",
    "best",
    "gila",
    "aku baru join",
    "hello all",
    "morning geng",
    "dah makan?",
    "mana pergi semua",
    "slow betul group ni",
    "ni group backup ke?",
    "k",
    "wkwk",
    "👍",
    "🔥🔥",
    "same",
    "ikr",
    "bro chill",
    "sapa on9",
    "tido dulu",
    "esok sambung",
    "lama tak masuk sini",
    "gg",
    "ni betul ke",
    "hmm",
    "🤣",
    "walao",
    "aiyo",
    "steady la",
    "thanks admin",
    "ok noted boss",
    "apa cerita",
    "fuyooo",
    "sorry lambat",
]
CHATTER_TAILS = ["", "", "", " bro", " geng", " 😂", " 🔥", " haha", "!!", " lah", " sis"]
PAYMENT_LEADS = ["bank in", "transfer", "bayar", "payment"]
PRICES = ["RM10", "RM20", "RM30", "RM50", "RM80", "RM100", "RM150", "RM15 sekali"]
BACKUP_LEADS = [
    "BACKUP GROUP kalau group ni kena ban: ",
    "Join backup sekarang 👉 ",
    "Group baru (jangan share luar): ",
    "Link backup, simpan: ",
    "New group, join before ban: ",
]
WELCOME = "Selamat datang {name}! Baca rules dulu. Jangan forward keluar group."
RULES = [
    "RULES: 1) jangan forward keluar 2) jangan screenshot 3) share baru dapat akses VIP",
    "Yang tak share dalam 3 hari kena kick. Admin tengah check.",
]
TITLES = [
    "Lepak Geng MY",
    "Lepak Geng MY 2.0",
    "Koleksi Premium [BACKUP]",
    "LG Backup 3",
    "Info Viral Malaysia",
    "Geng Lepak Malam",
    "Bilik Rahsia 🔒",
    "LG Official (backup 4)",
]
FORWARD_CHANNELS = ["Arkib Lama LG", "Koleksi Viral MY", "Backup Store 88"]
CONTACT_LEADS = ["ni nombor dia", "contact dia", "save la", "this one"]
CAPTION_TEXTS = ["kenal tak?", "new", "❗", "viral", "old but gold", "ni dia"]
