"""The CLI contract (interfaces.md): bad usage is exit 2 with one line on stderr, like bad input;
a command that would create a case for one bad export leaves no case behind."""

import json

import pytest

from helpers import msg, run_cli, write_export


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["report", "{case}"], "Missing option '--kind'"),
        (["offenders", "{case}", "--limit", "-1"], "Invalid value for '--limit'"),
        (["stats"], "Missing argument 'case'"),
        (["stats", "{case}", "--bogus"], "No such option: --bogus"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
        (["triage", "{case}", "--workers", "two"], "--workers"),
    ],
)
def test_bad_usage_is_exit_2_and_one_line(tmp_path, args, says):
    case = str(tmp_path / "case")
    r = run_cli(*[a.format(case=case) for a in args])
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perisai: error: "), r.stderr
    assert says in lines[0] and r.stdout == ""
    assert not (tmp_path / "case").exists()


def test_help_and_version_still_work():
    r = run_cli("stats", "--help")
    assert r.returncode == 0 and "--json" in r.stdout and r.stderr == ""
    r = run_cli("version")
    assert r.returncode == 0 and r.stdout.strip()


@pytest.mark.parametrize("command", ["ingest", "scan"])
def test_a_bad_export_leaves_no_new_case(tmp_path, command):
    export = write_export(tmp_path / "bad", [msg(i) for i in range(1, 40)])
    data = (export / "result.json").read_bytes()
    (export / "result.json").write_bytes(data[: len(data) // 2])
    r = run_cli(command, str(tmp_path / "case"), str(export))
    assert r.returncode == 2 and "truncated JSON" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "case").exists()


def test_a_bad_export_into_an_existing_case_changes_nothing_and_is_not_parsed_twice(
    tmp_path, monkeypatch
):
    from perisai import cli

    good = write_export(tmp_path / "good", [msg(1), msg(2)])
    r = run_cli("ingest", str(tmp_path / "case"), str(good), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["messages_new"] == 2
    # An existing case needs no pre-check: its ingest is one transaction.
    calls = []
    monkeypatch.setattr("perisai.ingest.telegram_export.preflight", calls.append)
    cli._preflight_for_new_case(tmp_path / "case", good)
    assert calls == []
    cli._preflight_for_new_case(tmp_path / "other", good)
    assert calls == [good]
