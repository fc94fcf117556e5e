"""Re-ingesting changes nothing; a later export adds, records edits and deletions."""

from sqlalchemy import select

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.stats import stats
from perisai.store import models as m
from perisai.verify import verify

from helpers import msg, run_cli, snapshot, write_export


def test_same_export_twice_changes_nothing(tmp_path):
    case = Case.open(tmp_path / "case")
    export = write_export(tmp_path / "e", [msg(i) for i in range(1, 40)])
    ingest(case, export)
    before = snapshot(case.root)
    again = ingest(case, export)
    assert again["unchanged"] and again["messages_unchanged"] == 39
    assert snapshot(case.root) == before
    r = run_cli("ingest", str(case.root), str(export), "--json")
    assert r.returncode == 0 and '"unchanged": true' in r.stdout
    assert snapshot(case.root) == before


def test_later_export_adds_edits_and_deletions(tmp_path):
    case = Case.open(tmp_path / "case")
    ingest(case, write_export(tmp_path / "a", [msg(i, text=f"m{i}") for i in range(1, 11)]))
    later = [msg(i, text=f"m{i}") for i in range(1, 11) if i not in (4, 5)]
    later[0] = msg(1, text="m1 edited", edited="2024-05-02T10:00:00")
    later += [msg(11, text="new")]
    result = ingest(case, write_export(tmp_path / "b", later))
    assert (result["messages_new"], result["messages_changed"], result["absences"]) == (1, 1, 2)
    s = stats(case)
    assert s["messages"] == 11 and s["edited_versions"] == 1 and s["deleted_since"] == 2
    with case.engine.connect() as conn:
        versions = conn.execute(
            select(m.Message.version, m.Message.text).where(m.Message.message_id == 1)
        ).all()
        gone = conn.execute(select(m.MessageAbsence.message_id)).scalars().all()
    assert sorted(versions) == [(1, "m1"), (2, "m1 edited")]
    assert sorted(gone) == [4, 5]
    assert verify(case)["ok"]


def test_absence_only_inside_the_new_exports_range(tmp_path):
    case = Case.open(tmp_path / "case")
    ingest(case, write_export(tmp_path / "a", [msg(i) for i in range(1, 21)]))
    # A date-limited later export of messages 15..25 says nothing about 1..14.
    result = ingest(case, write_export(tmp_path / "b", [msg(i) for i in range(15, 26)]))
    assert result["absences"] == 0 and result["messages_new"] == 5
