"""Advisory image classifiers: scores that route items to human review, never verdicts.

Everything here is pure: bytes in, a score out. No pixels are written to disk or logged.
The heavy dependencies (NudeNet, onnxruntime, OpenCV) are imported lazily, so importing this
package works without them; check `model_available()` before building a model.
"""

from __future__ import annotations

from perisai.classify.nudity import (
    EXPLICIT_CLASSES,
    MAX_PIXELS,
    MODEL_NAME,
    NudityModel,
    NudityScore,
    model_available,
)

__all__ = [
    "EXPLICIT_CLASSES",
    "MAX_PIXELS",
    "MODEL_NAME",
    "NudityModel",
    "NudityScore",
    "model_available",
]
