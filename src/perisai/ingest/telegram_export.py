"""Ingest a Telegram Desktop JSON export (single chat or full account) as one transaction.

Either the whole export lands, with its custody event, or nothing does: a parse error or any
other failure rolls the database back and removes vault blobs this run added.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ijson
from sqlalchemy import insert, text, update

from .. import __version__, settings
from ..case import Case
from ..errors import BadInput
from ..store import models as m
from ..store.digests import export_digests
from ..store.rowhash import canonical
from . import jsonstream
from .normalize import Clock, parse_timezone
from .writer import Writer

Progress = Callable[[int, int], None]


_END = object()


class _Unchanged(Exception):
    """Raised inside the transaction to roll back an ingest that would add nothing."""


def locate(export: Path) -> tuple[Path, Path]:
    """(result.json, export root) for a folder or a result.json path."""
    try:
        return _locate(export)
    except OSError as exc:  # a folder we may not enter: is_dir()/is_file() raise EACCES
        raise BadInput(f"{export}: cannot be read: {exc.strerror or exc}") from None


def preflight(export: Path | str) -> None:
    """Everything about an export that can be wrong before a case is touched: where it is,
    its encoding, its shape, and one full parse (yajl: about a second per 100 MB). A command
    that would create a case calls this first, so a bad export leaves no empty case behind."""
    result_path, _ = locate(Path(export))
    jsonstream.check_encoding(result_path)
    _shape(result_path)
    jsonstream.parse_through(result_path)


def _locate(export: Path) -> tuple[Path, Path]:
    if export.is_dir():
        candidate = export / "result.json"
        if not candidate.is_file():
            if (export / "messages.html").exists() or (export / "export_results.html").exists():
                raise BadInput(
                    f"{export} is an HTML export, which carries no ids: export again as "
                    "'Machine-readable JSON'"
                )
            raise BadInput(f"{export} has no result.json: is it a Telegram Desktop export?")
        export = candidate
    elif not export.exists():
        raise BadInput(f"{export} does not exist")
    if not export.is_file():  # a FIFO would block the reader forever; a device never ends
        raise BadInput(f"{export} is not a regular file (a pipe, socket or device?)")
    return export, export.parent.resolve()


def _shape(path: Path) -> tuple[str, dict[str, Any]]:
    head = jsonstream.top_level(path, ("messages", *jsonstream.SECTIONS))
    stopped = head.pop("_stopped_at", None)
    kind = head.pop("_stopped_kind", None)
    if stopped == "messages":
        jsonstream.check_messages_kind(path, kind)
    if stopped in jsonstream.SECTIONS:
        return "full_account", head
    if stopped == "messages" or ("id" in head and "type" in head):
        if "id" not in head:
            head = jsonstream.top_level(path, ())
            head.pop("_stopped_at", None)
            head.pop("_stopped_kind", None)
        return "single_chat", head
    raise BadInput(f"{path}: not a Telegram Desktop export (no 'messages' and no 'chats' list)")


@contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """Keep the collector's full passes off what existed before ingest (modules, SQLAlchemy's
    metadata...). Ingest makes a few dozen container objects per message, so the collector runs
    often, and each full pass walked every one of those old objects again: about 15% of
    ingest's time (benchmarks/README.md). Frozen objects are only skipped, never freed early;
    `gc.unfreeze` hands them back afterwards, so the process is as before."""
    if gc.get_freeze_count():  # a caller froze already: leave their choice alone
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def ingest(
    case: Case,
    export: Path | str,
    timezone: str | None = None,
    progress: Progress | None = None,
    who: str | None = None,
) -> dict[str, Any]:
    result_path, root = locate(Path(export))
    jsonstream.check_encoding(result_path)
    given = parse_timezone(timezone) if timezone else None
    shape, header = _shape(result_path)
    account = jsonstream.account_chats(result_path) if shape == "full_account" else []
    total = result_path.stat().st_size
    clock = Clock(given)
    writer: Writer | None = None
    try:
        with _long_lived_frozen(), case.begin() as conn:
            if conn.dialect.name == "postgresql":
                # One ingest at a time per database: primary keys are allocated in Python.
                conn.execute(text("SELECT pg_advisory_xact_lock(7461626)"))
            export_id = conn.execute(
                insert(m.EXPORTS).values(
                    ingested_utc=datetime.now(UTC).replace(tzinfo=None),
                    source_path=settings.shown_path(result_path),
                    result_sha256="",
                    manifest_sha256="",
                    shape=shape,
                    timezone=timezone,
                    timezone_source="given" if given else "none",
                    tool_version=__version__,
                    counts={},
                    warnings=[],
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            writer = Writer(conn, case.vault, export_id, root, clock)
            fh, reader = jsonstream.open_stream(result_path)
            with fh:
                try:
                    if shape == "single_chat":
                        chats = [_single(writer, reader, header, progress, total)]
                    else:
                        chats = _account(writer, result_path, account, progress, total)
                except ijson.JSONError as exc:
                    raise jsonstream.describe_error(result_path, exc, reader.consumed) from None
                result_sha = reader.finish()
            writer.write_names()
            t = writer.totals
            if not (t["messages_new"] or t["messages_changed"] or t["absences"]):
                raise _Unchanged
            summary = _finish(case, conn, writer, export_id, result_path, result_sha, chats, who)
            summary["fixed_escapes"] = reader.fixed_escapes
    except _Unchanged:
        assert writer is not None
        return {"unchanged": True, "export": str(result_path), "chats": chats, **writer.totals}
    except BaseException as exc:
        if writer is not None:
            for sha in writer.new_blobs:
                case.vault.remove(sha)
        if isinstance(exc, BadInput) and str(result_path) not in str(exc):
            raise BadInput(f"{result_path}: {exc}") from None  # say which file
        raise
    return summary


def _single(writer: Writer, reader: Any, header: dict, progress: Progress | None, total: int):
    state = writer.open_chat(header)
    for n, msg in enumerate(jsonstream.items(reader, "messages.item"), 1):
        writer.add(state, msg)
        if progress and n % 5000 == 0:
            progress(reader.consumed, total)
    if progress:
        progress(total, total)
    return writer.close_chat(state)


def _account(writer: Writer, path: Path, account: list, progress: Progress | None, total: int):
    chats = []
    for section in jsonstream.SECTIONS:
        headers = [c for c in account if c["section"] == section]
        if not headers:
            continue
        fh, reader = jsonstream.open_stream(path)
        with fh:
            stream = jsonstream.items(reader, f"{section}.list.item.messages.item")
            for header in headers:
                state = writer.open_chat(header)
                for _ in range(header["messages"]):
                    item = next(stream, _END)
                    if item is _END:  # the two passes disagree: never shift messages
                        raise BadInput(f"{path}: chat {header.get('id')!r:.40} ends early")
                    writer.add(state, item)
                    if progress and writer.totals["messages_new"] % 5000 == 0:
                        progress(reader.consumed, total)
                info = writer.close_chat(state)
                info["section"] = section
                chats.append(info)
    return chats


def _warnings(writer: Writer, clock: Clock, chats: list[dict], shape: str) -> list[str]:
    out = []
    if "local+assumed" in clock.used:
        out.append(
            "some messages have no date_unixtime and no --timezone was given: their UTC times "
            "assume the exporting computer ran on UTC (marked local+assumed); ingest again "
            "into a new case with --timezone to fix"
        )
    if shape == "full_account":
        for c in chats:
            if c.get("type") not in ("personal_chat", "saved_messages", "bot_chat") and (
                c.get("senders", 0) == 1 and c.get("messages", 0) > 1
            ):
                out.append(
                    f"chat {c['chat_id']} ({c.get('name')}) has one sender: the export may hold "
                    "only the exporter's own messages ('include all messages' not ticked?)"
                )
    if writer.refusals:
        out.append(
            f"{len(writer.refusals)} media paths refused as unsafe, e.g. " + writer.refusals[0]
        )
    return out


def _finish(case, conn, writer: Writer, export_id: int, path: Path, result_sha: str, chats, who):
    manifest = hashlib.sha256(
        canonical({"result.json": result_sha, "media": sorted(writer.manifest)}).encode()
    ).hexdigest()
    clock = writer.clock
    tz_source = "given" if clock.given else ("inferred" if "local+inferred" in clock.used else "")
    tz_source = tz_source or ("assumed" if "local+assumed" in clock.used else "unixtime")
    shape = "full_account" if any("section" in c for c in chats) else "single_chat"
    warnings = _warnings(writer, clock, chats, shape)
    counts = dict(writer.totals)
    conn.execute(
        update(m.EXPORTS)
        .where(m.EXPORTS.c.id == export_id)
        .values(
            result_sha256=result_sha,
            manifest_sha256=manifest,
            timezone_source=tz_source,
            counts=counts,
            warnings=warnings,
        )
    )
    body = {
        "export_id": export_id,
        "source_path": settings.shown_path(path),
        "result_sha256": result_sha,
        "manifest_sha256": manifest,
        "shape": shape,
        "timezone": str(clock.given) if clock.given else None,
        "timezone_source": tz_source,
        "counts": counts,
        "chats": chats,
        "refused_media": writer.refusals[:1000],
        "digests": export_digests(conn, export_id, writer.messages_digest.hexdigest()),
    }
    event = case.log(conn, "ingest", body, who)
    return {
        "unchanged": False,
        "export_id": export_id,
        "custody_event": event["seq"],
        "result_sha256": result_sha,
        "manifest_sha256": manifest,
        "shape": shape,
        "timezone_source": tz_source,
        "chats": chats,
        "warnings": warnings,
        **counts,
    }
