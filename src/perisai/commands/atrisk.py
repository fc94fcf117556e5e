"""`perisai atrisk list|status`: the at-risk register and caseworkers' outreach statuses."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

import typer

from ..cli_kit import CaseArg, Db, JsonOut, KeyFile, Who, app, emit, fail, open_case
from ..errors import PerisaiError

atrisk_app = typer.Typer(
    help="People exposed in the chats, and outreach to them.", no_args_is_help=True
)
app.add_typer(atrisk_app, name="atrisk")


def plain(text: Any) -> str:
    """Text safe for a terminal: control and bidi-format characters shown as escapes."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in str(text)
    )


def _row(p: dict[str, Any]) -> str:
    idents = "; ".join(plain(i["value"]) for i in p["identifiers"])
    return (
        f"{p['id']:>5}  {p['status']:<14} {p['dox_score']:>5.2f} {p['occurrences']:>5}  "
        f"{p['first_seen'] or '-':<20}  {idents}"
    )


@atrisk_app.command("list")
def atrisk_list(
    case: CaseArg,
    min_score: Annotated[
        float, typer.Option("--min-score", help="Only people with a dox score at least this.")
    ] = 0.0,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """People exposed in the chats (identifiers posted together merged), with outreach status."""
    from ..analysis.atrisk import at_risk

    try:
        result = at_risk(open_case(case, key_file, db, create=False), min_score=min_score)
    except PerisaiError as exc:
        fail(exc)
    header = (
        f"{'id':>5}  {'status':<14} {'score':>5} {'seen':>5}  {'first seen (UTC)':<20}  identifiers"
    )
    human = "\n".join([header, *(_row(p) for p in result)]) if result else "nobody at risk found"
    emit(result, as_json, human)


@atrisk_app.command("status")
def atrisk_status(
    case: CaseArg,
    person: Annotated[int, typer.Argument(help="The person's id from `perisai atrisk list`.")],
    status: Annotated[
        str,
        typer.Option(
            "--set", help="not_contacted, contacted, police_report (police report made), closed."
        ),
    ],
    note: Annotated[str | None, typer.Option("--note", help="A short note for the record.")] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Set a person's outreach status (stored per identifier, logged)."""
    from ..analysis.atrisk import set_status

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        result = set_status(c, person, status, note, investigator)
    except PerisaiError as exc:
        fail(exc)
    emit(result, as_json, f"person {result['id']}: {result['status']}")
