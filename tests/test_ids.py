import pytest

from perisai.ingest.ids import (
    PeerId,
    decode_chat_id,
    decode_from_id,
    marked_id,
    message_link,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (123456, PeerId("user", 123456)),  # before Oct 2020: bare user
        (2**32 + 123456, PeerId("user", 123456)),  # Oct 2020 - Apr 2021: shifted user
        (2**33 + 1292077344, PeerId("channel", 1292077344)),  # shifted channel
        ("user123", PeerId("user", 123)),
        ("channel1292077344", PeerId("channel", 1292077344)),
        ("chat42", PeerId("chat", 42)),
        ("user000AX6969", None),  # malformed (corpus 07)
        (None, None),
        (-5, None),
        (True, None),
    ],
)
def test_from_id_across_eras(raw, expected):
    assert decode_from_id(raw) == expected


def test_chat_ids_decode_by_era():
    assert decode_chat_id(9882011936, "private_channel", shifted_era=True) == 1292077344
    # Since 2021 ids are bare, and basic groups can exceed 2**32.
    assert decode_chat_id(4696915167, "private_group", shifted_era=False) == 4696915167
    assert decode_chat_id(-1001292077344, "private_channel", shifted_era=False) == 1292077344


def test_marked_ids_are_computed_not_concatenated():
    assert marked_id("user", 42) == 42
    assert marked_id("chat", 42) == -42
    assert marked_id("channel", 1292077344) == -1001292077344
    assert marked_id("channel", 5) == -(10**12 + 5)


def test_message_links_only_for_channels():
    assert message_link("channel", 1292077344, 25) == "https://t.me/c/1292077344/25"
    assert message_link("channel", 1, 25, username="v2kgroup") == "https://t.me/v2kgroup/25"
    assert message_link("chat", 42, 25) is None
    assert message_link("user", 42, 25) is None
