"""Many exports, one case: find every Telegram export under a folder and ingest each in turn.

Each export is its own transaction (exactly `perisai ingest` on it), so a bad export leaves
the case as the good ones made it; the bad ones are named at the end. Chats, senders and files
are keyed case-wide (chat id, numeric sender id, file SHA-256), so triage clusters a photo
reposted in several chats as one file and an offender as one profile across chats.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..case import Case
from ..errors import PerisaiError

MAX_DEPTH = 4  # folder levels searched below the given one


def _is_export(name: str) -> bool:
    return name.startswith("result") and name.endswith(".json")


def find_exports(folder: Path) -> list[Path]:
    """Every result*.json in `folder` and its subfolders (a few levels down), sorted by path.
    Media subfolders of an export (photos/, files/, ...) hold none, so they add nothing."""
    found: list[Path] = []
    base = len(folder.parts)
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).parts) - base
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
        found += [Path(root) / f for f in sorted(files) if _is_export(f)]
    return sorted(found)


Each = Callable[[Path], dict[str, Any]]


def ingest_folder(
    case: Case,
    folder: Path,
    timezone: str | None = None,
    who: str | None = None,
    each: Each | None = None,
) -> dict[str, Any]:
    """Ingest every export under `folder`. `each(path)` replaces the plain library ingest (the
    CLI passes its progress-bar version). Returns {"folder", "exports": [{"export", "ok",
    ...ingest result or "error"}], "ingested": n, "failed": [paths]}."""
    from ..ingest.telegram_export import ingest

    paths = find_exports(folder)
    if not paths:
        raise PerisaiError(f"{folder} holds no Telegram export (no result*.json in it)")
    run = each or (lambda p: ingest(case, p, timezone=timezone, who=who))
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for path in paths:
        shown = str(path.relative_to(folder))
        try:
            result = run(path)
        except PerisaiError as exc:
            failed.append(shown)
            rows.append({"export": shown, "ok": False, "error": str(exc)})
            continue
        except Exception as exc:  # noqa: BLE001 - one broken export must not stop the others
            failed.append(shown)
            rows.append({"export": shown, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
            continue
        rows.append({"export": shown, "ok": True, **result})
    return {
        "folder": str(folder),
        "exports": rows,
        "ingested": len(paths) - len(failed),
        "failed": failed,
    }
