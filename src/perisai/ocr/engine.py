"""Tesseract OCR of one image: greyscale, dark-mode inversion, upscaling, one API per process."""

from __future__ import annotations

import glob
import math
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, ImageStat

from perisai.ocr.decode import MAX_PIXELS, load, open_checked

# Tesseract's OpenMP threads make one image several times slower on small machines.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

TARGET_WIDTH = 1500  # small text is upscaled until the image is about this wide
MAX_UPSCALE = 3.0
MAX_OCR_PIXELS = 12_000_000  # after upscaling; keeps one image under a couple of seconds
DARK_MEDIAN = 110  # a background (median) darker than this is dark mode: invert


@dataclass(frozen=True)
class OcrResult:
    text: str
    mean_confidence: float  # 0-100, Tesseract's mean word confidence; -1 when unknown
    inverted: bool  # dark mode was detected and the image inverted before OCR
    seconds: float


def tessdata_path() -> str | None:
    """Folder holding *.traineddata: $PERISAI_TESSDATA, $TESSDATA_PREFIX, else Debian's."""
    for var in ("PERISAI_TESSDATA", "TESSDATA_PREFIX"):
        value = os.environ.get(var)
        if value and os.path.isdir(value):
            return value.rstrip("/") + "/"
    found = sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata/eng.traineddata"))
    return os.path.dirname(found[-1]) + "/" if found else None


def _tesserocr() -> Any | None:
    try:
        import tesserocr
    except ImportError:
        return None
    return tesserocr


def tesseract_available(languages: str = "eng+msa") -> bool:
    """True when OCR can run here with every language in `languages`."""
    wanted = set(languages.split("+"))
    path = tessdata_path()
    tesserocr = _tesserocr()
    if tesserocr is not None and path is not None:
        _, langs = tesserocr.get_languages(path)
        return wanted <= set(langs)
    if shutil.which("tesseract") is None:
        return False
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    return wanted <= set(out.split())


_lock = threading.Lock()
_apis: dict[str, Any] = {}


def _api(languages: str) -> Any:
    """One PyTessBaseAPI per process and language set (not thread-safe: use under _lock)."""
    api = _apis.get(languages)
    if api is None:
        tesserocr = _tesserocr()
        assert tesserocr is not None
        path = tessdata_path()
        if path is None:
            raise RuntimeError(
                "no tessdata folder: install tesseract-ocr-eng or set TESSDATA_PREFIX"
            )
        api = tesserocr.PyTessBaseAPI(path=path, lang=languages, psm=tesserocr.PSM.AUTO)
        _apis[languages] = api
    return api


def prepare(data: bytes) -> tuple[Image.Image, bool]:
    """The greyscale, upright, dark-text-on-light, upscaled image that Tesseract is given."""
    img = load(open_checked(data, MAX_PIXELS))
    inverted = ImageStat.Stat(img).median[0] < DARK_MEDIAN
    if inverted:
        img = ImageOps.invert(img)
    scale = min(MAX_UPSCALE, TARGET_WIDTH / img.width)
    scale = min(scale, math.sqrt(MAX_OCR_PIXELS / (img.width * img.height)))
    if abs(scale - 1) > 0.05:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img, inverted


def _cli(img: Image.Image, languages: str) -> tuple[str, float]:
    """Fallback: the `tesseract` binary, fed a PNG on stdin (nothing is written to disk)."""
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    cmd = ["tesseract", "stdin", "stdout", "-l", languages, "--psm", "3", "tsv"]
    out = subprocess.run(cmd, input=buf.getvalue(), capture_output=True, env=env, check=True)
    lines: dict[tuple[str, ...], list[str]] = {}
    confs: list[float] = []
    for row in out.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[0] == "5" and cols[11].strip():
            lines.setdefault(tuple(cols[1:5]), []).append(cols[11])
            confs.append(float(cols[10]))
    text = "\n".join(" ".join(words) for words in lines.values())
    return text, (sum(confs) / len(confs) if confs else -1.0)


def ocr_image(data: bytes, languages: str = "eng+msa") -> OcrResult:
    """OCR of image bytes. ValueError for corrupt, unknown or over-50-megapixel images."""
    start = time.perf_counter()
    img, inverted = prepare(data)
    if _tesserocr() is not None and tessdata_path() is not None:
        with _lock:
            api = _api(languages)
            api.SetImage(img)
            text = api.GetUTF8Text()
            conf = float(api.MeanTextConf())
            api.Clear()
    else:
        text, conf = _cli(img, languages)
    return OcrResult(text.strip(), conf, inverted, time.perf_counter() - start)
