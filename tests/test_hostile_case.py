"""Hostile exports and misuse of the CLI around a case: exit 2 with one line naming what and
where, never a crash (exit 3), a shifted message or a half-written case."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from perisai.case import Case
from perisai.errors import BadInput
from perisai.ingest.ids import as_int, decode_chat_id, decode_from_id
from perisai.ingest.normalize import parse_timezone
from perisai.ingest.telegram_export import ingest
from perisai.store import models as m

from helpers import msg, run_cli, snapshot, write_export


@pytest.fixture
def case(tmp_path):
    c = Case.open(tmp_path / "case")
    ingest(c, write_export(tmp_path / "first", [msg(1), msg(2)]))
    return c


def _raw_export(root, doc):
    root.mkdir(parents=True, exist_ok=True)
    (root / "result.json").write_text(json.dumps(doc), "utf-8")
    return root


def _chat(i, messages):
    return {"name": f"C{i}", "type": "private_group", "id": i, "messages": messages}


def _rows(case):
    t, c = m.MESSAGES, m.CHATS
    query = select(c.c.tg_id, t.c.message_id, t.c.text).join(c, c.c.id == t.c.chat_id)
    with case.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(query))


# -- export shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "said"),
    [
        (
            {"name": "G", "type": "private_group", "id": 9, "messages": {"a": 1}},
            "'messages' is an object",
        ),
        ({"name": "G", "type": "private_group", "id": 9, "messages": 5}, "'messages' is a number"),
        ({"name": "G", "type": "private_group", "id": 9, "messages": None}, "'messages' is null"),
        ({"chats": {"about": "x"}}, "'chats' holds no 'list'"),
        ({"chats": {"list": 5}}, "'chats' holds no 'list'"),
        ({"chats": {"list": []}, "left_chats": 5}, "'left_chats' holds no 'list'"),
        ({"chats": {"list": [5]}}, "chats.list item 1 is a number"),
        ({"chats": {"list": [_chat(1, {"x": 1})]}}, "'messages' of chat 1"),
    ],
)
def test_wrong_shapes_are_exit_2_not_an_empty_success(tmp_path, case, doc, said):
    before = snapshot(case.root)
    export = _raw_export(tmp_path / "bad", doc)
    with pytest.raises(BadInput, match="result.json: " + said):
        ingest(case, export)
    assert snapshot(case.root) == before


def test_non_object_messages_never_shift_into_the_next_chat(tmp_path, case):
    """The first pass counted only objects, the second yielded every item: a list among a
    chat's messages moved that chat's last message into the next chat."""
    doc = {
        "chats": {
            "list": [
                _chat(1, [[1, 2], "x", msg(1, "in chat one")]),
                _chat(2, [msg(5, "in chat two"), 7]),
            ]
        }
    }
    ingest(case, _raw_export(tmp_path / "acct", doc))
    rows = [r for r in _rows(case) if r[0] in (1, 2)]
    assert (1, 1, "in chat one") in rows and (2, 5, "in chat two") in rows
    assert len([r for r in rows if r[0] == 1]) == 3 and len([r for r in rows if r[0] == 2]) == 2


# -- ids, dates and time zones -----------------------------------------------------------------

BIG = "9" * 30
LONG = "9" * 5000  # int() refuses strings over 4,300 digits (ValueError)
SUP = "\u00b2"  # '²': str.isdigit() says yes, int() says no


@pytest.mark.parametrize(
    "extra",
    [
        {"from_id": "user" + BIG},
        {"from_id": "channel" + BIG},
        {"from_id": LONG},
        {"from_id": "user" + LONG},
        {"from_id": SUP},
        {"from_id": 2**63 - 1},
        {"from_id": "user"},
        {"from_id": "channel-5"},
        {"forwarded_from": "x", "forwarded_from_id": "user" + BIG},
        {"id": "9" * 40},
        {"id": LONG},
        {"id": SUP},
        {"id": "--5"},
        {"id": 1e300},
        {"id": 1.5},
        {"reply_to_message_id": 1e300},
        {"reply_to_message_id": "abc"},
        {"date_unixtime": SUP},
        {"date_unixtime": LONG},
        {"date_unixtime": 1714528800.5},
        {"date_unixtime": "-100"},
        {"edited": "x", "edited_unixtime": SUP},
    ],
)
def test_odd_ids_and_dates_are_kept_and_flagged_not_a_crash(tmp_path, case, extra):
    m1 = msg(3, "odd")
    m1.update(extra)
    result = ingest(case, write_export(tmp_path / "odd", [m1]))
    assert result["messages_new"] == 1


@pytest.mark.parametrize("chat_id", [2**63 - 1, -(2**63 - 1), BIG, 1e300, 1.5, "1.5", SUP, LONG])
def test_chat_ids_that_do_not_fit_are_exit_2_naming_the_file(tmp_path, case, chat_id):
    before = snapshot(case.root)
    export = write_export(tmp_path / "bad", [msg(3)], id=chat_id)
    with pytest.raises(BadInput, match=r"result\.json: chat 'Test group' has no usable id") as err:
        ingest(case, export)
    assert len(str(err.value)) < 400
    assert snapshot(case.root) == before


def test_id_decoding_bounds():
    assert as_int("12") == 12 and as_int(12.0) == 12 and as_int("-7") == -7
    assert as_int(1.5) is None and as_int(True) is None and as_int(SUP) is None
    assert as_int(LONG) is None and as_int(float("inf")) is None and as_int(float("nan")) is None
    assert decode_from_id("user" + BIG) is None and decode_from_id(LONG) is None
    assert decode_from_id("user123").bare == 123 and decode_from_id("4294967297").bare == 1
    assert decode_chat_id(2**62, "private_supergroup", False) is None
    assert decode_chat_id(-1001234567890, "private_supergroup", False) == 1234567890


@pytest.mark.parametrize("zone", ["Asia", "Etc", "a" * 300, "UTC\x01"])
def test_time_zone_that_is_a_folder_or_junk_is_bad_input(zone):
    with pytest.raises(BadInput):
        parse_timezone(zone)


def test_cli_bad_chat_id_is_one_line_exit_2(tmp_path, case):
    export = write_export(tmp_path / "bad", [msg(3, from_id="user" + LONG)], id=BIG)
    r = run_cli("ingest", str(case.root), str(export), "--json")
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "result.json" in r.stderr and r.stdout == ""


# -- two processes on one case -----------------------------------------------------------------


def _cli_proc(*args):
    import os
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "perisai.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_two_processes_creating_one_case_both_land_and_the_case_verifies(tmp_path):
    """The loser of the creation race used to remove the winner's half-made case (exit 3,
    and a case whose custody head named events that were gone)."""
    export = write_export(tmp_path / "ex", [msg(i) for i in range(1, 40)])
    for n in range(3):
        target = tmp_path / f"case{n}"
        procs = [_cli_proc("ingest", str(target), str(export), "--json") for _ in range(2)]
        results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert [r[0] for r in results] == [0, 0], results
        assert sorted(json.loads(r[1])["unchanged"] for r in results) == [False, True]
        r = run_cli("verify", str(target))
        assert r.returncode == 0, r.stdout + r.stderr
        assert not [p for p in tmp_path.iterdir() if ".creating-" in p.name]


def test_a_second_writer_waits_for_the_first_then_goes_on(tmp_path, case, monkeypatch):
    import sqlite3
    import threading
    import time

    held = threading.Event()

    def hold() -> None:
        con = sqlite3.connect(case.root / "perisai.db", timeout=30)
        con.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(6)  # past sqlite3's own 5 s wait
        con.commit()
        con.close()

    t = threading.Thread(target=hold)
    t.start()
    held.wait()
    c2 = Case.open(case.root)
    result = ingest(c2, write_export(tmp_path / "two", [msg(5)]))
    t.join()
    assert result["messages_new"] == 1


def test_a_writer_that_waits_too_long_is_a_clean_error(tmp_path, case, monkeypatch):
    import sqlite3

    from perisai import case as case_mod
    from perisai.errors import PerisaiError

    monkeypatch.setattr(case_mod, "WRITE_WAIT_S", 1)
    before = snapshot(case.root)
    con = sqlite3.connect(case.root / "perisai.db")
    con.execute("BEGIN IMMEDIATE")
    try:
        c2 = Case.open(case.root)
        with pytest.raises(PerisaiError, match="is busy: another Perisai process"):
            ingest(c2, write_export(tmp_path / "two", [msg(5)]))
    finally:
        con.rollback()
        con.close()
    assert snapshot(case.root) == before


# -- encodings and file types ------------------------------------------------------------------


def _encoded(tmp_path, name, encode):
    doc = {"name": "G", "type": "private_group", "id": 9, "messages": [msg(3, "héllo wörld")]}
    root = tmp_path / name
    root.mkdir()
    (root / "result.json").write_bytes(encode(json.dumps(doc, ensure_ascii=False)))
    return root


@pytest.mark.parametrize(
    ("encode", "said"),
    [
        (lambda t: t.encode("utf-16"), "is UTF-16 text"),
        (lambda t: t.encode("utf-16-le"), "looks like UTF-16"),
        (lambda t: t.encode("utf-32"), "is UTF-32 text"),
        (lambda t: t.encode("latin-1"), r"invalid bytes in UTF8 string\. \(not UTF-8"),
    ],
)
def test_wrong_encodings_are_named_on_one_line_without_message_text(tmp_path, case, encode, said):
    before = snapshot(case.root)
    with pytest.raises(BadInput, match=said) as err:
        ingest(case, _encoded(tmp_path, "enc", encode))
    assert "\n" not in str(err.value) and "llo w" not in str(err.value)
    assert snapshot(case.root) == before


def test_a_utf8_bom_is_read_and_still_hashed(tmp_path, case):
    import hashlib

    export = _encoded(tmp_path, "bom", lambda t: b"\xef\xbb\xbf" + t.encode())
    result = ingest(case, export)
    assert result["messages_new"] == 1
    assert (
        result["result_sha256"] == hashlib.sha256((export / "result.json").read_bytes()).hexdigest()
    )


def test_a_fifo_or_device_is_refused_without_blocking(tmp_path, case):
    import os

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        with pytest.raises(BadInput, match="is not a regular file"):
            ingest(case, path)


# -- case files, keys and key files ------------------------------------------------------------


def _damaged(tmp_path, case, **key):
    meta = json.loads((case.root / "case.json").read_text())
    meta["key"].update(key)
    (case.root / "case.json").write_text(json.dumps(meta))
    return case.root


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ({"wrapped_key": "zz"}, "wrapped case key is damaged"),
        ({"wrapped_key": "!!!!"}, "wrapped case key is damaged"),
        ({"wrapped_key": "AAAA"}, "wrapped case key is damaged"),
        ({"kdf": {"name": "scrypt", "salt": "AAAA", "n": 2**40, "r": 8, "p": 1}}, "out of range"),
        ({"kdf": {"name": "scrypt", "salt": "AAAA", "n": 3, "r": 8, "p": 1}}, "out of range"),
        ({"kdf": {"name": "scrypt", "n": 2}}, "parameters are damaged"),
        ({"kdf": 5}, "unsupported key derivation"),
    ],
)
def test_a_damaged_case_json_is_exit_2_not_a_crash_or_a_memory_bomb(tmp_path, case, key, said):
    root = _damaged(tmp_path, case, **key)
    r = run_cli("stats", str(root), "--json")
    assert r.returncode == 2 and said in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xff\xfe\x00bad\n", "not UTF-8"),
        (b"", "is empty"),
        (b"\n\npw", "is empty"),
        (b"x" * 5000, "over 4096 bytes"),
    ],
)
def test_bad_key_files_are_exit_2(tmp_path, case, content, said, monkeypatch):
    monkeypatch.delenv("PERISAI_PASSPHRASE")
    kf = tmp_path / "key"
    kf.write_bytes(content)
    r = run_cli("stats", str(case.root), "--key-file", str(kf))
    assert r.returncode == 2 and said in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_key_file_that_never_ends_or_is_a_folder_or_ends_in_crlf(tmp_path, case, monkeypatch):
    from conftest import PASSPHRASE

    monkeypatch.delenv("PERISAI_PASSPHRASE")
    r = run_cli("stats", str(case.root), "--key-file", "/dev/zero")  # read forever before
    assert r.returncode == 2 and "over 4096 bytes" in r.stderr
    r = run_cli("stats", str(case.root), "--key-file", str(tmp_path))
    assert r.returncode == 2 and "Is a directory" in r.stderr
    kf = tmp_path / "key"
    kf.write_bytes(PASSPHRASE.encode() + b"\r\nsecond line")
    assert run_cli("stats", str(case.root), "--key-file", str(kf)).returncode == 0


# -- misuse of read commands -----------------------------------------------------------------


def test_findings_kind_typo_is_exit_2_but_families_and_held_kinds_work(case):
    from perisai.findings import findings

    with pytest.raises(BadInput, match="unknown finding kind"):
        findings(case, "nosuchkind")
    assert findings(case, "pii") == [] and findings(case, "pii.phone") == []
    r = run_cli("findings", str(case.root), "--kind", "nosuchkind", "--json")
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1


@pytest.mark.parametrize("where", ["file/x.json", "dir.json"])
def test_report_out_blocked_by_a_file_or_folder_is_exit_2_and_logs_nothing(tmp_path, case, where):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.json").mkdir()
    before = snapshot(case.root)
    r = run_cli("report", str(case.root), "--kind", "vics", "-o", str(tmp_path / where))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "cannot write" in r.stderr or "is a folder" in r.stderr
    assert snapshot(case.root) == before


def test_an_export_folder_that_cannot_be_entered_is_bad_input(tmp_path, case, monkeypatch):
    """As root the test cannot chmod its way out, so stat raises EACCES as it would for a
    user: pathlib's is_dir()/is_file() do not swallow PermissionError (exit 3 before)."""
    from pathlib import Path

    real = Path.stat

    def denied(self, *a, **k):
        if "locked" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "stat", denied)
    with pytest.raises(BadInput, match="cannot be read: Permission denied"):
        ingest(case, tmp_path / "locked" / "export")


def test_preflight_finds_a_bad_export_before_any_case_is_touched(tmp_path):
    from perisai.ingest.telegram_export import preflight

    good = write_export(tmp_path / "good", [msg(1)])
    preflight(good)
    bad = write_export(tmp_path / "bad", [msg(1), msg(2)])
    data = (bad / "result.json").read_bytes()
    (bad / "result.json").write_bytes(data[: len(data) - 40])
    with pytest.raises(BadInput, match="truncated JSON"):
        preflight(bad)
    with pytest.raises(BadInput, match="'messages' is a number"):
        preflight(_raw_export(tmp_path / "num", {"name": "G", "id": 1, "messages": 5}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "good", "num"]


def test_victim_hash_file_with_a_frame_number_past_64_bits_is_exit_2(tmp_path, case):
    pdq = "a" * 64
    frame = {"frame": 2**70, "pdq": pdq, "quality": 100, "timestamp": 0.0}
    item = {"name": "v.mp4", "kind": "video", "sha256": "b" * 64, "md5": "c" * 32, "vpdq": [frame]}
    doc = {"format": "perisai-victim-hashes", "version": 1, "items": [item]}
    (tmp_path / "h.json").write_text(json.dumps(doc))
    before = snapshot(case.root)
    r = run_cli(
        "victim", "add", str(case.root), "--alias", "v1", "--hashes", str(tmp_path / "h.json")
    )
    assert r.returncode == 2 and "frame must be a whole number" in r.stderr, r.stderr
    assert snapshot(case.root) == before


@pytest.mark.parametrize(
    ("name", "role", "said"), [("bob", "god", "unknown role"), ("../x", "viewer", "user name")]
)
def test_user_add_names_a_bad_role_or_name_before_asking_for_a_password(
    case, monkeypatch, name, role, said
):
    monkeypatch.delenv("PERISAI_USER_PASSWORD", raising=False)
    r = run_cli("user", "add", str(case.root), name, "--role", role)
    assert r.returncode == 2 and said in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_a_message_of_many_phone_numbers_keeps_the_first_thousand_per_kind():
    """Only a crafted export holds thousands of numbers in one message (Telegram allows 4,096
    characters): findings per kind are capped, and the cut is recorded, not silent."""
    from perisai.stages.text import MAX_PER_KIND, analyse

    numbers = [f"01{2 + i % 7}-{1000000 + i * 7:07d}" for i in range(1500)]
    text = "senarai: " + " , ".join(numbers) + " emel aisyah.k@example.com"
    _, _, _, found = analyse((1, 1, text, [], "{}"))
    phones = [f for f in found if f["kind"] == "pii.phone"]
    assert len(phones) == MAX_PER_KIND == 1000
    assert phones[-1]["detail"]["truncated"]["found"] >= 1400
    assert all("truncated" not in f["detail"] for f in phones[:-1])
    assert [f for f in found if f["kind"] == "pii.email"]  # other kinds are untouched
    # an ordinary message is not affected
    _, _, _, few = analyse((2, 1, "WS 012-3456789", [], "{}"))
    assert len(few) == 1 and "truncated" not in few[0]["detail"]
