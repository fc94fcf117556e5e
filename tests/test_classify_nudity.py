"""Advisory nudity scorer. BENIGN, generated images only: gradients, shapes, a drawn landscape."""

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from perisai.classify import nudity
from perisai.classify.nudity import (
    EXPLICIT_CLASSES,
    MODEL_NAME,
    NudityModel,
    NudityScore,
    model_available,
)

needs_model = pytest.mark.skipif(
    not model_available(),
    reason="nudenet==3.4.2 (with onnxruntime and opencv-python-headless) is not installed",
)


@pytest.fixture(scope="module")
def model():
    if not model_available():
        pytest.skip("nudenet==3.4.2 (with onnxruntime and opencv-python-headless) is not installed")
    return NudityModel(threads=1)


def _encode(image: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(width: int = 1280, height: int = 960) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, 255 - (x + y) / 2], axis=2)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def _shapes() -> Image.Image:
    image = Image.new("RGB", (800, 600), (30, 30, 60))
    draw = ImageDraw.Draw(image)
    draw.rectangle((50, 50, 300, 250), fill=(200, 40, 40))
    draw.ellipse((400, 100, 700, 400), fill=(40, 200, 80))
    draw.polygon([(100, 550), (300, 300), (500, 550)], fill=(240, 220, 30))
    return image


def _landscape() -> Image.Image:
    image = Image.new("RGB", (1280, 960), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    for row in range(480):  # sky fading to the horizon
        shade = 150 + row // 6
        draw.line([(0, row), (1279, row)], fill=(shade - 40, shade, 240))
    draw.ellipse((1000, 80, 1140, 220), fill=(255, 230, 120))  # sun
    draw.polygon([(0, 600), (300, 250), (620, 600)], fill=(90, 100, 120))  # mountains
    draw.polygon([(400, 600), (800, 200), (1280, 600)], fill=(70, 80, 100))
    draw.rectangle((0, 600, 1279, 959), fill=(60, 140, 60))  # meadow
    draw.rectangle((0, 760, 1279, 820), fill=(60, 110, 200))  # river
    for left in range(80, 1280, 240):  # trees
        draw.rectangle((left + 25, 650, left + 40, 740), fill=(90, 60, 30))
        draw.ellipse((left, 560, left + 65, 670), fill=(30, 100, 40))
    return image


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height; the pixel data is a few bytes of junk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_model_available_is_false_when_imports_fail(monkeypatch):
    def broken(name, *a, **kw):
        raise ImportError(f"no {name}")

    monkeypatch.setattr(nudity, "import_module", broken)
    assert model_available() is False


@needs_model
def test_model_loads_with_one_thread(model):
    assert model.model == MODEL_NAME == "nudenet-3.4.2-320n"
    assert model.model_sha256 == nudity.MODEL_SHA256
    options = model.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert model.session.get_providers() == ["CPUExecutionProvider"]


@needs_model
def test_thread_count_is_passed_through():
    options = NudityModel(threads=2).session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.inter_op_num_threads == 1
    with pytest.raises(ValueError):
        NudityModel(threads=0)


@needs_model
@pytest.mark.parametrize("make", [_gradient, _shapes, _landscape])
def test_benign_images_score_low(model, make):
    result = model.score_image(_encode(make()))
    assert isinstance(result, NudityScore)
    assert result.model == MODEL_NAME
    assert result.score < 0.5
    assert all(result.labels.get(name, 0.0) < 0.5 for name in EXPLICIT_CLASSES)
    assert result.boxes >= len(result.labels)
    assert all(0.0 <= c <= 1.0 for c in result.labels.values())


@needs_model
def test_png_with_alpha_and_grayscale_decode(model):
    rgba = _shapes().convert("RGBA")
    assert model.score_image(_encode(rgba, "PNG")).score < 0.5
    assert model.score_image(_encode(_landscape().convert("L"), "PNG")).score < 0.5


@needs_model
def test_one_session_is_reused(model, monkeypatch):
    import onnxruntime

    session = model.session

    def no_new_sessions(*a, **kw):
        raise AssertionError("score_image must not build a session")

    monkeypatch.setattr(onnxruntime, "InferenceSession", no_new_sessions)
    first = model.score_image(_encode(_landscape()))
    second = model.score_image(_encode(_shapes()))
    again = model.score_image(_encode(_landscape()))
    assert model.session is session
    assert first == again and isinstance(second, NudityScore)


@needs_model
@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"definitely not an image",
        b"\xff\xd8\xff\xe0" + b"\x00" * 64,  # a JPEG signature and nothing else
        _encode(_landscape())[:300],  # truncated JPEG
        _png_header(640, 480),  # valid header, junk pixel data
    ],
    ids=["empty", "text", "jpeg-magic", "truncated-jpeg", "junk-png"],
)
def test_undecodable_bytes_raise_value_error(model, data):
    with pytest.raises(ValueError):
        model.score_image(data)


@needs_model
def test_sixty_megapixel_header_is_refused_without_decoding(model):
    data = _png_header(10_000, 6_000)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="too large"):
        model.score_image(data)
    assert time.perf_counter() - start < 0.5


@needs_model
def test_exif_orientation_is_applied(model, monkeypatch):
    image = _shapes()  # 800 x 600, stored rotated with Orientation=6 (display 90 deg CW)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(image, exif=exif.tobytes())
    seen = []
    real = nudity._decode
    monkeypatch.setattr(nudity, "_decode", lambda d: seen.append(real(d)) or seen[-1])
    model.score_image(data)
    assert seen[0].shape == (800, 600, 3)


@needs_model
def test_preprocessing_matches_nudenet(model):
    from nudenet.nudenet import _read_image

    rgb = np.asarray(_landscape().crop((0, 0, 1000, 700)))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # what cv2.imread would have given NudeNet
    expected = _read_image(bgr, 320)[0]
    ours, side = model._preprocess(rgb)
    assert side == 1000
    assert ours.shape == expected.shape == (1, 3, 320, 320)
    np.testing.assert_array_equal(ours, expected)


@needs_model
def test_postprocessing_matches_nudenet(model):
    from nudenet.nudenet import _postprocess

    rng = np.random.default_rng(7)
    output = rng.uniform(0, 0.3, size=(1, 4 + len(nudity.LABELS), 2100)).astype(np.float32)
    output[0, 0:2] = rng.uniform(0, 320, size=(2, 2100))
    output[0, 2:4] = rng.uniform(5, 120, size=(2, 2100))
    width, height = 1280, 960
    theirs = _postprocess([output], 0, width - height, 1.0, width / height, width, height, 320, 320)
    ours = model._postprocess(output, width=width, height=height, side=width)
    assert theirs, "the synthetic output should produce detections"
    assert sorted((d["class"], d["score"]) for d in theirs) == sorted(ours)
