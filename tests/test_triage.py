"""Triage: stages run over pending work only, resume after a crash, and feed `findings`."""

import json
import os

import pytest
from sqlalchemy import func, select

from perisai.case import Case
from perisai.findings import findings
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.stages.text import TextStage
from perisai.stats import stats
from perisai.store import models as m
from perisai.synth import synth
from perisai.verify import verify

from helpers import msg, run_cli, write_export


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "export"
    synth(out, messages=300, photos=0, seed=11)
    return out


def _count(case):
    with case.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(m.FINDINGS)).scalar()


def test_triage_finds_the_planted_phones(tmp_path, export):
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    result = triage(case, workers=1)
    assert result["stages"]["text"]["items"] == 300
    truth = json.loads((export / "ground_truth.json").read_text())
    planted = {
        (record["id"], item["value"])
        for record in truth["messages"]
        for item in record.get("pii", [])
        if item["kind"] == "pii.phone" and item["where"] == "text"
    }
    found = {(f["message_id"], f["value"]) for f in findings(case, "pii.phone")}
    assert planted and len(planted & found) / len(planted) >= 0.9
    assert stats(case)["findings"]["pii.phone"] >= len(planted & found)
    assert verify(case)["ok"]


def test_second_run_does_nothing_and_new_messages_are_pending(tmp_path):
    case = Case.open(tmp_path / "case")
    ingest(case, write_export(tmp_path / "a", [msg(1, text="call me 012-345 6789")]))
    triage(case, workers=1)
    assert triage(case, workers=1)["stages"]["text"]["items"] == 0
    ingest(case, write_export(tmp_path / "b", [msg(2, text="IG: @nur.aisyah.99")]))
    assert triage(case, workers=1)["stages"]["text"]["items"] == 1


def test_crash_mid_run_loses_nothing(tmp_path, export, monkeypatch):
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    monkeypatch.setattr(TextStage, "batch_size", 50)
    real_store, calls = TextStage.store, {"n": 0}

    def crashing(self, conn, results):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_store(self, conn, results)

    monkeypatch.setattr(TextStage, "store", crashing)
    with pytest.raises(KeyboardInterrupt):
        triage(case, workers=1)
    monkeypatch.setattr(TextStage, "store", real_store)
    partial = _count(case)
    resumed = triage(case, workers=1)
    assert resumed["stages"]["text"]["items"] == 200  # 2 batches of 50 were committed

    fresh = Case.open(tmp_path / "fresh")
    ingest(fresh, export)
    triage(fresh, workers=1)
    assert _count(case) == _count(fresh) and partial < _count(fresh)


def test_new_stage_version_redoes_the_work(tmp_path, monkeypatch):
    case = Case.open(tmp_path / "case")
    ingest(case, write_export(tmp_path / "a", [msg(1, text="hubungi 012-345 6789")]))
    triage(case, workers=1)
    before = _count(case)
    monkeypatch.setattr(TextStage, "version", 99)
    assert triage(case, workers=1)["stages"]["text"]["items"] == 1
    assert _count(case) == before


def test_parallel_workers_give_the_same_findings(tmp_path, export, monkeypatch):
    monkeypatch.setattr(TextStage, "batch_size", 64)
    one, two = Case.open(tmp_path / "one"), Case.open(tmp_path / "two")
    for case in (one, two):
        ingest(case, export)
    triage(one, workers=1)
    triage(two, workers=2)
    assert findings(one) == findings(two)


def test_cli_findings_shape_and_unknown_stage(tmp_path):
    export = write_export(
        tmp_path / "e", [msg(7, text="Nama: Aisyah. No tel: 012-345 6789. Join t.me/+AbCdEf123")]
    )
    run_cli("ingest", str(tmp_path / "case"), str(export))
    assert run_cli("triage", str(tmp_path / "case"), "--json").returncode == 0
    r = run_cli("findings", str(tmp_path / "case"), "--kind", "pii.phone", "--json")
    data = json.loads(r.stdout)
    assert data and set(data[0]) == {
        "kind",
        "value",
        "chat_id",
        "message_id",
        "source",
        "span",
        "score",
        "media_sha256",
        "detail",
    }
    phone = data[0]
    assert (phone["value"], phone["chat_id"], phone["message_id"]) == (
        "+60123456789",
        1500000001,
        7,
    )
    text = "Nama: Aisyah. No tel: 012-345 6789. Join t.me/+AbCdEf123"
    assert (
        text[phone["span"][0] : phone["span"][1]].replace(" ", "").replace("-", "") == "0123456789"
    )
    links = json.loads(
        run_cli("findings", str(tmp_path / "case"), "--kind", "link", "--json").stdout
    )
    assert any(f["value"] == "https://t.me/+AbCdEf123" for f in links)
    bad = run_cli("triage", str(tmp_path / "case"), "--only", "nope")
    assert bad.returncode == 2 and "unknown stage" in bad.stderr


def test_telegram_entity_confirms_rather_than_duplicates(tmp_path):
    case = Case.open(tmp_path / "case")
    text = ["hubungi ", {"type": "phone", "text": "+60 12-345 6789"}, " sekarang"]
    ingest(case, write_export(tmp_path / "e", [msg(1, text=text)]))
    triage(case, workers=1)
    phones = findings(case, "pii.phone")
    assert len(phones) == 1
    assert phones[0]["value"] == "+60123456789" and phones[0]["detail"]["telegram_entity"]


def test_shared_contacts_and_locations_become_findings(tmp_path):
    case = Case.open(tmp_path / "case")
    contact = {"first_name": "Siti", "last_name": "", "phone_number": "+60 13-456 7890"}
    where = {"latitude": 3.139003, "longitude": 101.686855}
    ingest(
        case,
        write_export(
            tmp_path / "e",
            [
                msg(1, text="", contact_information=contact),
                msg(2, text="", location_information=where),
                msg(3, text="", location_information={"latitude": "nonsense"}),
            ],
        ),
    )
    triage(case, workers=1)
    found = {(f["kind"], f["value"], f["message_id"]) for f in findings(case)}
    assert ("pii.phone", "+60134567890", 1) in found
    assert ("pii.location", "3.139003,101.686855", 2) in found
    assert not any(f[2] == 3 for f in found)


def test_one_blas_thread_per_process_unless_the_user_said_otherwise():
    import subprocess
    import sys

    code = (
        "import perisai, os; "
        "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["1", "1"]
    env["OPENBLAS_NUM_THREADS"] = "4"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["4", "1"]
