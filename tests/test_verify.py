"""verify catches a flipped blob byte, a removed or edited custody event, an edited message."""

import sqlite3

import pytest

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.verify import verify

from helpers import msg, run_cli, write_export

JPEG = bytes.fromhex("ffd8ffe000104a464946000101") + b"\x11" * 300 + b"\xff\xd9"


@pytest.fixture
def case(tmp_path):
    c = Case.open(tmp_path / "case")
    export = write_export(
        tmp_path / "exp", [msg(1, photo="photos/p.jpg"), msg(2, text="second"), msg(3)]
    )
    (export / "photos").mkdir()
    (export / "photos" / "p.jpg").write_bytes(JPEG)
    ingest(c, export)
    ingest(c, write_export(tmp_path / "exp2", [msg(1), msg(2, text="second"), msg(4)]))
    return c


def _sql(case, statement):
    con = sqlite3.connect(case.root / "perisai.db")
    con.execute(statement)
    con.commit()
    con.close()


def test_untouched_case_passes_from_the_cli(case):
    assert verify(case)["ok"]
    r = run_cli("verify", str(case.root))
    assert r.returncode == 0 and r.stdout.startswith("OK")


def test_flipped_byte_in_a_blob(case):
    blob = next(p for p in (case.root / "vault").rglob("*") if p.is_file())
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0x40
    blob.write_bytes(bytes(data))
    result = verify(case)
    assert not result["ok"] and blob.name in result["problems"][0]
    r = run_cli("verify", str(case.root))
    assert r.returncode == 1 and blob.name in r.stdout


def test_removed_event_in_the_middle(case):
    _sql(case, "DELETE FROM custody_events WHERE seq = 2")
    problems = verify(case)["problems"]
    assert "custody event 2 is missing" in problems[0]


def test_removed_last_event(case):
    _sql(case, "DELETE FROM custody_events WHERE seq = (SELECT max(seq) FROM custody_events)")
    problems = verify(case)["problems"]
    assert any("custody.head" in p for p in problems)


def test_edited_event(case):
    _sql(case, "UPDATE custody_events SET actor = 'someone else' WHERE seq = 2")
    assert "custody event 2 (ingest) was edited" in verify(case)["problems"][0]


def test_rebuilt_chain_without_the_key_is_caught(case):
    from perisai import custody

    con = sqlite3.connect(case.root / "perisai.db")
    rows = con.execute(
        "SELECT seq, time_utc, actor, action, tool_version, body, prev_sha256 "
        "FROM custody_events ORDER BY seq"
    ).fetchall()
    prev = custody.GENESIS
    for seq, time_utc, _, action, tool, body, _ in rows:
        sha = custody._event_hash(prev, seq, time_utc, "forger", action, tool, body)
        con.execute(
            "UPDATE custody_events SET actor='forger', prev_sha256=?, sha256=? WHERE seq=?",
            (prev, sha, seq),
        )
        prev = sha
    con.commit()
    con.close()
    assert "not made with this case key" in verify(case)["problems"][0]


def test_edited_message_text_is_named(case):
    _sql(case, "UPDATE messages SET text = 'innocent' WHERE message_id = 2")
    problem = verify(case)["problems"][0]
    assert "message 2" in problem and "edited after ingest" in problem


def test_edited_message_with_rehashed_row_is_still_caught(case):
    from perisai.store.rowhash import message_row_sha256

    con = sqlite3.connect(case.root / "perisai.db")
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM messages WHERE message_id = 3").fetchone())
    con.close()
    row["text"] = "innocent"
    # Same column types as SQLAlchemy reads them back.
    case_rows = None
    with case.engine.connect() as conn:
        from sqlalchemy import select

        from perisai.store import models as m

        case_rows = dict(
            conn.execute(select(m.Message.__table__).where(m.Message.message_id == 3))
            .mappings()
            .first()
        )
    case_rows["text"] = "innocent"
    _sql(
        case,
        f"UPDATE messages SET text='innocent', row_sha256='{message_row_sha256(case_rows)}'"
        " WHERE message_id = 3",
    )
    problems = verify(case)["problems"]
    assert any("messages differ from what custody event" in p for p in problems)
    assert not any("edited after ingest" in p for p in problems)


def test_deleted_message_row_is_caught(case):
    _sql(case, "DELETE FROM messages WHERE message_id = 4")
    assert not verify(case)["ok"]
