"""Batched, append-only writes of one export into the case store (one transaction).

Primary keys are allocated here rather than by the database so that rows in one batch can
refer to each other without a round trip per row: that is what keeps ingest fast.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ..store import models as m
from ..store.bulk import BulkInserter
from ..store.rowhash import canonical, message_row_sha256, sha256_json
from ..vault import Vault
from . import media as media_mod
from .ids import PeerId, as_int, chat_kind, decode_chat_id, link_prefix, marked_id
from .normalize import (
    NUL_STAND_IN,
    Clock,
    canonical_text,
    content_view,
    media_refs,
    no_nul,
    peer,
    service_detail,
)

BATCH = 2000
T_MSG = m.MESSAGES
T_ABS = m.ABSENCES


class IdSet:
    """Sparse bitmap of message ids: memory follows id density, not message count."""

    PAGE_BITS = 16

    def __init__(self) -> None:
        self.pages: dict[int, bytearray] = {}
        self.lo: int | None = None
        self.hi: int | None = None

    def add(self, n: int) -> bool:
        """Add n; True when it was already there."""
        self.lo = n if self.lo is None or n < self.lo else self.lo
        self.hi = n if self.hi is None or n > self.hi else self.hi
        key = n >> self.PAGE_BITS  # floor division also for negative ids
        page = self.pages.get(key)
        if page is None:
            page = self.pages[key] = bytearray(1 << (self.PAGE_BITS - 3))
        bit = n & ((1 << self.PAGE_BITS) - 1)
        byte, mask = bit >> 3, 1 << (bit & 7)
        seen = bool(page[byte] & mask)
        page[byte] |= mask
        return seen

    def __contains__(self, n: int) -> bool:
        page = self.pages.get(n >> self.PAGE_BITS)
        bit = n & ((1 << self.PAGE_BITS) - 1)
        return bool(page and page[bit >> 3] & (1 << (bit & 7)))


@dataclass
class ChatState:
    header: dict[str, Any]
    pk: int | None = None
    kind: str = ""
    bare: int = 0
    existed: bool = False
    pending: list[dict[str, Any]] = field(default_factory=list)
    seen: IdSet = field(default_factory=IdSet)
    dups: dict[int, int] = field(default_factory=dict)
    senders: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    link_prefix: str = ""  # t.me/c/ links: channels and supergroups only


class Writer:
    def __init__(
        self,
        conn: Connection,
        vault: Vault,
        export_id: int,
        root: Path,
        clock: Clock,
        extra_keys: frozenset[str] = frozenset(),
        raw_only: frozenset[str] = frozenset(),
    ) -> None:
        self.conn, self.vault, self.export_id, self.root, self.clock = (
            conn,
            vault,
            export_id,
            root,
            clock,
        )
        # Fields a live collector adds that exports lack (views, grouped_id, numeric ids...):
        # kept in `raw`, left out of the content hash so a collection and an export of one
        # message agree. `raw_only` ones are also left out of service-event detail.
        self.extra_keys = extra_keys | raw_only
        self.raw_only = raw_only
        self.new_blobs: list[str] = []
        self.actor_pk: dict[str, int] = {
            key: pk for pk, key in conn.execute(select(m.Actor.id, m.Actor.key))
        }
        self.actor_key = {pk: key for key, pk in self.actor_pk.items()}
        self._actor_fast: dict[tuple[Any, str], tuple[int, list]] = {}
        self.media_pk: dict[str, int] = {}
        self.names: dict[tuple[int, str, str], list[datetime | None]] = {}
        self.next_pk = {
            t: (conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1
            for t in (
                T_MSG,
                m.SERVICE_EVENTS,
                m.MEDIA_OCCURRENCES,
                m.MEDIA_FILES,
            )
        }
        self.totals: dict[str, int] = {
            "messages_new": 0,
            "messages_changed": 0,
            "messages_unchanged": 0,
            "absences": 0,
            "media_present": 0,
            "media_missing": 0,
            "media_placeholder": 0,
            "media_refused": 0,
            "media_empty": 0,
            "media_files_new": 0,
        }
        self.refusals: list[str] = []
        self.bulk = BulkInserter(conn, T_MSG)
        # Same value as store.digests.rows_digest over this export's rows in key order.
        self.messages_digest = hashlib.sha256()
        self.probed: dict[str, media_mod.MediaResult] = {}
        self.manifest: list[tuple[str, str, int]] = []

    def _pk(self, table: Any) -> int:
        value = self.next_pk[table]
        self.next_pk[table] = value + 1
        return int(value)

    # -- actors -----------------------------------------------------------------------
    def _known_sender(self, raw_id: Any, name: Any, when: datetime | None) -> int | None:
        """The actor for a (raw id, display name) pair decoded before, with its name's span
        widened to `when`; None when the pair is new (then `actor` does the full work)."""
        if type(name) is not str or not name or type(raw_id) not in (str, int):
            return None
        hit = self._actor_fast.get((raw_id, name))
        if hit is None:
            return None
        pk, span = hit
        if when is not None:
            if span[1] is None or when > span[1]:
                span[1] = when
            if span[0] is None or when < span[0]:
                span[0] = when
        return pk

    def actor(
        self, pid: PeerId | None, name: Any, raw_id: Any, when: datetime | None
    ) -> int | None:
        # Senders repeat: a (raw id, name) pair seen before skips decoding and lookups.
        known = self._known_sender(raw_id, name, when)
        if known is not None:
            return known
        fast = (raw_id, name) if type(raw_id) in (str, int) and type(name) is str and name else None
        if isinstance(name, str):
            name = no_nul(name)
        if pid is not None:
            key, kind, tg = pid.key, pid.kind, pid.bare
        elif raw_id not in (None, ""):
            key, kind, tg = f"raw:{raw_id}", "unknown", None
        elif isinstance(name, str) and name:
            key, kind, tg = f"name:{name}", "unknown", None
        else:
            return None
        pk = self.actor_pk.get(key)
        if pk is None:
            pk = self.conn.execute(
                insert(m.ACTORS).values(
                    tg_id=tg, kind=kind, key=key, first_export_id=self.export_id
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self.actor_pk[key] = pk
        self.actor_key[pk] = key
        if isinstance(name, str) and name:
            self._seen_name(pk, "display_name", name, when)
        if fast is not None and pid is not None:
            self._actor_fast[fast] = (pk, self.names[(pk, "display_name", name)])
        return pk

    def bot(self, via: str, when: datetime | None) -> int:
        username = no_nul(via.strip().lstrip("@").lower())
        key = f"bot:@{username}"
        pk = self.actor_pk.get(key)
        if pk is None:
            pk = self.conn.execute(
                insert(m.ACTORS).values(
                    tg_id=None, kind="bot", key=key, first_export_id=self.export_id
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self.actor_pk[key] = pk
        self._seen_name(pk, "username", username, when)
        return pk

    def _seen_name(self, pk: int, kind: str, value: str, when: datetime | None) -> None:
        key = (pk, kind, value)
        span = self.names.get(key)
        if span is None:
            self.names[key] = [when, when]
            return
        if when is not None:
            if span[0] is None or when < span[0]:
                span[0] = when
            if span[1] is None or when > span[1]:
                span[1] = when

    # -- chats ------------------------------------------------------------------------
    def open_chat(self, header: dict[str, Any]) -> ChatState:
        return ChatState(header=header)

    def _decide_era(self, msg: dict[str, Any]) -> bool | None:
        for key in ("from_id", "actor_id"):
            if isinstance(msg.get(key), str):
                return False
            if isinstance(msg.get(key), int | float):
                return True
        if "date_unixtime" in msg:
            return False
        return None

    def _create_chat(self, state: ChatState, shifted: bool) -> None:
        h = state.header
        ctype = str(h.get("type") or "unknown")
        bare = decode_chat_id(h.get("id"), ctype, shifted)
        if bare is None:
            from ..errors import BadInput

            raise BadInput(f"chat {h.get('name')!r:.60} has no usable id ({h.get('id')!r:.40})")
        state.kind, state.bare = chat_kind(ctype), bare
        state.link_prefix = link_prefix(state.kind, bare)
        row = self.conn.execute(
            select(m.Chat.id).where(m.Chat.kind == state.kind, m.Chat.tg_id == bare)
        ).first()
        if row:
            state.pk, state.existed = row[0], True
        else:
            state.pk = self.conn.execute(
                insert(m.CHATS).values(
                    tg_id=bare,
                    kind=state.kind,
                    marked_id=marked_id(state.kind, bare),
                    type=ctype,
                    name=no_nul(h["name"]) if isinstance(h.get("name"), str) else h.get("name"),
                    first_export_id=self.export_id,
                )
            ).inserted_primary_key[0]  # type: ignore[index]

    def add(self, state: ChatState, msg: Any) -> None:
        if state.pk is not None and type(msg) is dict:  # the usual case, kept short
            pending = state.pending
            pending.append(msg)
            if len(pending) >= BATCH:
                self._flush(state)
            return
        if state.pk is None:
            state.pending.append(msg if isinstance(msg, dict) else {"_not_an_object": msg})
            era = self._decide_era(msg) if isinstance(msg, dict) else None
            if era is None and len(state.pending) < 500:
                return
            self._create_chat(state, shifted=era if era is not None else True)
            pending, state.pending = state.pending, []
            for item in pending:
                self._queue(state, item)
            return
        self._queue(state, msg if isinstance(msg, dict) else {"_not_an_object": msg})

    def _queue(self, state: ChatState, msg: dict[str, Any]) -> None:
        state.pending.append(msg)
        if len(state.pending) >= BATCH:
            self._flush(state)

    def close_chat(self, state: ChatState) -> dict[str, Any]:
        if state.pk is None:
            self._create_chat(state, shifted=True)
            pending, state.pending = state.pending, []
            for item in pending:
                self._queue(state, item)
        self._flush(state)
        if state.existed and state.seen.lo is not None:
            self._record_absences(state)
        return {
            "chat_id": state.bare,
            "kind": state.kind,
            "type": state.header.get("type"),
            "name": state.header.get("name"),
            "senders": len(state.senders),
            **state.counts,
        }

    # -- messages ---------------------------------------------------------------------
    def _flush(self, state: ChatState) -> None:
        batch, state.pending = state.pending, []
        if not batch:
            return
        prepare = self._prepare
        prepared = [(prepare(state, msg), msg) for msg in batch]
        latest = self._latest_versions(state, prepared) if state.existed else {}
        rows: list[dict[str, Any]] = []
        services: list[dict[str, Any]] = []
        occurrences: list[dict[str, Any]] = []
        next_id = self.next_pk[T_MSG]
        new = changed = unchanged = service_count = 0
        digest = self.messages_digest.update
        for (row, refs, service), msg in prepared:
            if service is not None:
                service_count += 1
            if latest:
                prev = latest.get((row["message_id"], row["dup_index"]))
                if prev and prev[1] == row["content_sha256"]:
                    unchanged += 1
                    continue
                if prev:
                    row["version"] = prev[0] + 1
                    changed += 1
                else:
                    new += 1
            else:
                new += 1
            row["id"] = next_id
            next_id += 1
            row_sha = row["row_sha256"] = message_row_sha256(row)
            digest(row_sha.encode("ascii") + b"\n")
            rows.append(row)
            if service is not None:
                service["id"] = self._pk(m.SERVICE_EVENTS)
                service["message_pk"] = row["id"]
                services.append(service)
            if refs:
                occurrences.extend(self._media(row["id"], msg, refs))
        self.next_pk[T_MSG] = next_id
        totals, counts = self.totals, state.counts
        totals["messages_new"] += new
        totals["messages_changed"] += changed
        totals["messages_unchanged"] += unchanged
        counts["messages"] = counts.get("messages", 0) + len(prepared)
        if service_count:
            counts["service"] = counts.get("service", 0) + service_count
        if rows:
            self.bulk.insert(rows)
        if services:
            self.conn.execute(insert(m.SERVICE_EVENTS), services)
        if occurrences:
            self.conn.execute(insert(m.MEDIA_OCCURRENCES), occurrences)

    def _latest_versions(self, state: ChatState, prepared: list) -> dict:
        ids = sorted({row["message_id"] for (row, _, _), _ in prepared})
        out: dict[tuple[int, int], tuple[int, str]] = {}
        for i in range(0, len(ids), 500):
            query = select(T_MSG.c.message_id, T_MSG.c.dup_index, T_MSG.c.version).add_columns(
                T_MSG.c.content_sha256
            )
            query = query.where(
                T_MSG.c.chat_id == state.pk, T_MSG.c.message_id.in_(ids[i : i + 500])
            )
            for mid, dup, ver, content in self.conn.execute(query):
                if (mid, dup) not in out or out[(mid, dup)][0] < ver:
                    out[(mid, dup)] = (ver, content)
        return out

    def _prepare(
        self, state: ChatState, msg: dict[str, Any]
    ) -> tuple[dict, list[tuple[str, str]], dict | None]:
        # The hot path of ingest: common shapes take early, cheap branches; anything unusual
        # falls through to the general code. Behaviour is the same either way (tests).
        get = msg.get
        flags: list[str] = []
        raw_id = get("id")
        if type(raw_id) is int:
            mid = raw_id
        elif raw_id is None:
            mid, flags = 0, ["missing_id"]
        else:
            # A float, a string, a bool... : kept when it is a whole number that fits.
            found = as_int(raw_id)
            if found is None:
                mid, flags = 0, ["malformed_id"]
            else:
                mid, flags = found, ["string_id"] if isinstance(raw_id, str) else []
        if mid < 0:
            flags.append("negative_id_migrated_group")
        dup_index = 0
        if state.seen.add(mid):
            dup_index = state.dups.get(mid, 0) + 1
            state.dups[mid] = dup_index
            flags.append("duplicate_id")
        mtype = get("type", "missing_type")
        if type(mtype) is not str:
            mtype = str(mtype)
        if "_not_an_object" in msg:
            flags.append("not_an_object")
        is_service = mtype == "service"
        if not is_service and mtype != "message":
            flags.append(f"type_{mtype}")
        local, unix = get("date"), get("date_unixtime")
        utc = self.clock.quick(local, unix)
        if utc is not None:
            date_local, time_source = local, "unixtime"
        else:
            when = self.clock.resolve(local, unix)
            if when.flags:
                flags.extend(when.flags)
            utc = when.utc
            date_local = when.local if isinstance(when.local, str) else None
            time_source = when.source
        edited_utc = None
        if get("edited") is not None or get("edited_unixtime") is not None:
            edited = self.clock.resolve(get("edited"), get("edited_unixtime"), "edited")
            flags.extend(edited.flags)
            edited_utc = edited.utc
        id_key, name_key = ("actor_id", "actor") if is_service else ("from_id", "from")
        raw_from, name = get(id_key), get(name_key)
        if name is None and name_key in msg:
            flags.append("deleted_account")
        sender = self._known_sender(raw_from, name, utc)
        if sender is None:
            pid = peer(raw_from)
            if raw_from is not None and pid is None:
                flags.append(f"malformed_{id_key}")
            sender = self.actor(pid, name, raw_from, utc)
        if sender is not None:
            state.senders.add(sender)
        fwd_pk = None
        if "forwarded_from_id" in msg and msg["forwarded_from_id"] is not None:
            fwd_pk = self.actor(
                peer(msg["forwarded_from_id"]), get("forwarded_from"), msg["forwarded_from_id"], utc
            )
        via = get("via_bot")
        if via is not None and type(via) is not str:
            via = None
        if via:
            self.bot(via, utc)
        raw_text = get("text", "")
        entities: list[dict[str, Any]]
        if type(raw_text) is str:
            # A plain run has no entities; `text_entities` would only repeat it as "plain".
            text, entities = raw_text, []
        elif raw_text or "text_entities" not in msg:
            text, entities = canonical_text(raw_text)
        else:
            text, entities = canonical_text(get("text_entities"))
        if "\x00" in text:  # PostgreSQL cannot store NUL in text; `raw` keeps the original
            text = text.replace("\x00", NUL_STAND_IN)
            flags.append("nul_in_text")
        raw = canonical(msg)
        view = content_view(msg, self.actor_key.get(sender) if sender is not None else None, utc)
        for key in self.extra_keys:
            view.pop(key, None)
        refs = media_refs(msg)
        if refs:
            view["_media"] = [self._probe(ref).fingerprint for _, ref in refs]
        reply = get("reply_to_message_id")
        forwarded = get("forwarded_from")
        row = {
            "chat_id": state.pk,
            "message_id": mid,
            "dup_index": dup_index,
            "version": 1,
            "export_id": self.export_id,
            "type": mtype,
            "date_utc": utc,
            "date_local": date_local,
            "time_source": time_source,
            "sender_id": sender,
            "text": text,
            "entities": entities,
            "reply_to": as_int(reply) if isinstance(reply, int | float) else None,
            "forwarded_from": no_nul(forwarded) if type(forwarded) is str else None,
            "forwarded_from_id": fwd_pk,
            "via_bot": no_nul(via) if via else via,
            "edited_utc": edited_utc,
            "flags": flags,
            # message_link, with the chat's prefix worked out once
            "link": f"{state.link_prefix}{mid}" if state.link_prefix and mid > 0 else None,
            "raw": raw,
            "content_sha256": sha256_json(view),
        }
        service = None
        if is_service:
            service = {
                "action": str(get("action", "unknown")),
                "actor_id": sender,
                "detail": {k: v for k, v in service_detail(msg).items() if k not in self.raw_only},
            }
        return row, refs, service

    # -- media ------------------------------------------------------------------------
    def _media(
        self, message_pk: int, msg: dict[str, Any], refs: list[tuple[str, str]]
    ) -> Iterator[dict[str, Any]]:
        for role, ref in refs:
            result = self._probe(ref)
            self.totals[f"media_{result.status}"] += 1
            media_id = None
            if result.digests is not None:
                if media_mod.store(result, self.vault):
                    self.new_blobs.append(result.digests.sha256)
                media_id = self._media_file(result)
                self.manifest.append((ref, result.digests.sha256, result.digests.size))
            if result.status == "refused":
                self.refusals.append(f"message {msg.get('id')}: {ref!r}: {result.reason}")
            yield {
                "id": self._pk(m.MEDIA_OCCURRENCES),
                "message_pk": message_pk,
                "role": role,
                "media_id": media_id,
                "status": result.status,
                "export_path": no_nul(ref),
                "declared": media_mod.declared(msg, role),
                "reason": no_nul(result.reason) if result.reason else result.reason,
            }

    def _probe(self, ref: str) -> media_mod.MediaResult:
        result = self.probed.get(ref)
        if result is None:
            result = self.probed[ref] = media_mod.probe(self.root, ref)
        return result

    def _media_file(self, result: media_mod.MediaResult) -> int:
        d = result.digests
        assert d is not None
        pk = self.media_pk.get(d.sha256)
        if pk is None:
            found = self.conn.execute(
                select(m.MediaFile.id).where(m.MediaFile.sha256 == d.sha256)
            ).first()
            if found:
                pk = found[0]
            else:
                pk = self._pk(m.MEDIA_FILES)
                self.conn.execute(
                    insert(m.MEDIA_FILES).values(
                        id=pk,
                        sha256=d.sha256,
                        md5=d.md5,
                        sha1=d.sha1,
                        size=d.size,
                        mime=result.mime,
                        width=result.width,
                        height=result.height,
                        duration=None,
                        vault_state="stored",
                        first_export_id=self.export_id,
                    )
                )
                self.totals["media_files_new"] += 1
            self.media_pk[d.sha256] = pk
        return pk

    # -- deletions and names ----------------------------------------------------------
    def _record_absences(self, state: ChatState) -> None:
        """Messages stored before, inside this export's id range, and not in it: deleted since."""
        query = (
            select(T_MSG.c.message_id)
            .where(
                T_MSG.c.chat_id == state.pk,
                T_MSG.c.message_id.between(state.seen.lo, state.seen.hi),
                T_MSG.c.export_id != self.export_id,
            )
            .distinct()
        )
        gone = [mid for (mid,) in self.conn.execute(query) if mid not in state.seen]
        if gone:
            self.conn.execute(
                insert(T_ABS),
                [
                    {"chat_id": state.pk, "message_id": mid, "export_id": self.export_id}
                    for mid in gone
                ],
            )
        self.totals["absences"] += len(gone)
        state.counts["deleted_since"] = len(gone)

    def write_names(self) -> None:
        rows = [
            {
                "actor_id": pk,
                "name_kind": kind,
                "value": value,
                "first_seen_utc": span[0],
                "last_seen_utc": span[1],
                "export_id": self.export_id,
            }
            for (pk, kind, value), span in self.names.items()
        ]
        if rows:
            self.conn.execute(insert(m.ACTOR_NAMES), rows)
