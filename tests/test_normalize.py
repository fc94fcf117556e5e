from datetime import datetime

import pytest

from perisai.errors import BadInput
from perisai.ingest.normalize import Clock, canonical_text, is_placeholder, parse_timezone


def test_text_list_concatenates_and_offsets_entities():
    text, ents = canonical_text(
        ["call ", {"type": "phone", "text": "+60123456789"}, " or ", {"type": "bold", "text": "x"}]
    )
    assert text == "call +60123456789 or x"
    assert ents[0] == {"type": "phone", "offset": 5, "length": 12, "text": "+60123456789"}
    assert text[ents[1]["offset"] : ents[1]["offset"] + ents[1]["length"]] == "x"


def test_entity_extra_keys_are_kept():
    _, ents = canonical_text([{"type": "text_link", "text": "here", "href": "https://t.me/+abc"}])
    assert ents[0]["href"] == "https://t.me/+abc"


def test_unixtime_wins_and_teaches_the_offset():
    clock = Clock(None)
    r = clock.resolve("2024-05-01T18:00:00", "1714557600")
    assert r.utc == datetime(2024, 5, 1, 10, 0) and r.source == "unixtime"
    r2 = clock.resolve("2024-05-01T20:00:00", None)
    assert r2.utc == datetime(2024, 5, 1, 12, 0) and r2.source == "local+inferred"


def test_given_timezone_and_assumed_utc():
    r = Clock(parse_timezone("Asia/Kuala_Lumpur")).resolve("2020-09-14T21:03:11", None)
    assert r.utc == datetime(2020, 9, 14, 13, 3, 11) and r.source == "local+given"
    r = Clock(None).resolve("2020-09-14T21:03:11", None)
    assert r.source == "local+assumed"


@pytest.mark.parametrize("bad", ["0", "0000000000", "garbage", "99999999999"])
def test_garbage_unixtime_is_flagged_not_trusted(bad):
    r = Clock(None).resolve("2022-03-21T11:11:11", bad)
    assert "bad_date_unixtime" in r.flags and r.source == "local+assumed"


def test_garbage_pairs_do_not_teach_an_offset():
    clock = Clock(None)
    clock.resolve("2022-03-21T11:11:11", "1661765816")  # months apart: not a zone offset
    assert clock.inferred is None


def test_missing_and_bad_dates():
    assert Clock(None).resolve(None, None).source == "missing"
    assert "bad_date" in Clock(None).resolve("yesterday", None).flags


@pytest.mark.parametrize("tz", ["+08:00", "UTC+8", "-05:30", "UTC", "Europe/Berlin"])
def test_timezones_parse(tz):
    parse_timezone(tz)


def test_unknown_timezone_is_bad_input():
    with pytest.raises(BadInput, match="Mars/Olympus"):
        parse_timezone("Mars/Olympus")


def test_placeholders():
    assert is_placeholder("(File not included. Change data exporting settings to download.)")
    assert is_placeholder(
        "(File exceeds maximum size. Change data exporting settings to download.)"
    )
    assert not is_placeholder("photos/photo_1@12-11-2020_12-57-31.jpg")
