"""Helpers for building crafted exports and inspecting cases in tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def write_export(root: Path, messages: list[Any], **header: Any) -> Path:
    """A single-chat export folder with the given messages."""
    root.mkdir(parents=True, exist_ok=True)
    doc = {"name": "Test group", "type": "private_supergroup", "id": 1500000001}
    doc.update(header)
    doc["messages"] = messages
    (root / "result.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
    return root


def msg(i: int, text: Any = "hello", **extra: Any) -> dict[str, Any]:
    m = {
        "id": i,
        "type": "message",
        "date": "2024-05-01T10:00:00",
        "date_unixtime": str(1714528800 + i),
        "from": "Sender A",
        "from_id": "user1001",
        "text": text,
    }
    m.update(extra)
    return m


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "perisai.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def snapshot(case_dir: Path) -> dict[str, Any]:
    """Everything observable about a case: database rows and vault files."""
    import sqlite3

    out: dict[str, Any] = {}
    con = sqlite3.connect(case_dir / "perisai.db")
    for (table,) in con.execute("select name from sqlite_master where type='table'"):
        out[table] = sorted(map(repr, con.execute(f"select * from {table}")))
    con.close()
    out["vault"] = sorted(str(p.relative_to(case_dir)) for p in (case_dir / "vault").rglob("*"))
    out["head"] = (case_dir / "custody.head").read_text()
    return out
