"""Telegram links and language detection."""

import pytest

from perisai.detect import detect_language, detect_text


@pytest.mark.parametrize(
    ("raw", "value", "kind"),
    [("t.me/+AbCdEf123456", "https://t.me/+AbCdEf123456", "invite"),
     ("https://t.me/joinchat/AAAAAEj4kLq-xyz", "https://t.me/joinchat/AAAAAEj4kLq-xyz", "invite"),
     ("telegram.me/joinchat/AAAAAEj4kLq", "https://t.me/joinchat/AAAAAEj4kLq", "invite"),
     ("t.me/LepakGeng2", "https://t.me/lepakgeng2", "username"),
     ("https://t.me/s/LepakGeng2", "https://t.me/lepakgeng2", "username"),
     ("t.me/lepakgeng2/45", "https://t.me/lepakgeng2/45", "message"),
     ("t.me/c/1234567890/45", "https://t.me/c/1234567890/45", "private_message"),
     ("tg://resolve?domain=LepakGeng&post=5", "https://t.me/lepakgeng/5", "message"),
     ("tg://join?invite=AbCdEf123456", "https://t.me/+AbCdEf123456", "invite")],
)  # fmt: skip
def test_links_canonical(raw, value, kind):
    text = f"join {raw} cepat"
    (f,) = detect_text(text)
    assert (f.kind, f.value, f.detail["type"]) == ("link.telegram", value, kind)
    assert text[f.span[0] : f.span[1]] == raw


@pytest.mark.parametrize(
    "text", ["t.me/share/url?url=x", "not.me/abcde", "gmt.me/abcdef", "t.me/ab"]
)
def test_link_negatives(text):
    assert [f for f in detect_text(text) if f.kind == "link.telegram"] == []


def test_digits_in_a_private_link_are_not_a_phone():
    assert [f.kind for f in detect_text("t.me/c/0123456789/45")] == ["link.telegram"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [("", "unknown"), ("   ", "unknown"), ("aku nak jual video ni", "ms"),
     ("anyone have her pics?", "en"), ("siapa ada pic dia? anyone have her number", "mixed"),
     ("😂😂😂", "unknown"), ("walao", "other"), ("你好吗", "other")],
)  # fmt: skip
def test_language(text, lang):
    assert detect_language(text) == lang
