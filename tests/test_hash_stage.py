"""Hash stage on hostile files: bombs, truncated and lying files are rejected with reasons."""

import io

from PIL import Image
from sqlalchemy import select

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.store import models as m

from helpers import msg, write_export


def test_hostile_media_is_recorded_never_fatal(tmp_path):
    export = tmp_path / "e"
    photos = export / "photos"
    photos.mkdir(parents=True)
    Image.new("L", (10000, 6000)).save(photos / "bomb.png")  # 60 MP: over the limit
    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((800, 600)).save(buf, "JPEG")
    (photos / "trunc.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (photos / "liar.jpg").write_text("hello, I am text")
    (photos / "ok.jpg").write_bytes(buf.getvalue())
    names = ["bomb.png", "trunc.jpg", "liar.jpg", "ok.jpg"]
    write_export(export, [msg(i, photo=f"photos/{n}") for i, n in enumerate(names, 1)])
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    result = triage(case, workers=1)
    assert result["stages"]["hash"]["found"] == {
        "media.hashed": 1,
        "media.rejected": 2,
        "media.skipped": 1,
    }
    with case.engine.connect() as conn:
        reasons = dict(
            conn.execute(
                select(m.MEDIA_FILES.c.mime, m.MEDIA_ANALYSIS.c.reason).join(
                    m.MEDIA_ANALYSIS, m.MEDIA_ANALYSIS.c.media_id == m.MEDIA_FILES.c.id
                )
            ).all()
        )
    assert "decompression bomb" in reasons["image/png"]
    assert "not an image" in reasons["text/plain"]
    assert triage(case, workers=1)["stages"]["hash"]["items"] == 0  # nothing pending
