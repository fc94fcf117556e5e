"""OCR recall and speed on synthetic screenshots, and how many synthetic photos the screen skips.

    .venv/bin/python benchmarks/ocr_eval.py [N] [LANGUAGES]

Renders N varied screenshots (chat or profile, light or dark, 20-32 px text) with planted
fictional phones, handles and ICs; counts a planted value as found when it appears in the
OCR text after repair_confusables(), join_wrapped() and removing spaces and dashes. Then runs
looks_textual() over the photos of a `perisai synth` export (messages=300, photos=36, seed=1).
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

from perisai.ocr import join_wrapped, looks_textual, ocr_image, repair_confusables
from perisai.ocr.samples import random_sample
from perisai.synth import synth


def _norm(text: str) -> str:
    return re.sub(r"[\s\-–—]+", "", join_wrapped(repair_confusables(text))).lower()


def _phone_found(digits: str, text: str) -> bool:
    return digits in text or ("+6" + digits) in text or ("6" + digits) in text


def ocr_table(n: int, languages: str) -> list[str]:
    rng = random.Random(7)
    hits = {"phone": [0, 0], "handle": [0, 0], "ic": [0, 0]}
    seconds: list[float] = []
    screened = 0
    for _ in range(n):
        s = random_sample(rng)
        screened += looks_textual(s.data)[0]
        r = ocr_image(s.data, languages)
        seconds.append(r.seconds)
        text = _norm(r.text)
        for kind, values in (("phone", s.phones), ("handle", s.handles), ("ic", s.ics)):
            for v in values:
                hits[kind][1] += 1
                found = _phone_found(v, text) if kind == "phone" else v.replace("-", "") in text
                hits[kind][0] += found
    rows = [f"| languages | {languages} |", "| --- | --- |"]
    for kind, (found, total) in hits.items():
        rows.append(f"| {kind} recall | {found}/{total} ({100 * found / max(1, total):.1f}%) |")
    total_found = sum(f for f, _ in hits.values())
    total = sum(t for _, t in hits.values())
    rows.append(f"| all planted | {total_found}/{total} ({100 * total_found / total:.1f}%) |")
    warm = seconds[1:] or seconds
    rows.append(f"| mean s/image (after the first) | {sum(warm) / len(warm):.3f} |")
    rows.append(f"| first image (loads the model) | {seconds[0]:.3f} |")
    rows.append(f"| screenshots kept by looks_textual | {screened}/{n} |")
    return rows


def screen_table() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        synth(Path(tmp), messages=300, photos=36, seed=1)
        truth = json.loads((Path(tmp) / "ground_truth.json").read_text())
        plain = [0, 0]
        texty = [0, 0]
        ms: list[float] = []
        for m in truth["media"]:
            if m["kind"] != "photo" or not m.get("path"):
                continue
            data = (Path(tmp) / m["path"]).read_bytes()
            start = time.perf_counter()
            keep = looks_textual(data)[0]
            ms.append((time.perf_counter() - start) * 1000)
            bucket = texty if m.get("embedded_text") else plain
            bucket[0] += not keep
            bucket[1] += 1
    ms.sort()
    return [
        f"| synth photos without text skipped | {plain[0]}/{plain[1]} |",
        f"| synth photos with text (caption, screenshot) kept | {texty[1] - texty[0]}/{texty[1]} |",
        f"| looks_textual median ms (synth JPEGs) | {ms[len(ms) // 2]:.1f} |",
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    languages = sys.argv[2] if len(sys.argv) > 2 else "eng+msa"
    print("\n".join(ocr_table(n, languages) + screen_table()))


if __name__ == "__main__":
    main()
