"""`perisai scan` (ingest, triage, police report) and `perisai demo`, end to end."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from perisai.synth import synth

from helpers import run_cli


def _custody_actions(case: Path) -> list[str]:
    con = sqlite3.connect(case / "perisai.db")
    try:
        return [a for (a,) in con.execute("select action from custody_events order by seq")]
    finally:
        con.close()


def test_scan_writes_the_police_report(tmp_path):
    export = tmp_path / "export"
    synth(export, messages=120, photos=4, seed=3)
    case = tmp_path / "case"
    r = run_cli("scan", str(case), str(export), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["stats"]["messages"] > 0
    paths = sorted(Path(f["path"]).name for f in out["report"])
    assert paths == ["police.html", "police.pdf"]
    html = (case / "reports" / "police.html").read_text(encoding="utf-8")
    chat_id = json.loads((export / "ground_truth.json").read_text())["chat"]["id"]
    assert str(chat_id) in html
    assert (case / "reports" / "police.pdf").read_bytes().startswith(b"%PDF")
    actions = _custody_actions(case)
    assert actions.index("ingest") < actions.index("report.write")


def test_scan_of_a_real_export(corpus, tmp_path):
    export = corpus / "03_vu_pakistan_public_channel_2020-11_legacy_numeric_ids.json"
    case = tmp_path / "case"
    r = run_cli("scan", str(case), str(export), "--timezone", "UTC", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stats"]["messages"] > 150
    con = sqlite3.connect(case / "perisai.db")
    (tg_id, marked), *_ = con.execute("select tg_id, marked_id from chats").fetchall()
    con.close()
    html = (case / "reports" / "police.html").read_text(encoding="utf-8")
    assert str(tg_id) in html and str(marked) in html
    assert f"https://t.me/c/{tg_id}/1" in html  # message links police can request
    assert (case / "reports" / "police.pdf").read_bytes().startswith(b"%PDF")


def test_demo_writes_every_report_and_a_verified_bundle(tmp_path, monkeypatch):
    from perisai.demo import DEMO_PASSPHRASE, run_demo

    monkeypatch.setenv("PERISAI_PASSPHRASE", "")  # set but empty: the demo's own is used
    out = tmp_path / "demo"
    result = run_demo(out, messages=150, photos=6)
    assert result["verify"]["ok"]
    assert os.environ["PERISAI_PASSPHRASE"] == DEMO_PASSPHRASE
    names = {p.name for p in (out / "reports").iterdir()}
    assert {"police.html", "police.pdf", "victims.html", "takedown.html"} <= names
    assert {"vics.json", "ncmec.xml"} <= names
    r = run_cli("verify-bundle", str(out / "bundle.zip"), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ok"] is True
