"""OCR stage: PII drawn into synthetic captions and screenshots becomes `ocr` findings."""

import json

import pytest

from perisai.case import Case
from perisai.findings import findings
from perisai.ingest.telegram_export import ingest
from perisai.ocr import tesseract_available
from perisai.pipeline import triage
from perisai.synth import synth

pytestmark = pytest.mark.skipif(
    not tesseract_available("eng+msa"), reason="Tesseract with eng+msa is not installed"
)


def test_screenshot_pii_found_by_ocr(tmp_path):
    synth(tmp_path / "export", messages=300, photos=36, seed=5)
    truth = json.loads((tmp_path / "export" / "ground_truth.json").read_text())
    planted = {
        (x["sha256"], pii["value"]) for x in truth["media"] for pii in x.get("embedded_pii", [])
    }
    case = Case.open(tmp_path / "case")
    ingest(case, tmp_path / "export")
    result = triage(case, workers=1)
    assert result["stages"]["ocr"]["found"].get("images_skipped", 0) > 0  # photos skipped
    got = {(f["media_sha256"], f["value"]) for f in findings(case) if f["source"] == "ocr"}
    assert planted and len(planted & got) / len(planted) >= 0.5
    assert all(f["media_sha256"] for f in findings(case) if f["source"] == "ocr")
