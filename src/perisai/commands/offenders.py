"""`perisai offenders` and `perisai network`: offender profiles (allegations) and graphs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..cli_kit import CaseArg, Db, JsonOut, KeyFile, app, emit, fail, open_case
from ..errors import BadInput, PerisaiError
from .atrisk import plain


def _line(p: dict[str, Any]) -> str:
    name = next((n["value"] for n in reversed(p["names"]) if n["kind"] == "display_name"), "")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(p["findings"].items()))
    roles = sorted({r["role"] for r in p["roles"]})
    return (
        f"{p['tg_id']:>12}  {plain(name)[:28]:<28} harm {p['harm_score']:>7.2f}  "
        f"{p['messages']:>5} msgs  media first {p['media']['first_posted']}, "
        f"reposted {p['media']['reposted']}"
        + (f"  roles: {', '.join(roles)}" if roles else "")
        + (f"\n{'':>14}{kinds}" if kinds else "")
    )


@app.command()
def offenders(
    case: CaseArg,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the N highest harm scores.")
    ] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """Offender profiles by numeric Telegram id (allegations, with their sources)."""
    from ..analysis.offenders import profiles

    try:
        result = profiles(open_case(case, key_file, db, create=False))
    except PerisaiError as exc:
        fail(exc)
    if limit is not None:
        result = result[:limit]
    human = "Allegations, not findings of fact; sources in --json.\n" + "\n".join(
        _line(p) for p in result
    )
    emit(result, as_json, human if result else "no senders with a numeric Telegram id")


@app.command()
def network(
    case: CaseArg,
    kind: Annotated[str, typer.Option("--kind", help="recruitment or chats.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="FILE.graphml or FILE.gexf.")],
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """Recruitment (inviter to joiner) or chat network (links, forwards, backups) for Gephi."""
    from ..analysis.network import chat_graph, recruitment_graph, write_graph

    try:
        build = {"recruitment": recruitment_graph, "chats": chat_graph}.get(kind)
        if build is None:
            raise BadInput(f"unknown network kind {kind!r}: choose recruitment or chats")
        if out.suffix.lower() not in (".graphml", ".gexf"):
            raise BadInput(f"{out}: choose a .graphml or .gexf file name")
        result = write_graph(build(open_case(case, key_file, db, create=False)), out)
    except PerisaiError as exc:
        fail(exc)
    emit(result, as_json, f"{result['nodes']} nodes, {result['edges']} edges: {result['path']}")
