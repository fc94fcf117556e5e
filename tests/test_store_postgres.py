"""The store tests on PostgreSQL: same models, same migrations, same verify.

Runs when a server answers at PERISAI_TEST_PG (default: the local one); CI sets
PERISAI_REQUIRE_PG=1 so that a missing server fails instead of skipping.
"""

from sqlalchemy import create_engine, text

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.stats import stats
from perisai.verify import verify

from helpers import msg, run_cli, write_export


def test_ingest_verify_stats_on_postgres(tmp_path, pg_url, corpus):
    case = Case.open(tmp_path / "case", db=pg_url)
    assert case.engine.dialect.name == "postgresql"
    ingest(case, next(corpus.glob("01_*.json")))
    ingest(case, next(corpus.glob("02_*.json")))
    ingest(case, next(corpus.glob("07_*.json")))
    export = write_export(tmp_path / "e", [msg(1, photo="photos/p.jpg"), msg(2)])
    (export / "photos").mkdir()
    (export / "photos" / "p.jpg").write_bytes(b"\xff\xd8\xff" + b"7" * 100)
    ingest(case, export)
    s = stats(case)
    assert s["chats"] == 3 and s["messages"] == 19 + 256 + 2 and s["media"]["unique"] == 1
    assert verify(case)["ok"]
    case.close()
    # The case remembers its database; the CLI reopens it without --db.
    r = run_cli("verify", str(tmp_path / "case"))
    assert r.returncode == 0, r.stderr
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE messages SET text = 'x' WHERE message_id = 2"))
    engine.dispose()
    r = run_cli("verify", str(tmp_path / "case"))
    assert r.returncode == 1 and "edited after ingest" in r.stdout


def test_same_export_twice_on_postgres(tmp_path, pg_url):
    case = Case.open(tmp_path / "case", db=pg_url)
    export = write_export(tmp_path / "e", [msg(i) for i in range(1, 30)])
    ingest(case, export)
    assert ingest(case, export)["unchanged"]
    assert stats(case)["exports"] == 1


def _nul_export(tmp_path):
    """Telegram writes control characters as \\xNN: a NUL in a name, a message, a chat title,
    a bot and a media path (refused as unsafe, but its occurrence is still recorded)."""
    export = write_export(
        tmp_path / "nul",
        [
            msg(1, text="a\x00b", **{"from": "Na\x00me", "from_id": "user77"}),
            msg(2, text=[{"type": "bold", "text": "x\x00"}], via_bot="@b\x00ot"),
            msg(3, photo="photos/p\x00.jpg", forwarded_from="F\x00wd"),
        ],
        name="Gr\x00oup",
    )
    return export


def _check_nul_case(case):
    from sqlalchemy import select

    from perisai.store import models as m

    with case.engine.connect() as conn:
        rows = {r.message_id: r for r in conn.execute(select(m.MESSAGES)).mappings().fetchall()}
        names = [v for (v,) in conn.execute(select(m.ACTOR_NAMES.c.value))]
        chat = conn.execute(select(m.CHATS.c.name)).scalar()
        paths = [p for (p,) in conn.execute(select(m.MEDIA_OCCURRENCES.c.export_path))]
    assert rows[1]["text"] == "a\ufffdb" and "nul_in_text" in rows[1]["flags"]
    assert "\\u0000" in rows[1]["raw"]  # the original survives in the raw JSON
    assert rows[2]["text"] == "x\ufffd" and rows[2]["via_bot"] == "@b\ufffdot"
    assert rows[3]["forwarded_from"] == "F\ufffdwd"
    assert "Na\ufffdme" in names and "b\ufffdot" in names
    assert chat == "Gr\ufffdoup" and paths == ["photos/p\ufffd.jpg"]
    assert verify(case)["ok"]


def test_nul_characters_on_postgres(tmp_path, pg_url):
    # PostgreSQL's text type cannot hold NUL: this was an internal error before.
    case = Case.open(tmp_path / "case", db=pg_url)
    assert ingest(case, _nul_export(tmp_path))["messages_new"] == 3
    _check_nul_case(case)


def test_nul_characters_on_sqlite_match(tmp_path):
    case = Case.open(tmp_path / "case")
    assert ingest(case, _nul_export(tmp_path))["messages_new"] == 3
    _check_nul_case(case)


def _text_findings(case):
    from sqlalchemy import select

    from perisai.store import models as m

    F, A, MSG = m.FINDINGS, m.ANNOTATIONS, m.MESSAGES
    with case.engine.connect() as conn:
        found = conn.execute(
            select(
                MSG.c.message_id,
                F.c.kind,
                F.c.value,
                F.c.span_start,
                F.c.span_end,
                F.c.score,
                F.c.detail,
                F.c.media_sha256,
                F.c.stage_version,
            )
            .join(MSG, MSG.c.id == F.c.message_pk)
            .order_by(F.c.id)
        ).all()
        notes = conn.execute(
            select(MSG.c.message_id, A.c.language).join(MSG, MSG.c.id == A.c.message_pk)
        ).all()
    return [tuple(r) for r in found], sorted(tuple(r) for r in notes)


def test_text_findings_by_copy_equal_sqlite(tmp_path, pg_url):
    # On PostgreSQL the text stage writes findings with COPY: same rows as SQLite's INSERTs,
    # JSON details, nulls and order included.
    from perisai.pipeline import triage
    from perisai.synth import synth

    export = tmp_path / "export"
    synth(export, messages=400, photos=0, seed=5)
    results = []
    for db in (pg_url, None):
        case = Case.open(tmp_path / f"case-{bool(db)}", db=db)
        ingest(case, export)
        triage(case, workers=1, only="text")
        results.append(_text_findings(case))
        case.close()
    (pg_found, pg_notes), (lite_found, lite_notes) = results
    assert len(pg_found) > 100 and len(pg_notes) >= 400
    assert pg_found == lite_found and pg_notes == lite_notes
