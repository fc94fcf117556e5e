"""OCR of synthetic screenshots: planted phones, handles and an IC come back; photos are skipped."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from perisai.ocr import join_wrapped, looks_textual, ocr_image, tesseract_available
from perisai.ocr.samples import chat, font_path, profile

needs_font = pytest.mark.skipif(font_path() is None, reason="no DejaVuSans: fonts-dejavu-core")
needs_ocr = pytest.mark.skipif(
    not tesseract_available("eng+msa"),
    reason="Tesseract with eng+msa not installed (tesseract-ocr-eng, tesseract-ocr-msa, tesserocr)",
)

LINES = [
    "korang kenal tak minah ni",
    "no dia 012-345 6789",
    "IG: siti.hajar",
    "+60 13-456 7890 call dia",
    "IC 990101-14-5678",
]


def norm(text: str) -> str:
    return re.sub(r"[\s\-–—]+", "", join_wrapped(text)).lower()


def photo() -> bytes:
    y, x = np.mgrid[0:960, 0:1280]
    sky = np.stack([x / 1280 * 120 + 60, y / 960 * 80 + 100, 200 - y / 960 * 60], axis=-1)
    sky[y > 600 + 40 * np.sin(x / 90)] = (40, 110, 50)  # a hill
    buf = io.BytesIO()
    Image.fromarray(sky.astype("uint8")).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


@needs_font
@needs_ocr
@pytest.mark.parametrize("dark", [False, True])
def test_chat_bubbles(dark):
    data = chat(LINES, dark=dark, size=26)
    assert looks_textual(data)[0]
    result = ocr_image(data)
    assert result.inverted is dark
    text = norm(result.text)
    for planted in ["0123456789", "+60134567890", "ig:siti.hajar", "990101145678"]:
        assert planted in text, (planted, result.text)
    assert result.mean_confidence > 50


@needs_font
@needs_ocr
@pytest.mark.parametrize("dark", [False, True])
def test_profile(dark):
    bio = ["WhatsApp 012-345 6789", "Shah Alam | 22", "IG: siti.hajar"]
    data = profile("Nur Aisyah", "@nur.aisyah_99", bio, dark=dark, size=28)
    assert looks_textual(data)[0]
    text = norm(ocr_image(data).text)
    for planted in ["@nur.aisyah_99", "0123456789", "ig:siti.hajar"]:
        assert planted in text


def test_photo_is_skipped():
    ok, measured = looks_textual(photo())
    assert not ok, measured


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0" + b"\0" * 64])
def test_corrupt_bytes_raise_value_error(data):
    with pytest.raises(ValueError):
        looks_textual(data)
    with pytest.raises(ValueError):
        ocr_image(data)


def test_over_50_megapixels_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(buf, format="PNG")
    with pytest.raises(ValueError, match="pixels"):
        ocr_image(buf.getvalue())


def test_join_wrapped():
    assert join_wrapped("012-345\n6789") == "012-345 6789"
    assert join_wrapped("no dia +60 13-456\n7890 ok") == "no dia +60 13-456 7890 ok"
    assert join_wrapped("IC 990101-\n14-5678") == "IC 990101-14-5678"
    assert join_wrapped("@nur.aisyah_\n99") == "@nur.aisyah_99"
    assert join_wrapped("IG:\nsiti.hajar") == "IG: siti.hajar"
    for keep in [
        "Harga RM50\n2 orang",
        "tahun 2024\n12 orang",
        "hello\nworld",
        "012-3456789\n013-4567890",
        "saya 0\n12 tahun",
    ]:
        assert join_wrapped(keep) == keep


def test_repair_confusables_in_numbers():
    from perisai.ocr import repair_confusables

    # Letters Tesseract confuses with digits, inside runs that are mostly digits.
    assert repair_confusables("no dia 0l2-345 67O9") == "no dia 012-345 6709"
    assert repair_confusables("IC 9901O1-14-5678") == "IC 990101-14-5678"
    assert repair_confusables("+6O 17-679 622O") == "+60 17-679 6220"
    assert repair_confusables("tel 0I9 421 8628") == "tel 019 421 8628"
    # An upper-case O among a lower-case handle's trailing digits is a zero.
    assert repair_confusables("IG: hani.aisyahO7") == "IG: hani.aisyah07"
    assert repair_confusables("@mira_aisyahO7 ok") == "@mira_aisyah07 ok"
    # Same length, so spans found in the repaired text point into the OCR text.
    text = "call 0l2-345 67O9 or IG: siti.qistinaO7"
    assert len(repair_confusables(text)) == len(text)


def test_repair_confusables_leaves_words_alone():
    from perisai.ocr import repair_confusables

    for keep in [
        "SOS tolong",
        "Bilik 10, Blok B",
        "abdul12 and leo7",  # a real l or o before digits in a handle stays
        "OK 2 O'clock",
        "Jalan SS2/24",
        "room 5O",  # too few digits to be a phone or IC
        "RM1O0",  # a price: under six digits, left alone
        "Mira_AisyahO7",  # mixed case: a display name, not a handle
    ]:
        assert repair_confusables(keep) == keep, keep
