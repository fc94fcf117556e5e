"""Intent lexicon: every rule fires on its example and stays quiet on a near miss."""

import json

import pytest

from perisai.detect import detect_text
from perisai.detect.intent import RULES, detect_intents, parse_rules

# rule id -> (a message that must fire it, a near miss that must not)
CASES = {
    "trade.jual_media": ("jual video murah2", "jual kereta lama"),
    "trade.jual_murah": ("jual murah je bro", "murah je bro"),
    "trade.harga_murah": ("harga murah PM", "harga naik"),
    "trade.trade_media": ("trade pic?", "trade in kereta"),
    "trade.nak_tukar": ("nak tukar?", "tukar tayar"),
    "trade.ada_lagi": ("ada lagi?", "ada lagi kerja"),
    "trade.pm_for": ("PM for more", "pm me"),
    "trade.full_set": ("full set ada", "full house"),
    "trade.vip_group": ("join VIP group", "VIP lounge"),
    "trade.ready_stock": ("ready stock", "ready la"),
    "trade.nak_beli": ("siapa nak beli", "nak beli makan"),
    "trade.cod_link": ("boleh COD link", "COD kat mall"),
    "trade.pakej": ("pakej premium RM50", "pakej percutian"),
    "sextortion.pay_or_leak": ("bayar atau aku sebar", "bayar bil api"),
    "sextortion.last_warning": ("last warning, transfer sekarang", "last warning from admin"),
    "sextortion.have_your_media": ("aku ada video kau", "aku ada video baru"),
    "sextortion.send_to_family": ("aku hantar kat family kau", "hantar kat rumah"),
    "solicitation.who_has": ("sesiapa ada pic dia?", "siapa ada charger"),
    "solicitation.share_ex": ("share la ex korang", "share link group"),
    "solicitation.request_girl": ("request minah ni", "request lagu"),
    "solicitation.who_knows": ("sapa kenal dia?", "sapa kenal tempat ni"),
    "solicitation.ada_full_set": ("ada full set dia tak", "ada full tank"),
    "solicitation.per_session": ("RM150 per session", "RM150 per month"),
    "csam_coded.cp_trade": ("jual cp link", "cp tu copy paste je"),
    "csam_coded.pedo": ("pedo group link", "report pedo to police"),
    "csam_coded.underage_trade": ("video bawah umur ada", "kahwin bawah umur salah"),
}


def ids(text):
    return {f.value for f in detect_text(text) if f.kind.startswith("intent.")}


def test_every_rule_has_a_case():
    assert {r.id for r in RULES} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_positive_and_negative(rule_id):
    pos, neg = CASES[rule_id]
    assert rule_id in ids(pos), pos
    assert rule_id not in ids(neg), neg


def test_span_covers_cue_and_context():
    text = "ok bayar RM50 atau aku sebar gambar"
    (f,) = [f for f in detect_text(text) if f.kind == "intent.sextortion"]
    assert text[f.span[0] : f.span[1]] == "bayar RM50 atau aku sebar"
    assert f.detail["lang"] == "mixed"


def test_chatter_has_no_intent():
    for text in ["mana link?", "tq bro", "admin on9 tak", "dah makan?", "slow betul group ni"]:
        assert ids(text) == set()


def test_caseworker_rules_load_from_data():
    doc = {"rules": [{"id": "x.test", "kind": "intent.trade", "words": ["borong"],
                      "pattern": r"\bborong\s+video\b"}]}  # fmt: skip
    rules = parse_rules(json.loads(json.dumps(doc)))
    assert [f.value for f in detect_intents("nak borong video", rules)] == ["x.test"]
    bad = {"rules": [{"id": "y", "kind": "intent.nope", "words": ["a"], "pattern": "a"}]}
    with pytest.raises(ValueError):
        parse_rules(bad)
