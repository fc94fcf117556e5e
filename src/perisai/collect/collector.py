"""Live collection of one chat into the case store, through the ingest writer.

Messages are mapped to the export shape (mapping.py) and written by the same Writer that
ingests Telegram Desktop exports, so ids, chats, versions, media and absences behave exactly as
for an export; the run is one `exports` row with shape "collection" and one "ingest" custody
event, which `perisai verify` checks like any other.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, insert, select, text, update

from .. import __version__
from ..case import Case
from ..errors import BadInput, PerisaiError
from ..ingest.ids import PeerId, chat_kind, decode_chat_id
from ..ingest.normalize import Clock
from ..ingest.writer import Writer
from ..store import models as m
from ..store.digests import export_digests
from ..store.rowhash import canonical
from ..vault import Vault
from .client import ReadOnlyClient, require_telethon, resolve_chat
from .mapping import (
    EXTRA_KEYS,
    NOT_INCLUDED,
    RAW_ONLY,
    TL_KEY,
    TOO_BIG,
    Names,
    chat_header,
    display_name,
    media_kind,
    media_size,
    to_export_shape,
)

Progress = Callable[[str], None]
MEDIA_MODES = ("none", "photos", "all")
CHECK_BATCH = 100  # ids per get_messages call (Telegram's own limit)
FLUSH_FILES = 50  # downloaded files held on disk before the writer hashes and stores them


@dataclass
class Options:
    since: datetime | None = None
    media: str = "photos"
    max_file_mb: float = 50.0
    metadata_only: bool = False
    flood_short_s: int = 120  # one wait up to this long is slept, then the request retried
    flood_budget_s: int = 900  # total waiting per chat before stopping with a checkpoint
    participants: bool = True
    check_deleted: bool = True

    def check(self) -> None:
        if self.media not in MEDIA_MODES:
            raise BadInput(f"--media {self.media!r}: choose none, photos or all")
        if self.max_file_mb <= 0:
            raise BadInput("--max-file-size must be a positive number of megabytes")
        if self.flood_short_s < 0 or self.flood_budget_s < 0:
            raise BadInput("FloodWait limits must not be negative")


class Stop(Exception):
    """The chat's FloodWait budget is spent: stop here, keep what was collected."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"FloodWait of {seconds}s is over the budget")
        self.seconds = seconds


@dataclass
class Flood:
    short_s: int
    budget_s: int
    sleep: Callable[[float], None]
    progress: Progress
    waited_s: int = 0
    waits: list[int] = field(default_factory=list)

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """fn(*args), sleeping through short FloodWaits; Stop when the wait is too long."""
        from telethon.errors import FloodWaitError

        while True:
            try:
                return fn(*args, **kwargs)
            except FloodWaitError as exc:
                self.wait(what, int(exc.seconds))

    def wait(self, what: str, seconds: int) -> None:
        if seconds > self.short_s or self.waited_s + seconds > self.budget_s:
            self.progress(
                f"FloodWait {seconds}s on {what}: over the limit "
                f"(waited {self.waited_s}s of {self.budget_s}s); stopping with a checkpoint"
            )
            raise Stop(seconds)
        self.progress(
            f"FloodWait {seconds}s on {what}: sleeping (waited {self.waited_s}s of "
            f"{self.budget_s}s)"
        )
        self.sleep(seconds)
        self.waited_s += seconds
        self.waits.append(seconds)


class _Unchanged(Exception):
    pass


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def collect(
    case: Case,
    client: ReadOnlyClient,
    chat: str | Any,
    options: Options | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = _utcnow,
    who: str | None = None,
) -> dict[str, Any]:
    """Collect one chat (a --chat reference or an entity). Returns the ingest-style summary
    plus `stopped` (null, or why the run stopped early), `flood_waits`, `last_id`,
    `checked_ids`, `participants` and per-media-download counts."""
    require_telethon()
    opts = options or Options()
    opts.check()
    say = progress or (lambda _line: None)
    flood = Flood(opts.flood_short_s, opts.flood_budget_s, sleep, say)
    ref = chat if isinstance(chat, str) else None
    try:
        entity = flood.call("resolving the chat", resolve_chat, client, chat) if ref else chat
    except Stop as exc:
        raise PerisaiError(
            f"Telegram asks to wait {exc.seconds}s before resolving {chat!r}: try again later"
        ) from None
    header = chat_header(entity)
    names = Names()
    names.learn(entity)
    tmp = Path(tempfile.mkdtemp(prefix=".collect-", dir=case.root))
    run = _Run(case, client, entity, header, names, opts, flood, say, tmp, now)
    try:
        return run.go(ref, who)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Run:
    def __init__(
        self,
        case: Case,
        client: ReadOnlyClient,
        entity: Any,
        header: dict[str, Any],
        names: Names,
        opts: Options,
        flood: Flood,
        say: Progress,
        tmp: Path,
        now: Callable[[], datetime],
    ) -> None:
        self.case, self.client, self.entity, self.header = case, client, entity, header
        self.names, self.opts, self.flood, self.say, self.tmp = names, opts, flood, say, tmp
        self.now = now
        self.downloads: dict[int, dict[str, Any]] = {}
        self.files_on_disk: list[Path] = []
        self.media_counts = {"downloaded": 0, "too_big": 0, "skipped": 0, "failed": 0}
        self.protected_failures = 0
        self.received = hashlib.sha256()
        self.stopped: str | None = None
        self.last_id: int | None = None
        self.first_id: int | None = None
        self.gone: list[int] = []
        self.checked = 0

    # -- the run ------------------------------------------------------------------------
    def go(self, ref: str | None, who: str | None) -> dict[str, Any]:
        kind = chat_kind(self.header["type"])
        bare = decode_chat_id(self.header["id"], self.header["type"], False)
        checked_at = self.now()
        writer: Writer | None = None
        try:
            with self.case.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(7461626)"))
                chat_pk, min_id, known = _previous(conn, kind, bare, self.header["id"])
                export_id = conn.execute(
                    insert(m.EXPORTS).values(
                        ingested_utc=checked_at,
                        source_path=f"telegram:{ref or self.header['id']}",
                        result_sha256="",
                        manifest_sha256="",
                        shape="collection",
                        timezone=None,
                        timezone_source="unixtime",
                        tool_version=__version__,
                        counts={},
                        warnings=[],
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                vault = self.case.vault
                if self.opts.metadata_only:
                    vault = cast(Vault, _HashOnlyVault())
                writer = Writer(
                    conn,
                    vault,
                    export_id,
                    self.tmp.resolve(),
                    Clock(None),
                    extra_keys=EXTRA_KEYS,
                    raw_only=RAW_ONLY,
                )
                participants: dict[str, Any] = {}
                if self.opts.participants:
                    participants = self._participants(writer, checked_at)
                state = writer.open_chat(self.header)
                if not self.opts.check_deleted:
                    known = []
                try:
                    self._check_deleted(known)
                    self._messages(writer, state, min_id)
                except Stop as exc:
                    self.stopped = f"FloodWait of {exc.seconds}s over the budget"
                except Exception as exc:
                    # Kicked, banned, group deleted mid-run: keep what was read so far.
                    if not _is_rpc_error(exc):
                        raise
                    self.stopped = f"Telegram refused: {type(exc).__name__}: {exc}"[:300]
                    self.say(f"stopping: {self.stopped}")
                info = writer.close_chat(state)
                self._cleanup_files()
                if self.gone:
                    self._record_gone(conn, writer, state.pk or chat_pk, self.gone, info)
                writer.write_names()
                t = writer.totals
                # A run that read messages is kept even when they were all known (from an
                # export): it records what the account could see, and where to resume.
                changed = t["messages_new"] or t["messages_changed"] or t["absences"]
                if not changed and self.last_id is None:
                    raise _Unchanged
                if self.opts.metadata_only:
                    self._hash_only(conn, export_id)
                info["first_id"], info["last_id"] = self.first_id, self.last_id
                return self._finish(
                    conn, writer, export_id, ref, info, participants, known, checked_at, who
                )
        except _Unchanged:
            assert writer is not None
            return {
                "unchanged": True,
                "stopped": self.stopped,
                "flood_waits": self.flood.waits,
                "checked_ids": self.checked,
                **writer.totals,
            }
        except BaseException:
            if writer is not None:
                for sha in writer.new_blobs:
                    self.case.vault.remove(sha)
            raise

    # -- participants -------------------------------------------------------------------
    def _participants(self, writer: Writer, when: datetime) -> dict[str, Any]:
        from telethon.tl import types

        if not isinstance(self.entity, types.Channel | types.Chat):
            return {}
        roles: dict[int, str] = {}
        errors: list[str] = []
        filters: list[tuple[str, Any]] = [
            ("admin", types.ChannelParticipantsAdmins()),
            ("recent", types.ChannelParticipantsRecent()),
        ]
        if isinstance(self.entity, types.Chat):
            filters = [("all", None)]  # a basic group answers with its whole member list
        for label, flt in filters:
            try:
                for user in self._iterate("participants", self.client.iter_participants, flt):
                    self.names.learn(user)
                    role = _role(getattr(user, "participant", None), label)
                    if roles.get(user.id) in ("creator", "admin"):
                        continue
                    roles[user.id] = role
                    pid = PeerId("user", int(user.id))
                    pk = writer.actor(pid, display_name(user), f"user{user.id}", when)
                    if pk is not None and getattr(user, "username", None):
                        writer._seen_name(pk, "username", user.username.lower(), when)
            except Stop:
                errors.append(f"{label}: stopped by FloodWait")
                break
            except Exception as exc:  # noqa: BLE001 - Telegram refuses lists in many groups
                errors.append(f"{label}: {type(exc).__name__}")
        self.say(f"participants: {len(roles)} visible")
        return {
            "visible": len(roles),
            "by_role": {r: sum(1 for v in roles.values() if v == r) for r in set(roles.values())},
            "members": [{"user_id": uid, "role": role} for uid, role in sorted(roles.items())],
            "errors": errors,
        }

    def _iterate(self, what: str, fn: Callable[..., Iterator[Any]], flt: Any) -> Iterator[Any]:
        # A FloodWait inside a participant listing restarts that listing (it is short).
        seen: set[int] = set()
        while True:
            try:
                for item in fn(self.entity, filter=flt):
                    if item.id not in seen:
                        seen.add(item.id)
                        yield item
                return
            except Exception as exc:
                seconds = getattr(exc, "seconds", None)
                if type(exc).__name__ != "FloodWaitError" or seconds is None:
                    raise
                self.flood.wait(what, int(seconds))

    # -- deletions ----------------------------------------------------------------------
    def _check_deleted(self, known: list[int]) -> None:
        """Known ids Telegram no longer returns; a batch counts only once fully answered."""
        from telethon.tl import types

        for i in range(0, len(known), CHECK_BATCH):
            batch = known[i : i + CHECK_BATCH]
            found = self.flood.call(
                "checking for deletions", self.client.get_messages, self.entity, ids=batch
            )
            found = list(found) if isinstance(found, list | tuple) else [found]
            present = {
                x.id for x in found if x is not None and not isinstance(x, types.MessageEmpty)
            }
            self.gone.extend(mid for mid in batch if mid not in present)
            self.checked += len(batch)
            self.say(f"checked {self.checked}/{len(known)} known ids for deletion")

    def _record_gone(self, conn: Connection, writer: Writer, chat_pk, gone, info) -> None:
        conn.execute(
            insert(m.ABSENCES),
            [
                {"chat_id": chat_pk, "message_id": mid, "export_id": writer.export_id}
                for mid in gone
            ],
        )
        writer.totals["absences"] += len(gone)
        info["deleted_since"] = info.get("deleted_since", 0) + len(gone)

    # -- messages -----------------------------------------------------------------------
    def _messages(self, writer: Writer, state: Any, min_id: int) -> None:
        cursor = min_id
        n = 0
        while True:
            kwargs: dict[str, Any] = {"min_id": cursor, "reverse": True}
            if self.opts.since is not None:
                kwargs["offset_date"] = self.opts.since
            try:
                for msg in self.client.iter_messages(self.entity, **kwargs):
                    self._one(writer, state, msg)
                    cursor = self.last_id = msg.id
                    if self.first_id is None:
                        self.first_id = msg.id
                    n += 1
                    if n % 200 == 0:
                        self.say(f"{n} messages, last id {cursor}")
                return
            except Exception as exc:
                seconds = getattr(exc, "seconds", None)
                if type(exc).__name__ != "FloodWaitError" or seconds is None:
                    raise
                self.flood.wait(f"messages after id {cursor}", int(seconds))

    def _one(self, writer: Writer, state: Any, msg: Any) -> None:
        from telethon.tl import types

        if isinstance(msg, types.MessageEmpty):
            return
        self.names.learn_message(msg)
        shaped = to_export_shape(msg, self.names, self._download)
        note = self.downloads.pop(msg.id, None)
        if note is not None:
            shaped["media_download"] = note
        self.received.update(canonical(shaped[TL_KEY]).encode("utf-8") + b"\n")
        writer.add(state, shaped)
        if len(self.files_on_disk) >= FLUSH_FILES and state.pk is not None:
            writer._flush(state)  # hash and store now: keeps the download folder small
            self._cleanup_files()

    def _download(self, msg: Any) -> str:
        kind = media_kind(msg)
        if self.opts.media == "none" or (self.opts.media == "photos" and kind != "photo"):
            self.media_counts["skipped"] += 1
            return NOT_INCLUDED
        size = media_size(msg)
        if size is not None and size > self.opts.max_file_mb * 1024 * 1024:
            self.media_counts["too_big"] += 1
            self.downloads[msg.id] = {"status": "too_big", "size": size}
            return TOO_BIG
        protected = bool(getattr(msg, "noforwards", False)) or bool(
            getattr(self.entity, "noforwards", False)
        )
        folder = self.tmp / ("photos" if kind == "photo" else "files")
        folder.mkdir(exist_ok=True)
        try:
            got = self.flood.call(
                f"downloading media of message {msg.id}",
                self.client.download_media,
                msg,
                file=str(folder / str(msg.id)),
            )
        except Stop:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is a recorded fact
            return self._failed(msg.id, protected, f"{type(exc).__name__}: {exc}"[:300])
        path = Path(got) if isinstance(got, str | Path) else None
        if path is None or not path.is_file():
            return self._failed(msg.id, protected, "Telegram returned no file")
        self.files_on_disk.append(path)
        self.media_counts["downloaded"] += 1
        self.downloads[msg.id] = {"status": "downloaded", "protected": protected}
        return str(path.resolve().relative_to(self.tmp.resolve()))

    def _failed(self, mid: int, protected: bool, why: str) -> str:
        self.media_counts["failed"] += 1
        self.protected_failures += protected
        self.downloads[mid] = {"status": "failed", "protected": protected, "error": why}
        what = "protected content (noforwards), download refused" if protected else "failed"
        # Desktop's placeholder form: the writer records it with this reason, never retried.
        return f"(File not downloaded: {what}: {why})".replace("\n", " ")

    def _cleanup_files(self) -> None:
        for path in self.files_on_disk:
            path.unlink(missing_ok=True)
        self.files_on_disk = []

    # -- metadata only ------------------------------------------------------------------
    def _hash_only(self, conn: Connection, export_id: int) -> None:
        """Files first seen in this run keep their hashes; the bytes were never stored."""
        MF = m.MEDIA_FILES
        rows = conn.execute(
            select(MF.c.id, MF.c.sha256).where(
                MF.c.first_export_id == export_id, MF.c.vault_state == "stored"
            )
        ).all()
        for media_id, sha in rows:
            if self.case.vault.has(sha):
                continue
            conn.execute(update(MF).where(MF.c.id == media_id).values(vault_state="quarantined"))
            self.case.log(
                conn,
                "quarantine",
                {
                    "sha256": sha,
                    "media_id": media_id,
                    "reason": "collected with --metadata-only: hashed on arrival, bytes never kept",
                    "export_id": export_id,
                },
            )

    # -- custody ------------------------------------------------------------------------
    def _finish(self, conn, writer, export_id, ref, info, participants, known, checked_at, who):
        result_sha = self.received.hexdigest()
        manifest = hashlib.sha256(
            canonical({"received": result_sha, "media": sorted(writer.manifest)}).encode()
        ).hexdigest()
        counts = dict(writer.totals)
        counts.update({f"download_{k}": v for k, v in self.media_counts.items()})
        counts["download_failed_protected"] = self.protected_failures
        counts["checked_ids"] = self.checked
        counts["participants_visible"] = participants.get("visible", 0)
        warnings = []
        if self.stopped:
            warnings.append(f"collection stopped early ({self.stopped}); run again to resume")
        if writer.refusals:
            warnings.append(f"{len(writer.refusals)} media paths refused: {writer.refusals[0]}")
        conn.execute(
            update(m.EXPORTS)
            .where(m.EXPORTS.c.id == export_id)
            .values(
                result_sha256=result_sha,
                manifest_sha256=manifest,
                counts=counts,
                warnings=warnings,
            )
        )
        body = {
            "export_id": export_id,
            "source_path": f"telegram:{ref or self.header['id']}",
            "result_sha256": result_sha,
            "manifest_sha256": manifest,
            "shape": "collection",
            "timezone": None,
            "timezone_source": "unixtime",
            "counts": counts,
            "chats": [info],
            "collection": {
                "chat": self.header,
                "checked_utc": checked_at.isoformat(),
                "since": self.opts.since.isoformat() if self.opts.since else None,
                "media": self.opts.media,
                "max_file_mb": self.opts.max_file_mb,
                "metadata_only": self.opts.metadata_only,
                "stopped": self.stopped,
                "first_id": self.first_id,
                "last_id": self.last_id,
                "flood_waits": self.flood.waits,
                "participants": participants,
            },
            "refused_media": writer.refusals[:1000],
            "digests": export_digests(conn, export_id, writer.messages_digest.hexdigest()),
        }
        event = self.case.log(conn, "ingest", body, who)
        return {
            "unchanged": False,
            "export_id": export_id,
            "custody_event": event["seq"],
            "result_sha256": result_sha,
            "manifest_sha256": manifest,
            "shape": "collection",
            "chats": [info],
            "stopped": self.stopped,
            "last_id": self.last_id,
            "flood_waits": self.flood.waits,
            "participants": {k: v for k, v in participants.items() if k != "members"},
            "warnings": warnings,
            **counts,
        }


class _HashOnlyVault:
    """For --metadata-only: the writer hashes every file but is told each is already stored."""

    def has(self, sha256: str) -> bool:
        return True

    def put(self, *_a: Any, **_k: Any) -> bool:  # pragma: no cover - never reached
        raise AssertionError("metadata-only collection must not store bytes")


def _is_rpc_error(exc: BaseException) -> bool:
    from telethon.errors import RPCError

    return isinstance(exc, RPCError)


def _role(participant: Any, label: str) -> str:
    name = type(participant).__name__ if participant is not None else ""
    if "Creator" in name:
        return "creator"
    if "Admin" in name or label == "admin":
        return "admin"
    if "Banned" in name:
        return "banned"
    return "member"


def _previous(
    conn: Connection, kind: str, bare: int | None, marked: int
) -> tuple[int | None, int, list[int]]:
    """(chat pk, last collected id, known ids not yet marked absent between the first and the
    last id earlier collections of this chat read). The range comes from the collections'
    custody events: an export may hold older messages the account cannot read (history hidden
    from new members), which are not deletions."""
    from .. import custody

    T = m.MESSAGES
    row = conn.execute(select(m.Chat.id).where(m.Chat.kind == kind, m.Chat.tg_id == bare)).first()
    if row is None:
        return None, 0, []
    chat_pk = row[0]
    firsts, lasts = [], []
    for ev in custody.events(conn, "ingest"):
        info = ev["body"].get("collection") if ev["body"].get("shape") == "collection" else None
        if not info or info.get("chat", {}).get("id") != marked:
            continue
        if info.get("first_id") is not None and info.get("last_id") is not None:
            firsts.append(int(info["first_id"]))
            lasts.append(int(info["last_id"]))
    if not lasts:
        return chat_pk, 0, []
    first, last = max(min(firsts), 1), max(lasts)
    absent = select(m.ABSENCES.c.message_id).where(m.ABSENCES.c.chat_id == chat_pk)
    known = (
        conn.execute(
            select(T.c.message_id)
            .where(
                T.c.chat_id == chat_pk,
                T.c.message_id >= first,
                T.c.message_id <= last,
                T.c.message_id.not_in(absent),
            )
            .distinct()
            .order_by(T.c.message_id)
        )
        .scalars()
        .all()
    )
    return chat_pk, last, [int(x) for x in known]
