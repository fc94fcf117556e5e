"""The CLI reference is generated from the code and must be current."""

from pathlib import Path

import typer

from perisai.cli import app
from perisai.docgen import render
from perisai.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current():
    assert (ROOT / "docs" / "cli.md").read_text() == render(), "run `make docs`"


def test_every_command_and_setting_is_documented():
    text = (ROOT / "docs" / "cli.md").read_text()
    from perisai.docgen import _commands

    commands = _commands(typer.main.get_command(app), "")
    assert {"hashlist import", "victim-hash", "triage", "findings"} <= {n for n, _ in commands}
    for name, cmd in commands:
        assert f"## `perisai {name}`" in text
        assert cmd.help, f"{name} has no help text"
    for setting in SETTINGS:
        assert setting.env in text


def test_readme_promises_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme and "perisai scan" in readme
