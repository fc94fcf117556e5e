"""`perisai demo`: a synthetic case end to end, on benign generated data."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import typer

from . import settings
from .analysis.atrisk import at_risk
from .case import Case
from .errors import BadInput
from .evidence.bundle import create_bundle
from .evidence.verify_bundle import verify_bundle
from .ingest.telegram_export import ingest
from .pipeline import triage
from .reports import KINDS, render
from .stats import stats
from .synth import synth
from .verify import verify
from .victims import add_victim

DEMO_PASSPHRASE = "perisai-demo-only"  # noqa: S105 - synthetic demo only


def run_demo(out: Path, messages: int = 400, photos: int = 40) -> dict:
    started = time.monotonic()
    if out.exists() and any(out.iterdir()):
        if not (out / "case" / "case.json").exists() and not (out / "export").exists():
            raise BadInput(f"{out} exists and is not a previous demo folder: choose --out")
        shutil.rmtree(out)
    # Synthetic data only: a fixed passphrase keeps the demo one command long (also when the
    # variable is set but empty, as some CI systems and shells leave it).
    if not os.environ.get(settings.PASSPHRASE.env):
        os.environ[settings.PASSPHRASE.env] = DEMO_PASSPHRASE
    export_dir, case_dir, reports_dir = out / "export", out / "case", out / "reports"
    bundle_path = out / "bundle.zip"
    typer.echo(f"1/7 writing a synthetic export (benign generated images) to {export_dir}")
    synth(export_dir, messages=messages, photos=photos, seed=7)
    typer.echo(f"2/7 ingesting it into the case {case_dir}")
    case = Case.open(case_dir)
    result = ingest(case, export_dir)
    typer.echo("3/7 triage: hashes, clusters, matching, classifiers, OCR, text and dox detectors")
    triage(case)
    typer.echo("4/7 registering one synthetic person as a caseworker would (keyed hashes only)")
    registered = _register_person(case, export_dir)
    typer.echo(f"5/7 writing every report to {reports_dir}")
    for kind in KINDS:
        render(case, kind, reports_dir)
    typer.echo(f"6/7 signing the evidence bundle {bundle_path} and checking it without the case")
    create_bundle(case, bundle_path)
    bundle_check = verify_bundle(bundle_path)
    typer.echo("7/7 verifying the custody chain and every vault blob")
    check = verify(case)
    counts = stats(case)
    people = at_risk(case)
    exe = "perisai" if shutil.which("perisai") else _relative(Path(sys.argv[0]))
    media = counts["media"]
    typer.echo(
        f"\nCase {case_dir}: {counts['chats']} chat, {counts['messages']} messages "
        f"({counts['service_messages']} service), {counts['actors']} actors; "
        f"{media['files']} media references to {media['unique']} distinct files stored "
        f"encrypted, {media['placeholders']} placeholders.\n"
        f"Findings: {_findings_line(counts['findings'])}.\n"
        f"At risk: {len(people)} exposed people; registered: {registered}.\n"
        f"Custody: {'verified' if check['ok'] else 'FAILED: ' + check['problems'][0]} "
        f"(export SHA-256 {result['result_sha256'][:16]}...); bundle verified "
        f"({bundle_check['files']} files signed). "
        f"Took {time.monotonic() - started:.1f} s.\n"
        f"\nPolice report: {reports_dir / 'police.html'} (and .pdf)\n"
        f"Caseworkers' dossiers: {reports_dir / 'victims.html'}\n"
        f"\nNext:\n"
        f"  export PERISAI_PASSPHRASE={DEMO_PASSPHRASE}\n"
        f"  {exe} atrisk list {case_dir}\n"
        f"  {exe} offenders {case_dir} --limit 5\n"
        f"  {exe} verify-bundle {bundle_path}\n"
        f"  {exe} user add {case_dir} admin --role admin   # then:\n"
        f"  {exe} serve {case_dir}                         # the review UI on 127.0.0.1:8000\n"
        f"  {exe} scan CASE /path/to/ChatExport_YYYY-MM-DD   # a real export"
    )
    return {"stats": counts, "verify": check}


def _register_person(case: Case, export_dir: Path) -> str:
    """The first synthetic person of the ground truth, registered by her identifiers."""
    truth = json.loads((export_dir / "ground_truth.json").read_text(encoding="utf-8"))
    persons = truth.get("persons") or []
    if not persons:
        return "nobody (no synthetic person)"
    kinds = ("pii.phone", "pii.handle", "pii.email", "pii.ic")
    wanted: dict[str, list[str]] = {k: [] for k in kinds}
    for ident in persons[0]["identifiers"]:
        if ident["kind"] in wanted:
            wanted[ident["kind"]].append(ident["value"])
    added = add_victim(
        case,
        "demo-person-1",
        phones=wanted["pii.phone"],
        handles=wanted["pii.handle"],
        emails=wanted["pii.email"],
        ics=wanted["pii.ic"],
    )
    return f"{added['alias']} with {sum(added['identifiers'].values())} identifiers"


def _findings_line(found: dict[str, int]) -> str:
    if not found:
        return "none"
    return ", ".join(f"{n} {kind}" for kind, n in sorted(found.items(), key=lambda kv: -kv[1]))


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
