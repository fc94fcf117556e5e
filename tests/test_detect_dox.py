"""Dox scoring: kinds, labels, third-person and intent cues, windows and linked photos."""

import pytest

from perisai.detect import detect_text
from perisai.detect.dox import DOX_THRESHOLD, REVIEW_THRESHOLD, DoxMessage, score_messages

T0 = 1_700_000_000.0
LABELLED = (
    "Nama: Siti Aminah binti Ali\nIC: 990101-14-5678\nNo tel: 012-3456789\n"
    "Alamat: No. 12, Jalan Mawar 3, Taman Sri Muda, 40400 Shah Alam, Selangor"
)


def msg(pk, text, sender=1, when=T0, reply_to=None, media=()):
    return DoxMessage(pk, sender, when, reply_to, text, detect_text(text), list(media))


def one(text):
    doxes = score_messages([msg(1, text)])
    assert len(doxes) == 1
    return doxes[0]


def test_labelled_dox_scores_high():
    dox = one(LABELLED)
    assert dox.score >= 0.9
    assert dox.message_pks == [1]
    kinds = {k for k, _ in dox.identifiers}
    assert kinds == {"pii.name", "pii.ic", "pii.phone", "pii.address"}
    assert ("pii.phone", "+60123456789") in dox.identifiers
    assert ("pii.name", "Siti Aminah binti Ali") in dox.identifiers
    for label in ("Nama:", "IC:", "No tel:", "Alamat:"):
        assert f"label:{label}" in dox.cues
    assert "kinds:4" in dox.cues


def test_casual_dox_with_third_person_is_high_ish():
    dox = one("ni nombor awek tu 012-3456789, ig dia @siti.x")
    assert dox.score >= DOX_THRESHOLD
    assert set(dox.identifiers) == {
        ("pii.phone", "+60123456789"),
        ("pii.handle", "instagram:siti.x"),
    }
    assert any(c.startswith("third_person:") for c in dox.cues)


@pytest.mark.parametrize(
    "text",
    ["Kek lapis sedap! PM saya 012-3456789",
     "Jual kek lapis RM30, order sekarang, whatsapp 012-3456789",
     "Baju raya ready, contact me 012-3456789",
     "Nak tempah? hubungi saya 012-3456789"],
)  # fmt: skip
def test_seller_ad_scores_low(text):
    dox = one(text)
    assert dox.score < REVIEW_THRESHOLD
    assert any(c.startswith("seller:") for c in dox.cues)


def test_more_kinds_score_higher():
    phone = one("012-3456789").score
    two = one("012-3456789 ig @siti.x").score
    three = one("012-3456789 ig @siti.x ic 990101-14-5678").score
    assert phone < two < three
    assert phone < REVIEW_THRESHOLD


def test_intent_cue_raises_score():
    plain = one("awek ni 012-3456789").score
    threat = one("awek ni 012-3456789 spam dia").score
    assert threat > plain
    assert "intent:spam dia" in one("awek ni 012-3456789 spam dia").cues


def test_intent_in_reply_chain_counts():
    parent = msg(1, "jual video minah ni, nak?", sender=2)
    child = msg(2, "012-3456789", sender=1, when=T0 + 30, reply_to=1)
    (dox,) = score_messages([parent, child])
    assert dox.message_pks == [2]
    assert "intent:trade" in dox.cues
    assert dox.score > one("012-3456789").score


def test_split_dox_by_one_sender_merges():
    messages = [
        msg(10, "Nama: Siti Aminah binti Ali", when=T0),
        msg(11, "IC: 990101-14-5678", when=T0 + 40),
        msg(12, "No tel: 012-3456789", when=T0 + 90),
    ]
    (dox,) = score_messages(messages)
    assert dox.message_pks == [10, 11, 12]
    assert {k for k, _ in dox.identifiers} == {"pii.name", "pii.ic", "pii.phone"}
    assert dox.score >= DOX_THRESHOLD


def test_different_senders_do_not_merge():
    messages = [
        msg(10, "IC dia: 990101-14-5678", sender=1, when=T0),
        msg(11, "No tel: 012-3456789", sender=2, when=T0 + 10),
    ]
    doxes = score_messages(messages)
    assert [d.message_pks for d in doxes] == [[10], [11]]


def test_messages_far_apart_do_not_merge():
    messages = [
        msg(10, "IC dia: 990101-14-5678", when=T0),
        msg(11, "No tel: 012-3456789", when=T0 + 3600),
    ]
    assert [d.message_pks for d in score_messages(messages)] == [[10], [11]]


def test_window_holds_at_most_four_messages():
    texts = ["Nama: Siti Aminah", "IC: 990101-14-5678", "No tel: 012-3456789",
             "ig dia @siti.x", "email dia siti@example.com"]  # fmt: skip
    messages = [msg(10 + i, t, when=T0 + 10 * i) for i, t in enumerate(texts)]
    assert [d.message_pks for d in score_messages(messages)] == [[10, 11, 12, 13], [14]]


def test_second_person_starts_a_new_window():
    messages = [
        msg(10, "no awek ni 012-3456789", when=T0),
        msg(11, "no awek tu pulak 013-9876543", when=T0 + 20),
    ]
    assert [d.message_pks for d in score_messages(messages)] == [[10], [11]]


def test_unknown_sender_or_time_never_merges():
    messages = [
        msg(10, "IC dia: 990101-14-5678", sender=None),
        msg(11, "No tel: 012-3456789", sender=None, when=T0 + 5),
        msg(12, "ig dia @siti.x", when=None),
    ]
    assert [d.message_pks for d in score_messages(messages)] == [[10], [11], [12]]


def test_linked_photo_by_same_sender_within_window():
    messages = [
        msg(1, "", sender=1, when=T0 - 120, media=["a" * 64]),
        msg(2, "", sender=2, when=T0 - 60, media=["b" * 64]),
        msg(3, LABELLED, sender=1, when=T0),
        msg(4, "", sender=1, when=T0 + 240, media=["c" * 64]),
        msg(5, "", sender=1, when=T0 + 900, media=["d" * 64]),
    ]
    (dox,) = score_messages(messages)
    assert dox.linked_media == ["a" * 64, "c" * 64]


def test_linked_photo_via_reply_chain():
    messages = [
        msg(1, "siapa kenal dia?", sender=2, when=T0 - 3600, media=["p" * 64]),
        msg(2, "ni no dia 012-3456789, ig @siti.x", sender=1, when=T0, reply_to=1),
        msg(3, "", sender=3, when=T0 + 3600, reply_to=2, media=["q" * 64]),
        msg(4, "", sender=3, when=T0 + 3700, media=["r" * 64]),
    ]
    (dox,) = score_messages(messages)
    assert dox.message_pks == [2]
    assert dox.linked_media == ["p" * 64, "q" * 64]


def test_own_photo_with_caption_is_linked():
    (dox,) = score_messages([msg(1, "awek ni 012-3456789", media=["e" * 64])])
    assert dox.linked_media == ["e" * 64]


@pytest.mark.parametrize(
    "text", ["", "selamat pagi semua", "dia cantik gila", "RM 1,200.00 harga lama"]
)
def test_no_pii_no_dox(text):
    assert score_messages([msg(1, text)]) == []


def test_cue_only_messages_give_no_dox():
    messages = [msg(1, "budak ni", when=T0), msg(2, "spam dia", when=T0 + 5)]
    assert score_messages(messages) == []


def test_scores_stay_in_range_and_identifiers_are_unique():
    dox = one(LABELLED + "\nno tel dia 012-3456789 lagi, pm dia, spam dia, jual video dia")
    assert 0.0 <= dox.score <= 1.0
    assert len(dox.identifiers) == len(set(dox.identifiers))
