"""`perisai victim add | list | withdraw`: the victim registry (library: perisai/victims.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..cli_kit import CaseArg, Db, JsonOut, KeyFile, Who, app, emit, fail, open_case
from ..errors import PerisaiError

victim_app = typer.Typer(
    help="Registered victims: her identifiers and image hashes, matched against the case.",
    no_args_is_help=True,
)
app.add_typer(victim_app, name="victim")

Alias = Annotated[
    str, typer.Option("--alias", help="A pseudonym for her (the only thing kept in the clear).")
]


Phones = Annotated[
    list[str] | None,
    typer.Option("--phone", help="Her phone number, any common spelling. Repeatable."),
]
Handles = Annotated[
    list[str] | None,
    typer.Option("--handle", help="Her handle as platform:name, or a profile URL. Repeatable."),
]
Emails = Annotated[list[str] | None, typer.Option("--email", help="Her e-mail. Repeatable.")]
Ics = Annotated[
    list[str] | None,
    typer.Option("--ic", help="Her MyKad (IC) number, dashes optional. Repeatable."),
]


@victim_app.command("add")
def victim_add(
    case: CaseArg,
    alias: Alias,
    phone: Phones = None,
    handle: Handles = None,
    email: Emails = None,
    ic: Ics = None,
    hashes: Annotated[
        Path | None,
        typer.Option("--hashes", help="Her `perisai victim-hash` file (hashes, no pixels)."),
    ] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Register a person: identifiers kept only as keyed hashes; her media matched at once."""
    from ..victims import add_victim

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        result = add_victim(
            c, alias, phone or [], handle or [], email or [], ic or [], hashes, investigator
        )
    except PerisaiError as exc:
        fail(exc)
    n_ids = sum(result["identifiers"].values())
    h = result["hashes"]
    human = (
        f"registered victim {result['id']}: {n_ids} identifiers, {h['images']} images and "
        f"{h['videos']} videos hashed ({h['skipped']} unhashable items skipped); "
        f"{result['matches']} matches so far (run `perisai triage` to hash new media)"
    )
    emit(result, as_json, human)


@victim_app.command("list")
def victim_list(
    case: CaseArg,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """Registered people and everything matched to each (never her raw identifiers)."""
    from ..victims import list_victims

    try:
        c = open_case(case, key_file, db, create=False)
        people = list_victims(c)
    except PerisaiError as exc:
        fail(exc)
    lines = []
    for p in people:
        kinds = ", ".join(f"{i['kind']} ({i['matched_findings']})" for i in p["identifiers"])
        lines.append(
            f"{p['id']} {p['alias']!r}: identifiers {kinds or 'none'}; "
            f"{p['hashes']['images']} images, {p['hashes']['videos']} videos; "
            f"{len(p['matches'])} matches"
        )
    emit(people, as_json, "\n".join(lines) or "no registered victims")


@victim_app.command("withdraw")
def victim_withdraw(
    case: CaseArg,
    alias: Alias,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Delete her identifiers, hashes and matches from the case; the withdrawal is logged."""
    from ..victims import withdraw_victim

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        result = withdraw_victim(c, alias, investigator)
    except PerisaiError as exc:
        fail(exc)
    human = (
        f"withdrawn victim {result['id']}: {result['identifiers']} identifiers, "
        f"{result['hashes']} hashes and {result['findings']} matches deleted"
    )
    if not result["vacuumed"]:
        human += (
            "; the database could not be compacted (another process has the case open, or"
            " not SQLite): see docs/victims.md"
        )
    emit(result, as_json, human)
