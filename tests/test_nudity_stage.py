"""Nudity stage: scores cluster representatives only, skips list-decided ones, advisory only."""

import pytest
from sqlalchemy import func, select

from perisai.case import Case
from perisai.classify import model_available
from perisai.hashlists import import_list
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.store import models as m
from perisai.synth import synth

pytestmark = pytest.mark.skipif(not model_available(), reason="nudenet==3.4.2 not installed")


def test_representatives_scored_once_and_decided_clusters_skipped(tmp_path):
    synth(tmp_path / "export", messages=200, photos=12, seed=9)
    case = Case.open(tmp_path / "case")
    ingest(case, tmp_path / "export")
    triage(case, workers=1, only="hash,group")
    with case.engine.connect() as conn:
        reps = (
            conn.execute(
                select(m.MEDIA_FILES.c.sha256)
                .join(m.CLUSTER_MEMBERS, m.CLUSTER_MEMBERS.c.cluster_id == m.MEDIA_FILES.c.id)
                .join(m.MEDIA_ANALYSIS, m.MEDIA_ANALYSIS.c.media_id == m.MEDIA_FILES.c.id)
                .where(m.MEDIA_ANALYSIS.c.kind == "image")
                .distinct()
            )
            .scalars()
            .all()
        )
    (tmp_path / "benign.txt").write_text(f"sha256 {reps[0]}\n")
    import_list(case, tmp_path / "benign.txt", "stickers", "benign")
    result = triage(case, workers=1)
    assert result["stages"]["nudity"]["items"] == len(reps) - 1
    assert triage(case, workers=1)["stages"]["nudity"]["items"] == 0
    with case.engine.connect() as conn:
        rows = (
            conn.execute(select(m.FINDINGS).where(m.FINDINGS.c.kind == "media.nudity"))
            .mappings()
            .all()
        )
        matched = conn.execute(
            select(func.count()).where(m.FINDINGS.c.kind == "media.match")
        ).scalar()
    assert matched >= 1  # the benign match is still reported, never suppressed
    assert all(r["detail"]["advisory"] and r["media_sha256"] != reps[0] for r in rows)


def test_video_keyframes_are_scored(tmp_path):
    from perisai.classify import NudityModel, NudityScore
    from perisai.stages.nudity import _score_video

    synth(tmp_path / "export", messages=120, photos=0, videos=1, seed=2)
    video = next((tmp_path / "export" / "video_files").glob("*.mp4"))
    score = _score_video(NudityModel(threads=1), video.read_bytes())
    assert isinstance(score, NudityScore) and 0.0 <= score.score <= 1.0
