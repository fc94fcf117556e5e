"""OCR of screenshots: a cheap "is this text-heavy?" screen, Tesseract, and line joining.

Bytes in, text out: nothing here writes pixels to disk or touches the database. The caller
decides what may be read at all (quarantined files are never passed here). See docs/ocr.md.
"""

from perisai.ocr.engine import MAX_PIXELS, OcrResult, ocr_image, tesseract_available
from perisai.ocr.screen import looks_textual
from perisai.ocr.text import join_wrapped, repair_confusables

__all__ = [
    "MAX_PIXELS",
    "OcrResult",
    "join_wrapped",
    "looks_textual",
    "ocr_image",
    "repair_confusables",
    "tesseract_available",
]
