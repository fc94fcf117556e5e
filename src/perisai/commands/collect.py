"""`perisai collect`: live, read-only collection of a group with Telethon (perisai/collect/)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from ..cli_kit import CaseArg, Db, JsonOut, KeyFile, Who, app, emit, fail, open_case
from ..errors import BadInput, PerisaiError

ChatOpt = Annotated[
    str,
    typer.Option("--chat", help="@name, t.me/name, t.me/+invite (already joined) or -100... id."),
]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only messages from this date on (YYYY-MM-DD, UTC)."),
]
MediaOpt = Annotated[str, typer.Option("--media", help="Media to download: none, photos or all.")]
MaxSizeOpt = Annotated[
    float, typer.Option("--max-file-size", help="Largest file to download, in MB.")
]
MetaOpt = Annotated[
    bool,
    typer.Option(
        "--metadata-only", help="Hash media on arrival and keep no bytes (CSAM-heavy groups)."
    ),
]
ApiIdOpt = Annotated[
    int | None,
    typer.Option("--api-id", help="Telegram API id (or PERISAI_TG_API_ID)."),
]
ApiHashOpt = Annotated[
    str | None,
    typer.Option("--api-hash", help="Telegram API hash (or PERISAI_TG_API_HASH)."),
]
FloodOpt = Annotated[
    int,
    typer.Option(
        "--flood-budget", help="Seconds of FloodWait to sit through before stopping the chat."
    ),
]


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--since {value!r}: use YYYY-MM-DD") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _credentials(api_id: int | None, api_hash: str | None) -> tuple[int, str]:
    raw_id = api_id if api_id is not None else os.environ.get("PERISAI_TG_API_ID")
    key = api_hash or os.environ.get("PERISAI_TG_API_HASH")
    if not raw_id or not key:
        raise BadInput(
            "Telegram API credentials missing: give --api-id and --api-hash (or set "
            "PERISAI_TG_API_ID / PERISAI_TG_API_HASH); get them at my.telegram.org"
        )
    try:
        return int(raw_id), key
    except ValueError:
        raise BadInput("--api-id must be a number") from None


def _ask(prompt: str, secret: bool) -> str:
    return str(typer.prompt(prompt, hide_input=secret, err=True))


@app.command("collect")
def collect_cmd(
    case: CaseArg,
    chat: ChatOpt,
    since: SinceOpt = None,
    media: MediaOpt = "photos",
    max_file_size: MaxSizeOpt = 50.0,
    metadata_only: MetaOpt = False,
    api_id: ApiIdOpt = None,
    api_hash: ApiHashOpt = None,
    flood_budget: FloodOpt = 900,
    key_file: KeyFile = None,
    db: Db = None,
    who: Who = None,
    json_out: JsonOut = False,
) -> None:
    """Collect a group you are a member of, read-only, into the case (incremental)."""
    try:
        from ..collect.client import SESSION_FILE, connect, parse_chat, require_telethon

        require_telethon()
        from ..collect.collector import Options, collect

        parse_chat(chat)
        opts = Options(
            since=_since(since),
            media=media,
            max_file_mb=max_file_size,
            metadata_only=metadata_only,
            flood_budget_s=flood_budget,
        )
        opts.check()
        ident, secret = _credentials(api_id, api_hash)
        c = open_case(case, key_file, db, create=True, who=who)
        client, close = connect(
            c.root / SESSION_FILE, c.keys.purpose("telegram-session"), ident, secret, _ask
        )
        try:
            result = collect(c, client, chat, opts, progress=_progress, who=who)
        finally:
            close()
    except PerisaiError as exc:
        fail(exc)
    sys.stderr.write("\n")
    for warning in result.get("warnings", []):
        typer.echo(f"perisai: warning: {warning}", err=True)
    if result.get("unchanged"):
        human = f"nothing new in {chat} ({result.get('checked_ids', 0)} known ids checked)"
    else:
        human = (
            f"collection {result['export_id']}: {result['messages_new']} new, "
            f"{result['messages_changed']} changed, {result['absences']} deleted since, "
            f"{result['download_downloaded']} files downloaded "
            f"({result['download_failed']} failed, {result['download_failed_protected']} "
            f"on protected content); last id {result['last_id']}"
        )
        if result.get("stopped"):
            human += f"; stopped early: {result['stopped']} (run again to resume)"
    emit(result, json_out, human)


def _progress(line: str) -> None:
    sys.stderr.write("\r\x1b[2K" + line if sys.stderr.isatty() else line + "\n")
    sys.stderr.flush()
