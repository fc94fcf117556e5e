"""Append-only, hash-chained custody log.

Each event's SHA-256 covers its fields and the previous event's hash, so editing or removing an
event breaks every later link. Each hash also carries an HMAC under a key derived from the case
key, so someone with write access to the database but not the passphrase cannot rebuild the
chain. The newest event's hash is also written to `custody.head` beside the database, which
catches events cut off the end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from . import __version__
from .store.models import CUSTODY

GENESIS = "0" * 64
_T = CUSTODY


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_hash(prev: str, seq: int, time_utc: str, actor: str, action: str, tool: str, body: str):
    material = canonical([prev, seq, time_utc, actor, action, tool, body])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _mac(key: bytes, sha256: str) -> str:
    return hmac.new(key, sha256.encode("ascii"), hashlib.sha256).hexdigest()


def append(
    conn: Connection, mac_key: bytes, actor: str, action: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Append one event inside the caller's transaction; returns it as a dict."""
    last = conn.execute(select(_T.c.seq, _T.c.sha256).order_by(_T.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    time_utc = utc_now()
    text = canonical(body)
    sha = _event_hash(prev, seq, time_utc, actor, action, __version__, text)
    row = {
        "seq": seq,
        "time_utc": time_utc,
        "actor": actor,
        "action": action,
        "tool_version": __version__,
        "body": text,
        "prev_sha256": prev,
        "sha256": sha,
        "mac": _mac(mac_key, sha),
    }
    conn.execute(insert(_T), row)
    return row


def write_head(path: Path, event: dict[str, Any]) -> None:
    """Record the newest event outside the database (atomically)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(canonical({"seq": event["seq"], "sha256": event["sha256"]}) + "\n")
    os.replace(tmp, path)


def read_head(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None


def verify_chain(conn: Connection, mac_key: bytes, head: dict[str, Any] | None) -> list[str]:
    """Replay the chain; return problems, first one first (empty when intact)."""
    problems: list[str] = []
    prev, expected_seq = GENESIS, 1
    for ev in conn.execute(select(_T).order_by(_T.c.seq)).mappings():
        where = f"custody event {ev['seq']} ({ev['action']})"
        if ev["seq"] != expected_seq:
            problems.append(f"custody event {expected_seq} is missing (next is {ev['seq']})")
        if ev["prev_sha256"] != prev:
            problems.append(f"{where} does not link to the event before it")
        sha = _event_hash(
            ev["prev_sha256"],
            ev["seq"],
            ev["time_utc"],
            ev["actor"],
            ev["action"],
            ev["tool_version"],
            ev["body"],
        )
        if sha != ev["sha256"]:
            problems.append(f"{where} was edited: its content does not match its hash")
        elif not hmac.compare_digest(_mac(mac_key, sha), ev["mac"]):
            problems.append(f"{where} carries a hash that was not made with this case key")
        prev, expected_seq = ev["sha256"], ev["seq"] + 1
        if problems:
            return problems
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            problems.append("custody.head is missing: the end of the log cannot be checked")
    elif head.get("seq") != last_seq or (last_seq and head.get("sha256") != prev):
        problems.append(
            f"custody.head names event {head.get('seq')} but the log ends at event {last_seq}: "
            "events were removed from the end or the head was replaced"
        )
    return problems


def events(conn: Connection, action: str | None = None) -> list[dict[str, Any]]:
    query = select(_T).order_by(_T.c.seq)
    if action:
        query = query.where(_T.c.action == action)
    out = []
    for ev in conn.execute(query).mappings():
        item = dict(ev)
        item["body"] = json.loads(item["body"])
        out.append(item)
    return out
