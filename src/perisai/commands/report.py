"""`perisai report`: police, victims, takedown, VICS and NCMEC reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..cli_kit import CaseArg, Db, JsonOut, KeyFile, Who, app, emit, fail, open_case
from ..errors import PerisaiError


@app.command()
def report(
    case: CaseArg,
    kind: Annotated[str, typer.Option("--kind", help="police, victims, takedown, vics or ncmec.")],
    out: Annotated[
        Path,
        typer.Option(
            "-o",
            "--out",
            help="A .html/.pdf/.json/.xml file, or a folder (HTML reports: both HTML and PDF).",
        ),
    ],
    include_identities: Annotated[
        bool,
        typer.Option(
            "--include-identities",
            help="Police report: show victims' identifiers unmasked (default: masked).",
        ),
    ] = False,
    category_map: Annotated[
        Path | None,
        typer.Option(
            "--category-map",
            help="VICS: JSON or TOML file mapping our categories to VICS codes (null: none).",
        ),
    ] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Write a report: police case report, caseworkers' dossiers, takedown list, VICS, NCMEC."""
    from ..reports import describe, render

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        paths = render(
            c,
            kind,
            out,
            include_identities=include_identities,
            who=investigator,
            category_map=category_map,
        )
    except PerisaiError as exc:
        fail(exc)
    files = describe(paths)
    human = "\n".join(f"{f['path']}  sha256 {f['sha256']}  {f['size']} bytes" for f in files)
    emit({"kind": kind, "files": files}, as_json, human)
