"""Personal-information detectors: normalisation, validators, hard negatives, spans."""

import pytest

from perisai.detect import Finding, detect_contact, detect_entities, detect_text
from perisai.detect.numbers import ic_valid, normalise_phone


def found(text, kind=None):
    return [(f.kind, f.value) for f in detect_text(text) if kind is None or f.kind == kind]


@pytest.mark.parametrize(
    "raw",
    ["012-345 6789", "012-3456789", "012 345 6789", "0123456789", "+60 12-345 6789",
     "+6012-3456789", "60123456789", "012.345.6789", "+60123456789", "6012 345 6789",
     "(012) 345 6789", "012 - 345 6789"],
)  # fmt: skip
def test_phone_spellings_normalise_to_e164(raw):
    text = f"No tel: {raw} pm dia"
    (f,) = detect_text(text)
    assert (f.kind, f.value) == ("pii.phone", "+60123456789")
    assert text[f.span[0] : f.span[1]] == raw
    assert f.detail["label"] == "no tel" and f.score >= 0.95


@pytest.mark.parametrize(
    ("raw", "value"),
    [("011-2345 6789", "+601123456789"), ("03-8765 4321", "+60387654321"),
     ("07-234 5678", "+6072345678"), ("088-123456", "+6088123456"),
     ("+65 9123 4567", "+6591234567"), ("+44 7911 123456", "+447911123456")],
)  # fmt: skip
def test_landlines_011_and_foreign(raw, value):
    assert found(f"call {raw}") == [("pii.phone", value)]


def test_wa_me_link_is_a_phone_with_the_link_as_span():
    text = "pm wa.me/60171379348 now"
    (f,) = detect_text(text)
    assert f.value == "+60171379348" and text[f.span[0] : f.span[1]] == "wa.me/60171379348"


def test_two_phones_joined_by_a_slash():
    assert [v for _, v in found("012-3456789/019-8765432")] == ["+60123456789", "+60198765432"]


@pytest.mark.parametrize(
    "text",
    ["harga RM 1,200.00 je", "RM1200 nego", "Order #0123456789", "order no: 0123456789",
     "tracking EF123456789MY", "ref: 0198765432", "12-09-2020", "2020-09-12", "12.09.2020 10:30",
     "20200912", "0800 - 1700", "jam 10:30", "999", "call 1234567", "012-345",
     "01234567890123456789", "https://example.com/p/0123456789", "www.site.my/?id=0123456789",
     "IC: 901301-14-5678", "IC: 900230-14-5678", "IC 900101-17-5678", "NRIC 900101-80-1234",
     "ISBN 978-3-16-148410-0", "coordinates 3.139, 101.687", "tiket 0123 4567 89"],
)  # fmt: skip
def test_hard_negatives_do_not_fire(text):
    assert found(text) == []


def test_normalise_phone_shape_gate_and_metadata_flag():
    assert normalise_phone("012-345 6789") == ("+60123456789", True)
    assert normalise_phone("0123") is None
    assert normalise_phone("9123456789") is None  # no trunk 0, no country code
    assert normalise_phone("+999 1234 5678") is None


def test_ic_validator():
    assert ic_valid("900101145678")
    assert ic_valid("000229101234")  # 29 Feb 2000
    assert not ic_valid("010229101234")  # 2001 and 1901 had no 29 Feb
    assert not ic_valid("901301145678")  # month 13
    assert not ic_valid("900101005678")  # place code 00
    assert not ic_valid("900101695678")  # place code 69 is not issued
    assert ic_valid("900101825678")  # 82: unknown state


@pytest.mark.parametrize("raw", ["900101-14-5678", "900101145678", "900101 14 5678"])
def test_ic_layouts_and_label(raw):
    text = f"No IC: {raw}"
    (f,) = detect_text(text)
    assert (f.kind, f.value) == ("pii.ic", "900101145678")
    assert text[f.span[0] : f.span[1]] == raw and f.detail["place_code"] == "14"
    assert f.score > detect_text(raw)[0].score  # the label raises confidence


def test_60_prefixed_phone_is_not_taken_for_an_ic():
    assert found("601123456789") == [("pii.phone", "+601123456789")]
    assert found("IC: 601123-45-6789") == [("pii.ic", "601123456789")]


def test_emails_plain_and_obfuscated():
    text = "Email: Siti_Cute@Yahoo.com.my, or nurul [at] gmail [dot] com"
    assert found(text) == [
        ("pii.email", "siti_cute@yahoo.com.my"),
        ("pii.email", "nurul@gmail.com"),
    ]
    assert found("jumpa @ 8pm") == [] and found("user@localhost") == []


@pytest.mark.parametrize(
    ("text", "value", "raw"),
    [("IG: @nur.aisyah", "instagram:nur.aisyah", "@nur.aisyah"),
     ("ig dia @Siti_XX", "instagram:siti_xx", "@Siti_XX"),
     ("tiktok @aina_cantik", "tiktok:aina_cantik", "@aina_cantik"),
     ("X: @yanyan88", "twitter:yanyan88", "@yanyan88"),
     ("tele dia @farahxx1", "telegram:farahxx1", "@farahxx1"),
     ("@nadia_official", "telegram:nadia_official", "@nadia_official"),
     ("https://www.instagram.com/kavitha.r/", "instagram:kavitha.r",
      "https://www.instagram.com/kavitha.r/"),
     ("tiktok.com/@lisa.m", "tiktok:lisa.m", "tiktok.com/@lisa.m"),
     ("facebook.com/profile.php?id=100012345678", "facebook:100012345678",
      "facebook.com/profile.php?id=100012345678"),
     ("x.com/priya_s", "twitter:priya_s", "x.com/priya_s"),
     ("IG: amirah.k", "instagram:amirah.k", "amirah.k")],
)  # fmt: skip
def test_handles(text, value, raw):
    (f,) = detect_text(text)
    assert (f.kind, f.value) == ("pii.handle", value) and text[f.span[0] : f.span[1]] == raw


@pytest.mark.parametrize(
    "text", ["@abc", "meet @ KLCC", "IG dia cantik gila", "instagram.com/p/ABC123/",
             "instagram.com/explore/", "https://x.com/i/status/1234567890123456789"]
)  # fmt: skip
def test_handle_negatives(text):
    assert found(text, "pii.handle") == []


def test_address_value_span_and_score():
    addr = "No. 12, Jalan Mawar 3, Taman Sri Muda, 40400 Shah Alam, Selangor"
    text = f"Alamat: {addr} pm dia"
    (f,) = detect_text(text)
    assert (f.kind, f.value, text[f.span[0] : f.span[1]]) == ("pii.address", addr, addr)
    assert f.score == 1.0 and f.detail["label"] == "alamat"
    multi = "No. 12,\nJalan Mawar 3,\nTaman Sri Muda,\n40400 Shah Alam"
    (g,) = detect_text("rumah dia " + multi)
    assert g.value == "No. 12, Jalan Mawar 3, Taman Sri Muda, 40400 Shah Alam" and g.score < 1.0


@pytest.mark.parametrize(
    "text", ["jalan-jalan cari makan", "Taman Negara best gila", "Jalan jam teruk 2 jam",
             "Bandar Utama mall", "level 3, lot 45"]
)  # fmt: skip
def test_address_negatives(text):
    assert found(text, "pii.address") == []


def test_bank_accounts_win_over_phones_and_ics():
    assert found("Maybank acc 0123456789") == [("pii.bank_account", "0123456789")]
    assert found("no akaun 1234 5678 9012 (Public Bank)") == [("pii.bank_account", "123456789012")]
    assert found("CIMB 900101145678") == [("pii.bank_account", "900101145678")]


def test_plates_need_context():
    assert found("plat kereta WXY 1234") == [("pii.plate", "WXY1234")]
    assert found("moto dia W 1234A") == [("pii.plate", "W1234A")]
    assert found("WXY 1234") == [] and found("kereta RM 12000 je") == []


def test_results_are_sorted_and_frozen():
    text = "IG: @nur.aisyah No tel: 012-345 6789 IC: 900101-14-5678"
    out = detect_text(text)
    assert [f.span for f in out] == sorted(f.span for f in out)
    assert all(isinstance(f, Finding) for f in out)
    with pytest.raises(AttributeError):
        out[0].value = "x"  # type: ignore[misc]


def test_entities_from_telegram_markup():
    text = "IG dia @atikah_ms539 call +60 12-345 6789 or a@b.co klik sini Sanjay"
    entities = [
        {"type": "mention", "offset": 7, "length": 13, "text": "@atikah_ms539"},
        {"type": "phone", "offset": 26, "length": 15, "text": "+60 12-345 6789"},
        {"type": "email", "offset": 45, "length": 6, "text": "A@b.co"},
        {"type": "text_link", "offset": 52, "length": 9, "text": "klik sini",
         "href": "https://t.me/+AbCd1234"},
        {"type": "mention_name", "offset": 62, "length": 6, "text": "Sanjay", "user_id": 1161},
        {"type": "bold", "offset": 0, "length": 2, "text": "IG"},
    ]  # fmt: skip
    got = [(f.kind, f.value, f.span) for f in detect_entities(entities, text)]
    assert got == [
        ("pii.handle", "instagram:atikah_ms539", (7, 20)),
        ("pii.phone", "+60123456789", (26, 41)),
        ("pii.email", "a@b.co", (45, 51)),
        ("link.telegram", "https://t.me/+AbCd1234", (52, 61)),
        ("pii.handle", "telegram:1161", (62, 68)),
    ]


def test_link_entities_profile_and_wa_me():
    text = "instagram.com/meixin wa.me/60162421057"
    ents = [{"type": "link", "offset": 0, "length": 20, "text": "instagram.com/meixin"},
            {"type": "link", "offset": 21, "length": 17, "text": "wa.me/60162421057"}]  # fmt: skip
    got = [(f.kind, f.value) for f in detect_entities(ents, text)]
    assert got == [("pii.handle", "instagram:meixin"), ("pii.phone", "+60162421057")]


def test_contact_card():
    (f,) = detect_contact(
        {"first_name": "Balqis", "last_name": "", "phone_number": "+60 14 710 7736"}
    )
    assert (f.kind, f.value, f.detail["name"]) == ("pii.phone", "+60147107736", "Balqis")
    assert detect_contact({"first_name": "x", "phone_number": ""}) == []
