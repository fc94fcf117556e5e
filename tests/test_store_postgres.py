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
