"""Canonical hashes of stored rows, computed the same way at write time and by `verify`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return str(value)


def canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


MESSAGE_FIELDS = (
    "chat_id",
    "message_id",
    "dup_index",
    "version",
    "export_id",
    "type",
    "date_utc",
    "date_local",
    "time_source",
    "sender_id",
    "text",
    "entities",
    "reply_to",
    "forwarded_from",
    "forwarded_from_id",
    "via_bot",
    "edited_utc",
    "flags",
    "link",
    "raw",
    "content_sha256",
)


def message_row_sha256(row: Mapping[str, Any]) -> str:
    return sha256_text(canonical([row[f] for f in MESSAGE_FIELDS]))


def rows_digest(hashes: Iterable[str]) -> str:
    """One digest over many row hashes, in the order given (callers order by primary key)."""
    h = hashlib.sha256()
    for item in hashes:
        h.update(item.encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()
