"""`perisai verify`: replay the custody chain and re-check every stored row and blob."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from . import custody
from .case import Case
from .store import models as m
from .store.digests import export_digests
from .store.rowhash import message_row_sha256
from .vault import VaultError

T_MSG = m.MESSAGES
T_CHAT = m.CHATS
T_MEDIA = m.MEDIA_FILES


def verify(case: Case, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Returns {"ok": bool, "problems": [...], "checked": {...}}; problems come in order."""
    problems: list[str] = []
    checked = {"custody_events": 0, "exports": 0, "messages": 0, "blobs": 0}
    with case.engine.connect() as conn:
        problems += custody.verify_chain(
            conn, case.keys.purpose("custody"), custody.read_head(case.head_path)
        )
        events = custody.events(conn)
        checked["custody_events"] = len(events)
        logged: dict[int, dict[str, Any]] = {}
        for ev in events:
            if ev["action"] == "ingest":
                logged[ev["body"]["export_id"]] = ev
        exports = {row.id: row for row in conn.execute(select(m.EXPORTS))}
        for export_id, row in exports.items():
            checked["exports"] += 1
            found = logged.get(export_id)
            if found is None:
                problems.append(f"export {export_id} has no ingest event in the custody log")
                continue
            ev = found
            body = ev["body"]
            for key in ("result_sha256", "manifest_sha256"):
                if getattr(row, key) != body[key]:
                    problems.append(f"export {export_id}: {key} differs from custody event")
            now = export_digests(conn, export_id)
            for table, digest in body["digests"].items():
                if now.get(table) != digest:
                    problems.append(
                        f"export {export_id}: stored {table} differ from what custody event "
                        f"{ev['seq']} recorded (rows added, removed or edited)"
                    )
        for export_id in set(logged) - set(exports):
            problems.append(f"export {export_id} named in the custody log is missing")
        problems += _check_messages(conn, checked)
        quarantined = {ev["body"]["sha256"] for ev in events if ev["action"] == "quarantine"}
        for ev in events:
            sealed = ev["body"].get("sealed_sha256") if ev["action"] == "quarantine" else None
            if sealed:
                path = case.root / "sealed" / f"{ev['body']['sha256']}.sealed"
                if not path.is_file():
                    problems.append(f"sealed file {path.name} is missing")
                elif hashlib.sha256(path.read_bytes()).hexdigest() != sealed:
                    problems.append(f"sealed file {path.name} differs from what was sealed")
        problems += _check_blobs(case, conn, checked, progress, quarantined)
        for (sha,) in conn.execute(select(m.PREVIEWS.c.sha256)):
            try:
                case.vault.check(sha)
            except VaultError as exc:
                problems.append(f"preview: {exc}")
    return {"ok": not problems, "problems": problems, "checked": checked}


def _check_messages(conn: Any, checked: dict[str, int]) -> list[str]:
    chats = {pk: tg for pk, tg in conn.execute(select(T_CHAT.c.id, T_CHAT.c.tg_id))}
    out = []
    for row in conn.execute(select(T_MSG).order_by(T_MSG.c.id)).mappings():
        checked["messages"] += 1
        if message_row_sha256(row) != row["row_sha256"]:
            out.append(
                f"message row {row['id']} (chat {chats.get(row['chat_id'])}, message "
                f"{row['message_id']}, version {row['version']}) was edited after ingest"
            )
    return out


def _check_blobs(
    case: Case, conn: Any, checked: dict[str, int], progress: Any, quarantined: set[str]
) -> list[str]:
    rows = conn.execute(select(T_MEDIA.c.sha256, T_MEDIA.c.vault_state)).all()
    out = []
    for n, (sha, state) in enumerate(rows, 1):
        if state == "stored":
            try:
                case.vault.check(sha)
            except VaultError as exc:
                out.append(str(exc))
            checked["blobs"] += 1
        else:
            if sha not in quarantined:
                out.append(f"media {sha} is marked {state} with no quarantine custody event")
            if case.vault.has(sha):
                out.append(f"vault blob {sha} should have been removed ({state}) but is present")
        if progress:
            progress(n, len(rows))
    return out
