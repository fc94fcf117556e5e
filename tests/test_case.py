"""Opening cases: keys, wrong passphrases, refusal to clobber, CLI exit codes."""

import json

import pytest

from perisai.case import Case
from perisai.errors import BadInput, BadKey

from helpers import msg, run_cli, write_export


def test_wrong_passphrase_is_exit_2_not_a_new_key(tmp_path):
    export = write_export(tmp_path / "e", [msg(1)])
    assert run_cli("ingest", str(tmp_path / "case"), str(export)).returncode == 0
    meta = (tmp_path / "case" / "case.json").read_text()
    r = run_cli("stats", str(tmp_path / "case"), "--json", env={"PERISAI_PASSPHRASE": "nope"})
    assert r.returncode == 2 and "wrong passphrase" in r.stderr and r.stdout == ""
    assert (tmp_path / "case" / "case.json").read_text() == meta


def test_key_file_and_missing_passphrase(tmp_path, monkeypatch):
    key = tmp_path / "key.txt"
    key.write_text("from a file\n")
    monkeypatch.delenv("PERISAI_PASSPHRASE")
    case = Case.open(tmp_path / "case", key_file=str(key))
    case.close()
    Case.open(tmp_path / "case", key_file=str(key)).close()
    with pytest.raises(BadKey, match="no case passphrase"):
        Case.open(tmp_path / "case")  # no env, no file, no terminal


def test_case_json_holds_no_key_material_in_clear(tmp_path):
    Case.open(tmp_path / "case").close()
    meta = json.loads((tmp_path / "case" / "case.json").read_text())
    assert meta["key"]["kdf"]["name"] == "scrypt" and len(meta["key"]["kdf"]["salt"]) > 10
    assert "correct horse" not in (tmp_path / "case" / "case.json").read_text()


def test_refuses_a_folder_that_is_not_a_case(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "important.txt").write_text("keep me")
    with pytest.raises(BadInput, match="not an empty folder"):
        Case.open(tmp_path / "notes")
    assert (tmp_path / "notes" / "important.txt").read_text() == "keep me"
    with pytest.raises(BadInput, match="not a Perisai case"):
        Case.open(tmp_path / "missing", create=False)


def test_stats_json_shape(tmp_path):
    export = write_export(tmp_path / "e", [msg(1), {"id": 2, "type": "service", "action": "x"}])
    run_cli("ingest", str(tmp_path / "case"), str(export))
    r = run_cli("stats", str(tmp_path / "case"), "--json")
    data = json.loads(r.stdout)
    assert {"chats", "messages", "service_messages", "actors", "media", "findings"} <= set(data)
    assert {"files", "unique", "missing", "placeholders", "quarantined"} <= set(data["media"])
    assert (data["messages"], data["service_messages"]) == (2, 1)


def test_custody_head_follows_each_transactions_own_event(tmp_path):
    """A second transaction that logs nothing (a review-UI page read in another thread) does
    not make the first one forget to move custody.head."""
    from sqlalchemy import text

    from perisai.case import Case
    from perisai.verify import verify

    case = Case.open(tmp_path / "case")
    with case.begin() as writer:
        event = case.log(writer, "test.event", {"n": 1})
        with case.begin() as reader:
            reader.execute(text("select 1"))
    head = (tmp_path / "case" / "custody.head").read_text()
    assert f'"seq":{event["seq"]}' in head
    assert verify(case)["ok"]
