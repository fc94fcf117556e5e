"""A case where a registered person's photo is posted whole, cropped, bordered and inside a
phone screenshot, a listed file is posted with a border, and an unrelated picture is posted:
the shared fixture of tests/test_web_partial.py and tests/test_reports_partial.py.

Every picture is generated (perisai.synth.images.make_original: gradients and shapes)."""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from perisai.case import Case
from perisai.findings import findings
from perisai.hashlists import import_list
from perisai.ingest.telegram_export import ingest
from perisai.media.image import hash_image
from perisai.media.victim_hash import victim_hash
from perisai.pipeline import triage
from perisai.store import models as m
from perisai.synth.images import derive, make_original
from perisai.victims import add_victim

from helpers import msg, write_export

ALIAS = "Kes-Partial-3"


def build(root: Path) -> dict[str, Any]:
    """Returns {"case", "sha": {name: sha256}, "export", "victim": {sha256: detail},
    "listed": {sha256: detail}, "size": (w, h) of her photo}."""
    rng = random.Random(31)
    hers = make_original(rng)
    other = make_original(random.Random(77))
    listed = make_original(random.Random(41))
    w, h = hers.size
    shot, _, _ = derive(hers, "screenshot", rng, "x", "@someone", "09:41")
    bordered, _, _ = derive(hers, "border", rng, "x", "@someone", "09:41")
    listed_border, _, _ = derive(listed, "border", rng, "x", "@someone", "09:41")
    posted: dict[str, Image.Image] = {
        "whole.jpg": hers,
        "crop.jpg": hers.crop((int(0.25 * w), int(0.1 * h), w, int(0.8 * h))),
        "border.jpg": bordered,
        "shot.jpg": shot,
        "listed.jpg": listed_border,
        "other.jpg": other,
    }
    her_dir = root / "her"
    her_dir.mkdir(parents=True)
    hers.save(her_dir / "IMG_1.jpg", quality=92)
    export = root / "export"
    (export / "photos").mkdir(parents=True)
    for name, img in posted.items():
        img.convert("RGB").save(export / "photos" / name, quality=80)
    write_export(export, [msg(i, photo=f"photos/{n}") for i, n in enumerate(posted, 1)])
    case = Case.open(root / "case")
    ingest(case, export)
    buf = io.BytesIO()
    listed.save(buf, "JPEG", quality=92)
    (root / "list.txt").write_text(f"pdq {hash_image(buf.getvalue()).pdq}\n")
    import_list(case, root / "list.txt", "ncii-hotline", "ncii")
    triage(case, workers=1, only="hash,regions,group,match,preview")
    doc = victim_hash([her_dir], local=True)
    (root / "hashes.json").write_text(json.dumps(doc))
    add_victim(case, ALIAS, hashes_file=root / "hashes.json")
    sha = {n: hashlib.sha256((export / "photos" / n).read_bytes()).hexdigest() for n in posted}
    return {
        "case": case,
        "sha": sha,
        "export": export,
        "victim": {f["media_sha256"]: f["detail"] for f in findings(case, "media.victim_match")},
        "listed": {f["media_sha256"]: f["detail"] for f in findings(case, "media.match")},
        "size": (w, h),
    }


def stored_preview(case: Case, sha: str) -> bytes | None:
    """The stored blurred preview blob of a representative, straight from the vault."""
    with case.engine.connect() as conn:
        psha = conn.execute(
            select(m.PREVIEWS.c.sha256)
            .join(m.MEDIA_FILES, m.MEDIA_FILES.c.id == m.PREVIEWS.c.media_id)
            .where(m.MEDIA_FILES.c.sha256 == sha)
        ).scalar()
    return None if psha is None else case.vault.read(psha)


def size_of(case: Case, sha: str) -> tuple[int, int]:
    with case.engine.connect() as conn:
        row = conn.execute(
            select(m.MEDIA_ANALYSIS.c.width, m.MEDIA_ANALYSIS.c.height)
            .join(m.MEDIA_FILES, m.MEDIA_FILES.c.id == m.MEDIA_ANALYSIS.c.media_id)
            .where(m.MEDIA_FILES.c.sha256 == sha)
        ).one()
    return row.width, row.height
