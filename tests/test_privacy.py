"""The volunteer's own identity never reaches the custody log (which travels in bundles)."""

from __future__ import annotations

import getpass
import json
import sqlite3

from perisai import settings
from perisai.synth import synth

from helpers import run_cli


def test_default_investigator_is_a_pseudonym(monkeypatch):
    monkeypatch.delenv("PERISAI_INVESTIGATOR", raising=False)
    who = settings.investigator()
    assert who.startswith("investigator-") and len(who) == len("investigator-") + 8
    assert getpass.getuser() not in who
    assert settings.investigator("inv-7") == "inv-7"


def test_custody_has_neither_login_name_nor_home_folder(tmp_path, monkeypatch):
    home = tmp_path / "home" / "aisyah.volunteer"
    export = home / "Downloads" / "ChatExport"
    synth(export, messages=30, photos=0, seed=2)
    case = tmp_path / "case"
    env = {"HOME": str(home), "USER": "aisyah.volunteer", "LOGNAME": "aisyah.volunteer"}
    env["PERISAI_INVESTIGATOR"] = ""
    r = run_cli("ingest", str(case), str(export), "--json", env=env)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(case / "perisai.db")
    rows = con.execute("select actor, body from custody_events").fetchall()
    sources = [s for (s,) in con.execute("select source_path from exports")]
    con.close()
    for actor, body in rows:
        assert "aisyah" not in actor
        assert "aisyah" not in json.dumps(body)
    assert sources == ["~/Downloads/ChatExport/result.json"]
