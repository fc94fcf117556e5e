"""Hostile and broken exports: a clear error or a recorded rejection, never a half-written case."""

import os

import pytest
from sqlalchemy import select

from perisai.case import Case
from perisai.errors import BadInput
from perisai.ingest.telegram_export import ingest
from perisai.stats import stats
from perisai.store import models as m
from perisai.verify import verify

from helpers import msg, run_cli, snapshot, write_export

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 64 + b"\xff\xd9"
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d1c0d70000000049454e44ae426082"
)


@pytest.fixture
def case(tmp_path):
    c = Case.open(tmp_path / "case")
    ingest(c, write_export(tmp_path / "first", [msg(1), msg(2)]))
    return c


def _occurrences(case):
    with case.engine.connect() as conn:
        return {
            r.export_path: r for r in conn.execute(select(m.MediaOccurrence.__table__)).mappings()
        }


def test_truncated_json_names_file_and_offset_and_changes_nothing(tmp_path, case):
    before = snapshot(case.root)
    export = write_export(tmp_path / "trunc", [msg(i) for i in range(3, 50)])
    data = (export / "result.json").read_bytes()
    (export / "result.json").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput, match=r"result\.json.*truncated.*byte \d+"):
        ingest(case, export)
    assert snapshot(case.root) == before


def test_malformed_json_names_the_byte_offset(tmp_path, case):
    before = snapshot(case.root)
    export = write_export(tmp_path / "bad", [msg(3), msg(4)])
    text = (export / "result.json").read_text()
    broken = text.replace('"id": 4,', '"id": 4,,', 1)
    (export / "result.json").write_text(broken)
    offset = broken.encode().index(b",,") + 1
    with pytest.raises(BadInput) as err:
        ingest(case, export)
    assert f"byte {offset}" in str(err.value) and "result.json" in str(err.value)
    assert snapshot(case.root) == before


def test_cli_exit_2_with_one_line(tmp_path, case):
    export = write_export(tmp_path / "bad", [msg(3)])
    (export / "result.json").write_text('{"name": "x", "messages": [{"id": 1,')
    r = run_cli("ingest", str(case.root), str(export))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "result.json" in r.stderr and "byte" in r.stderr
    assert r.stdout == ""


def test_x_escapes_are_ingested(tmp_path, case):
    export = write_export(tmp_path / "esc", [msg(3, text="PLACEHOLDER")])
    raw = (export / "result.json").read_text().replace("PLACEHOLDER", "bell\\x07 and \\\\x41")
    (export / "result.json").write_text(raw)
    result = ingest(case, export)
    assert result["fixed_escapes"] == 1
    with case.engine.connect() as conn:
        text = conn.execute(select(m.Message.text).where(m.Message.message_id == 3)).scalar()
    assert text == "bell\x07 and \\x41"


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("../outside.jpg", "leaves the export"),
        ("photos/../../outside.jpg", "leaves the export"),
        ("/etc/passwd", "absolute"),
        ("C:\\Windows\\win.ini", "absolute"),
        ("photos/link.jpg", "symlink"),
    ],
)
def test_paths_leaving_the_export_are_refused_and_never_read(tmp_path, case, ref, reason):
    (tmp_path / "outside.jpg").write_bytes(JPEG)
    export = write_export(tmp_path / "evil", [msg(3, photo=ref)])
    (export / "photos").mkdir()
    os.symlink(tmp_path / "outside.jpg", export / "photos" / "link.jpg")
    result = ingest(case, export)
    assert result["media_refused"] == 1 and result["media_files_new"] == 0
    occ = _occurrences(case)[ref]
    assert occ["status"] == "refused" and reason in occ["reason"]
    assert any("refused" in w for w in result["warnings"])


def test_awkward_but_legal_names_work(tmp_path, case):
    name = "files/Senarai nama, alamat & nombor — Ogos 2020 (1).jpg"
    export = write_export(tmp_path / "names", [msg(3, file=name, mime_type="image/jpeg")])
    (export / "files").mkdir()
    (export / name).write_bytes(JPEG)
    result = ingest(case, export)
    assert result["media_present"] == 1
    assert _occurrences(case)[name]["status"] == "present"
    assert verify(case)["ok"]


def test_odd_messages_are_kept_and_flagged(tmp_path, case):
    odd = [
        msg(3),
        msg(3, text="same id again"),
        msg(-7, text="from the migrated basic group"),
        {"id": 8, "type": "unsupported"},
        msg(9, **{"from": None}),
        msg(10, date_unixtime="0"),
        msg(11, date_unixtime="not a time", date="garbage"),
        "not an object",
    ]
    ingest(case, write_export(tmp_path / "odd", odd))
    with case.engine.connect() as conn:
        rows = {
            (r.message_id, r.dup_index): r
            for r in conn.execute(select(m.Message.__table__)).mappings()
        }
    assert "duplicate_id" in rows[(3, 1)]["flags"]
    assert "negative_id_migrated_group" in rows[(-7, 0)]["flags"]
    assert "type_unsupported" in rows[(8, 0)]["flags"]
    assert "deleted_account" in rows[(9, 0)]["flags"] and rows[(9, 0)]["sender_id"] is not None
    assert "bad_date_unixtime" in rows[(10, 0)]["flags"]
    assert rows[(10, 0)]["date_utc"] is not None  # fell back to the local date
    assert {"bad_date", "bad_date_unixtime"} <= set(rows[(11, 0)]["flags"])
    assert rows[(11, 0)]["date_utc"] is None
    assert "not_an_object" in rows[(0, 0)]["flags"]
    assert verify(case)["ok"]


def test_zero_byte_and_lying_files(tmp_path, case):
    export = write_export(
        tmp_path / "files",
        [msg(3, photo="photos/empty.jpg"), msg(4, photo="photos/really_png.jpg")],
    )
    (export / "photos").mkdir()
    (export / "photos" / "empty.jpg").write_bytes(b"")
    (export / "photos" / "really_png.jpg").write_bytes(PNG_1x1)
    ingest(case, export)
    occ = _occurrences(case)
    assert occ["photos/empty.jpg"]["status"] == "empty"
    lying = occ["photos/really_png.jpg"]
    assert lying["status"] == "present" and "image/png" in lying["reason"]
    with case.engine.connect() as conn:
        media = conn.execute(select(m.MediaFile.__table__).where(m.MediaFile.size > 0)).one()
    assert media.mime == "image/png" and (media.width, media.height) == (1, 1)
    assert verify(case)["ok"]


def test_not_an_export(tmp_path, case):
    (tmp_path / "array.json").write_text("[1, 2, 3]")
    with pytest.raises(BadInput, match="not a Telegram Desktop export"):
        ingest(case, tmp_path / "array.json")
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "messages.html").write_text("<html></html>")
    with pytest.raises(BadInput, match="HTML export"):
        ingest(case, tmp_path / "html")
    with pytest.raises(BadInput, match="does not exist"):
        ingest(case, tmp_path / "nowhere")


def test_invalid_utf8_is_a_clear_error(tmp_path, case):
    before = snapshot(case.root)
    export = write_export(tmp_path / "utf", [msg(3, text="XX")])
    raw = (export / "result.json").read_bytes().replace(b"XX", b"\xff\xfe")
    (export / "result.json").write_bytes(raw)
    with pytest.raises(BadInput, match="result.json"):
        ingest(case, export)
    assert snapshot(case.root) == before


def test_failed_ingest_removes_the_blobs_it_added(tmp_path, case):
    before = snapshot(case.root)
    export = write_export(
        tmp_path / "half", [msg(3, photo="photos/a.jpg")] + [msg(i) for i in range(4, 3000)]
    )
    (export / "photos").mkdir()
    (export / "photos" / "a.jpg").write_bytes(JPEG)
    data = (export / "result.json").read_bytes()
    (export / "result.json").write_bytes(data[:-200])  # media stored before the error
    with pytest.raises(BadInput):
        ingest(case, export)
    assert snapshot(case.root) == before
    assert stats(case)["messages"] == 2


def test_deep_nesting_is_refused_before_it_eats_memory(tmp_path, case):
    before = snapshot(case.root)
    export = tmp_path / "deep"
    export.mkdir()
    depth = 100_000  # ijson alone would need tens of gigabytes for this
    (export / "result.json").write_text(
        '{"name":"x","type":"private_group","id":5,"messages":[{"id":1,"type":"message",'
        '"date":"2020-01-01T00:00:00","text":' + "[" * depth + "]" * depth + "}]}"
    )
    with pytest.raises(BadInput, match="nested deeper than"):
        ingest(case, export)
    assert snapshot(case.root) == before


def test_brackets_and_escaped_quotes_inside_strings_are_not_nesting(tmp_path, case):
    tricky = "[[[[{{{{" * 40 + ' \\" ]]] "quoted" \\\\'
    result = ingest(case, write_export(tmp_path / "t", [msg(3, text=tricky), msg(4)]))
    assert result["messages_new"] == 2


def test_huge_integers_are_a_clear_error(tmp_path, case):
    export = tmp_path / "big"
    export.mkdir()
    (export / "result.json").write_text(
        '{"name":"x","type":"private_group","id":5,"messages":[{"id":' + "9" * 40 + "}]}"
    )
    with pytest.raises(BadInput, match="result.json"):
        ingest(case, export)


def test_ingest_hands_back_the_garbage_collector_as_it_found_it(tmp_path, case):
    """Ingest freezes long-lived objects for speed; a good or failed ingest unfreezes them."""
    import gc

    assert gc.get_freeze_count() == 0
    ingest(case, write_export(tmp_path / "good", [msg(3), msg(4)]))
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    export = write_export(tmp_path / "trunc", [msg(i) for i in range(5, 40)])
    data = (export / "result.json").read_bytes()
    (export / "result.json").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput):
        ingest(case, export)
    assert gc.get_freeze_count() == 0 and gc.isenabled()
