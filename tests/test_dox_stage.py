"""Dox stage: synth's labelled doxes come out as doxes; re-running changes nothing."""

import json

from sqlalchemy import select

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.store import models as m
from perisai.synth import synth


def test_labelled_doxes_are_found(tmp_path):
    synth(tmp_path / "export", messages=400, photos=0, seed=4)
    truth = json.loads((tmp_path / "export" / "ground_truth.json").read_text())
    labelled = {
        r["id"] for r in truth["messages"] if r.get("kind") == "dox" and r["dox"]["labelled"]
    }
    case = Case.open(tmp_path / "case")
    ingest(case, tmp_path / "export")
    triage(case, workers=1, only="text,dox")
    with case.engine.connect() as conn:
        rows = conn.execute(
            select(m.DOXES.c.score, m.DOXES.c.message_pks, m.DOXES.c.identifiers)
        ).all()
        ids = dict(conn.execute(select(m.MESSAGES.c.id, m.MESSAGES.c.message_id)).all())
    found = {ids[pk] for score, pks, _ in rows if score >= 0.6 for pk in pks}
    assert labelled and len(labelled & found) / len(labelled) >= 0.9
    assert all(idents for _, _, idents in rows)
    assert triage(case, workers=1, only="dox")["stages"]["dox"]["items"] == 0
