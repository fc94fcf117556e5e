"""`perisai demo`: a synthetic case end to end, on benign generated data."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import typer

from . import settings
from .case import Case
from .errors import BadInput
from .ingest.telegram_export import ingest
from .pipeline import triage
from .stats import stats
from .synth import synth
from .verify import verify

DEMO_PASSPHRASE = "perisai-demo-only"  # noqa: S105 - synthetic demo only


def run_demo(out: Path) -> dict:
    started = time.monotonic()
    if out.exists() and any(out.iterdir()):
        if not (out / "case" / "case.json").exists() and not (out / "export").exists():
            raise BadInput(f"{out} exists and is not a previous demo folder: choose --out")
        shutil.rmtree(out)
    # Synthetic data only: a fixed passphrase keeps the demo one command long.
    os.environ.setdefault(settings.PASSPHRASE.env, DEMO_PASSPHRASE)
    export_dir, case_dir = out / "export", out / "case"
    typer.echo(f"1/5 writing a synthetic export (benign generated images) to {export_dir}")
    synth(export_dir, messages=400, photos=40, seed=7)
    typer.echo(f"2/5 ingesting it into the case {case_dir}")
    case = Case.open(case_dir)
    result = ingest(case, export_dir)
    typer.echo("3/5 triage: detectors over every message")
    triage(case)
    typer.echo("4/5 verifying the custody chain and every vault blob")
    check = verify(case)
    counts = stats(case)
    typer.echo("5/5 done")
    exe = "perisai" if shutil.which("perisai") else _relative(Path(sys.argv[0]))
    media = counts["media"]
    typer.echo(
        f"\nCase {case_dir}: {counts['chats']} chat, {counts['messages']} messages "
        f"({counts['service_messages']} service), {counts['actors']} actors; "
        f"{media['files']} media references to {media['unique']} distinct files stored "
        f"encrypted, {media['placeholders']} placeholders.\n"
        f"Findings: {_findings_line(counts['findings'])}.\n"
        f"Custody: {'verified' if check['ok'] else 'FAILED: ' + check['problems'][0]} "
        f"(export SHA-256 {result['result_sha256'][:16]}...). "
        f"Took {time.monotonic() - started:.1f} s.\n"
        f"\nNext:\n"
        f"  export PERISAI_PASSPHRASE={DEMO_PASSPHRASE}\n"
        f"  {exe} stats {case_dir} --json\n"
        f"  {exe} findings {case_dir} --kind pii.phone --json\n"
        f"  {exe} verify {case_dir}\n"
        f"  {exe} scan CASE /path/to/ChatExport_YYYY-MM-DD   # a real export"
    )
    return {"stats": counts, "verify": check}


def _findings_line(found: dict[str, int]) -> str:
    if not found:
        return "none"
    return ", ".join(f"{n} {kind}" for kind, n in sorted(found.items(), key=lambda kv: -kv[1]))


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
