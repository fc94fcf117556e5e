"""Advisory nudity score from NudeNet 3.4.2's bundled 320n detector (see docs/nudity.md).

The score only decides which items a reviewer sees first or blurred; it never sets a legal
category. Images are decoded in memory with Pillow (EXIF orientation applied, converted to
RGB), never written to disk, and never logged.

NudeNet's own `NudeDetector` builds its onnxruntime session with default options (all cores)
and its public API reads paths or decodes with OpenCV, so this module opens the bundled ONNX
file itself with one session per worker and reproduces NudeNet's pre- and post-processing
exactly (`tests/test_classify_nudity.py` checks the parity against NudeNet's own functions).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import math
import warnings
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from perisai.media.decode import quiet_decoders

quiet_decoders()  # no libtiff or Pillow noise on stderr from a hostile image

NUDENET_VERSION = "3.4.2"
MODEL_NAME = f"nudenet-{NUDENET_VERSION}-320n"
MODEL_FILE = "320n.onnx"
# sha256 of nudenet/320n.onnx as recorded in the nudenet 3.4.2 wheel's RECORD file.
MODEL_SHA256 = base64.urlsafe_b64decode("wV2Cc62tLQqS8BTMaastbDEaBnd6VVRfLE60b1GRHw8=").hex()
INPUT_SIZE = 320
MAX_PIXELS = 50_000_000
# The square an image is padded to before the 320x320 resize: 7071 px a side, about 150 MB.
MAX_PADDED_PIXELS = MAX_PIXELS

# NudeNet 3.4.2's class order (index = model output channel - 4).
LABELS: tuple[str, ...] = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
EXPLICIT_CLASSES: frozenset[str] = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)

# NudeNet's thresholds: candidate confidence, then class-agnostic NMS (score, IoU).
CANDIDATE_THRESHOLD = 0.2
NMS_SCORE_THRESHOLD = 0.25
NMS_IOU_THRESHOLD = 0.45


@dataclass(frozen=True)
class NudityScore:
    """One image's advisory score. No boxes or pixels are kept, only counts and confidences."""

    labels: dict[str, float]  # NudeNet class name -> highest confidence among its detections
    score: float  # max confidence over EXPLICIT_CLASSES, 0.0 if none was detected
    boxes: int  # detections kept after non-maximum suppression
    model: str = MODEL_NAME


def model_available() -> bool:
    """True when NudeNet, onnxruntime and OpenCV import and the bundled model file exists."""
    try:
        _model_path()
        import_module("onnxruntime")
        import_module("cv2")
    except Exception:  # any import-time failure (missing wheel, ABI clash) means "not available"
        return False
    return True


def _model_path() -> Path:
    nudenet = import_module("nudenet")
    version = importlib.metadata.version("nudenet")
    if version != NUDENET_VERSION:
        raise RuntimeError(f"nudenet {version} installed, {NUDENET_VERSION} expected")
    if not nudenet.__file__:
        raise RuntimeError("the nudenet package has no location on disk")
    path = Path(nudenet.__file__).resolve().parent / MODEL_FILE
    if not path.is_file():
        raise RuntimeError(f"{MODEL_FILE} is missing from the nudenet package")
    return path


def _decode(data: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Bytes -> HxWx3 RGB uint8, upright per EXIF. Refuses oversized images before decoding."""
    if not data:
        raise ValueError("empty input")
    with warnings.catch_warnings():
        # We enforce our own, lower limit below; Pillow's warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))  # reads the header only
        except Image.DecompressionBombError as exc:
            raise ValueError(f"image too large: {exc}") from None
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ValueError(f"not a decodable image: {type(exc).__name__}") from None
        with image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ValueError(f"image has no pixels ({width}x{height})")
            if width * height > MAX_PIXELS:
                raise ValueError(
                    f"image too large: {width}x{height} = {width * height} pixels "
                    f"(limit {MAX_PIXELS})"
                )
            try:
                upright = ImageOps.exif_transpose(image)
                rgb = upright.convert("RGB")
            except Image.DecompressionBombError as exc:
                raise ValueError(f"image too large: {exc}") from None
            except (OSError, ValueError, SyntaxError, EOFError, IndexError) as exc:
                raise ValueError(f"image could not be decoded: {type(exc).__name__}") from None
    array = np.asarray(rgb, dtype=np.uint8)
    rgb.close()
    return array


class NudityModel:
    """One onnxruntime session over NudeNet's 320n model; build once per worker process."""

    def __init__(self, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        path = _model_path()
        weights = path.read_bytes()
        digest = hashlib.sha256(weights).hexdigest()
        if digest != MODEL_SHA256:
            raise RuntimeError(f"{MODEL_FILE} sha256 {digest} does not match nudenet 3.4.2")
        ort = import_module("onnxruntime")
        self._cv2: Any = import_module("cv2")
        # OpenCV's pool is process-wide; a worker that asks for N threads gets N here too.
        self._cv2.setNumThreads(threads)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only; ONNX Runtime never sees image content
        self.threads = threads
        self.model = MODEL_NAME
        self.model_sha256 = digest
        self.session: Any = ort.InferenceSession(
            weights, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_name: str = self.session.get_inputs()[0].name

    def score_image(self, data: bytes) -> NudityScore:
        """Score encoded image bytes. Raises ValueError (with a reason) on bad or huge input."""
        rgb = _decode(data)
        blob, side = self._preprocess(rgb)
        output = self.session.run(None, {self._input_name: blob})[0]
        detections = self._postprocess(output, width=rgb.shape[1], height=rgb.shape[0], side=side)
        labels: dict[str, float] = {}
        for name, confidence in detections:
            if confidence > labels.get(name, -1.0):
                labels[name] = confidence
        score = max((c for n, c in labels.items() if n in EXPLICIT_CLASSES), default=0.0)
        return NudityScore(labels=labels, score=score, boxes=len(detections), model=MODEL_NAME)

    def _preprocess(self, rgb: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], int]:
        """NudeNet's `_read_image` from its cvtColor step on.

        NudeNet reads BGR with OpenCV and applies COLOR_RGBA2BGR, which on three channels
        swaps R and B, i.e. yields RGB, which is exactly what Pillow gives us. Then: pad
        right/bottom with black to a square, scale to 320x320, 1/255, swapRB -> NCHW float32.
        """
        cv2 = self._cv2
        height, width = rgb.shape[:2]
        side = max(height, width)
        if side * side > MAX_PADDED_PIXELS:
            # A sliver (1x60000) would pad to a 60000x60000 square, 10 GB, only to be resized
            # to 320x320. Shrink it first, aspect kept; the returned side stays the original's,
            # so boxes still map back to the image. Photos up to 7071 px a side never get here.
            factor = math.sqrt(MAX_PADDED_PIXELS) / side
            small = (max(1, round(width * factor)), max(1, round(height * factor)))
            rgb = cv2.resize(np.ascontiguousarray(rgb), small, interpolation=cv2.INTER_AREA)
        h, w = rgb.shape[:2]
        padded = cv2.copyMakeBorder(
            np.ascontiguousarray(rgb), 0, max(h, w) - h, 0, max(h, w) - w, cv2.BORDER_CONSTANT
        )
        blob = cv2.dnn.blobFromImage(
            padded, 1 / 255.0, (INPUT_SIZE, INPUT_SIZE), (0, 0, 0), swapRB=True, crop=False
        )
        return blob, side

    def _postprocess(
        self, output: np.ndarray[Any, Any], *, width: int, height: int, side: int
    ) -> list[tuple[str, float]]:
        """NudeNet's `_postprocess`, vectorised: threshold, rescale, clip, class-agnostic NMS."""
        rows = np.transpose(np.squeeze(output, axis=0))  # (anchors, 4 + classes)
        class_scores = rows[:, 4:]
        best = class_scores.max(axis=1)
        keep = best >= CANDIDATE_THRESHOLD
        if not keep.any():
            return []
        rows, best = rows[keep], best[keep]
        class_ids = class_scores[keep].argmax(axis=1)
        scale = side / INPUT_SIZE
        w = rows[:, 2] * scale
        h = rows[:, 3] * scale
        x = np.clip((rows[:, 0] - rows[:, 2] / 2) * scale, 0, width)
        y = np.clip((rows[:, 1] - rows[:, 3] / 2) * scale, 0, height)
        w = np.minimum(w, width - x)
        h = np.minimum(h, height - y)
        boxes = np.stack([x, y, w, h], axis=1).astype(np.float64).tolist()
        indices = self._cv2.dnn.NMSBoxes(
            boxes, best.astype(np.float64).tolist(), NMS_SCORE_THRESHOLD, NMS_IOU_THRESHOLD
        )
        return [(LABELS[int(class_ids[i])], float(best[i])) for i in np.asarray(indices).ravel()]
