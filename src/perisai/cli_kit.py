"""What every command module shares: the Typer app, option types, errors and output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import settings
from .errors import PerisaiError

app = typer.Typer(
    name="perisai",
    help="Preserve, triage and report abusive Telegram groups as court-grade evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

CaseArg = Annotated[Path, typer.Argument(help="Case directory (created when it does not exist).")]
KeyFile = Annotated[str | None, typer.Option(settings.KEY_FILE.option, help=settings.KEY_FILE.help)]
Db = Annotated[str | None, typer.Option(settings.DB.option, help=settings.DB.help)]
Who = Annotated[
    str | None, typer.Option(settings.INVESTIGATOR.option, help=settings.INVESTIGATOR.help)
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]
ExportArg = Annotated[Path, typer.Argument(help="Export folder or its result.json.")]
TimezoneOpt = Annotated[
    str | None, typer.Option(settings.TIMEZONE.option, help=settings.TIMEZONE.help)
]


def fail(exc: PerisaiError) -> NoReturn:
    message = str(exc).replace("\n", " ")
    typer.echo(f"perisai: error: {message}", err=True)
    raise typer.Exit(exc.exit_code)


def emit(data: Any, as_json: bool, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        typer.echo(human)


def open_case(case: Path, key_file: str | None, db: str | None, create: bool = True, who=None):
    from .case import Case

    return Case.open(case, key_file=key_file, db=db, create=create, investigator=who)
