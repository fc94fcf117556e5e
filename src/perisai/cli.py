"""The command line: one command, one library call. See docs/cli.md (generated from this)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import __version__, settings
from .cli_kit import (
    CaseArg,
    Db,
    ExportArg,
    JsonOut,
    KeyFile,
    TimezoneOpt,
    Who,
    app,
    emit,
    fail,
)
from .cli_kit import open_case as _open
from .errors import BadInput, PerisaiError


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the export into.")],
    messages: Annotated[int, typer.Option(help="Messages to write.")] = 400,
    photos: Annotated[int, typer.Option(help="Original photos (reposts come on top).")] = 40,
    videos: Annotated[int, typer.Option(help="Short videos.")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 1,
    era: Annotated[str, typer.Option(help="Id format: current, 2021 or 2020.")] = "current",
) -> None:
    """Write a synthetic Telegram Desktop export (result.json + media) and ground_truth.json."""
    from .progress import bar
    from .synth import synth as run_synth

    try:
        with bar("Writing synthetic export") as progress:
            summary = run_synth(
                out_dir,
                messages=messages,
                photos=photos,
                videos=videos,
                seed=seed,
                era=era,
                progress=progress,
            )
    except ValueError as exc:
        fail(PerisaiError(str(exc)))
    typer.echo(json.dumps(summary, default=str))


@app.command()
def ingest(
    case: CaseArg,
    export: ExportArg,
    timezone: TimezoneOpt = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Preserve a Telegram Desktop JSON export in the case (one transaction). A folder of many
    exports (subfolders with a result.json, or several result*.json) ingests each, one
    transaction per export; a bad one is named and the others still land (exit 2 at the end)."""
    from .executors.exports import ingest_folder

    try:
        single = _is_single_export(export)
        if single:
            _preflight_for_new_case(case, export)
        c = _open(case, key_file, db, who=investigator)
        if not single:
            many = ingest_folder(
                c, export, each=lambda path: _ingest(c, path, timezone, investigator)
            )
        else:
            result = _ingest(c, export, timezone, investigator)
            many = None
    except PerisaiError as exc:
        fail(exc)
    if many is not None:
        _emit_many(many, as_json)
        return
    if result["unchanged"]:
        human = f"{export}: nothing new (already in the case); the case is unchanged"
    else:
        human = (
            f"export {result['export_id']}: {result['messages_new']} new messages, "
            f"{result['messages_changed']} changed, {result['messages_unchanged']} unchanged, "
            f"{result['absences']} deleted since; media {result['media_present']} stored, "
            f"{result['media_missing']} missing, {result['media_placeholder']} placeholders, "
            f"{result['media_refused']} refused"
        )
    emit(result, as_json, human)


def _is_single_export(export: Path) -> bool:
    """One export (a result.json, or a folder holding one at its top) or a folder of many."""
    from .executors.exports import find_exports

    try:
        if not export.is_dir():
            return True
        found = find_exports(export)
        return not (found and (len(found) > 1 or not (export / "result.json").is_file()))
    except OSError as exc:  # a folder we may not enter: is_dir() raises EACCES
        raise BadInput(f"{export}: cannot be read: {exc.strerror or exc}") from None


def _preflight_for_new_case(case: Path, export: Path) -> None:
    """Before a command creates CASE for one export: check the export whole (place, encoding,
    shape, one parse), so a bad export leaves no empty case behind. An existing case needs no
    check: ingest is one transaction, and a failed one leaves the case as it was."""
    from .ingest.telegram_export import preflight

    if not (case / "case.json").is_file():
        preflight(export)


def _emit_many(many: dict[str, Any], as_json: bool) -> None:
    lines = [
        f"{row['export']}: "
        + (
            f"{row['messages_new']} new messages, media {row['media_present']} stored"
            if row["ok"] and not row["unchanged"]
            else "nothing new"
            if row["ok"]
            else "FAILED"
        )
        for row in many["exports"]
    ]
    lines.append(f"{many['ingested']} of {len(many['exports'])} exports ingested")
    emit(many, as_json, "\n".join(lines))
    if many["failed"]:
        # One line, as for any bad input: each failed export with its reason.
        reasons = "; ".join(f"{r['export']}: {r['error']}" for r in many["exports"] if not r["ok"])
        fail(
            PerisaiError(
                f"{len(many['failed'])} of {len(many['exports'])} exports failed (the others "
                f"landed): {reasons}"
            )
        )


def _ingest(c: Any, export: Path, timezone: str | None, who: str | None) -> dict[str, Any]:
    """Ingest with a progress bar; warnings go to stderr (shared by ingest and scan)."""
    from .ingest.telegram_export import ingest as run_ingest
    from .progress import bar

    with bar("Ingesting") as progress:
        result = run_ingest(
            c, export, timezone=settings.TIMEZONE.value(timezone), progress=progress, who=who
        )
    for warning in result.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    return result


@app.command()
def stats(
    case: CaseArg,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """Counts of chats, messages, actors, media and findings."""
    from .stats import stats as run_stats

    try:
        result = run_stats(_open(case, key_file, db, create=False))
    except PerisaiError as exc:
        fail(exc)
    emit(result, as_json, json.dumps(result, indent=2))


@app.command()
def verify(case: CaseArg, as_json: JsonOut = False, key_file: KeyFile = None, db: Db = None):
    """Replay the custody chain and re-check every stored message and blob (exit 1 on mismatch)."""
    from .progress import bar
    from .verify import verify as run_verify

    try:
        with bar("Verifying blobs") as progress:
            result = run_verify(_open(case, key_file, db, create=False), progress=progress)
    except PerisaiError as exc:
        fail(exc)
    checked = result["checked"]
    if result["ok"]:
        human = (
            f"OK: {checked['custody_events']} custody events, {checked['exports']} exports, "
            f"{checked['messages']} messages, {checked['blobs']} vault blobs all match"
        )
    else:
        human = "FAILED: " + result["problems"][0]
        if len(result["problems"]) > 1:
            human += f" (and {len(result['problems']) - 1} more problems)"
    emit(result, as_json, human)
    if not result["ok"]:
        raise typer.Exit(1)


Workers = Annotated[int | None, typer.Option(settings.WORKERS.option, help=settings.WORKERS.help)]
DaskOpt = Annotated[str | None, typer.Option(settings.DASK.option, help=settings.DASK.help)]
DaskFilesOpt = Annotated[
    str | None, typer.Option(settings.DASK_FILES.option, help=settings.DASK_FILES.help)
]


@app.command()
def triage(
    case: CaseArg,
    workers: Workers = None,
    only: Annotated[
        str | None, typer.Option("--only", help="Comma-separated stages to run (e.g. text).")
    ] = None,
    seal_to: Annotated[
        Path | None,
        typer.Option(
            "--seal-to",
            help="Police X25519 public key (PEM): seal files matching a csam list to it "
            "instead of only deleting them.",
        ),
    ] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
    dask: DaskOpt = None,
    dask_files: DaskFilesOpt = None,
) -> None:
    """Run every stage that has pending work (resumes after an interruption)."""
    try:
        c = _open(case, key_file, db, create=False, who=investigator)
        result = _triage(c, workers, only, investigator, seal_to, dask, dask_files)
    except PerisaiError as exc:
        fail(exc)
    lines = [
        f"{name}: {info['items']} items, "
        + (", ".join(f"{k} {v}" for k, v in sorted(info["found"].items())) or "nothing found")
        for name, info in result["stages"].items()
    ]
    emit(result, as_json, "\n".join(lines) or "nothing pending")


def _triage(
    c: Any,
    workers: int | None,
    only: str | None,
    who: str | None,
    seal_to: Path | None = None,
    dask: str | None = None,
    dask_files: str | None = None,
) -> dict:
    from .pipeline import triage as run_triage
    from .progress import bar

    with bar("Triage") as progress:
        callback = (lambda stage, done, total: progress(done, total, stage)) if progress else None
        return run_triage(
            c,
            workers=workers,
            only=only,
            progress=callback,
            who=who,
            seal_to=seal_to,
            dask=dask,
            dask_files=dask_files,
        )


@app.command()
def findings(
    case: CaseArg,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind (or family, e.g. pii).")
    ] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """Detector results: PII, links, intents (one JSON object per finding)."""
    from .findings import findings as run_findings

    try:
        result = run_findings(_open(case, key_file, db, create=False), kind)
    except PerisaiError as exc:
        fail(exc)
    human = "\n".join(
        f"{f['kind']:<20} {f['value']:<40} chat {f['chat_id']} message {f['message_id']}"
        for f in result
    )
    emit(result, as_json, human or "no findings")


@app.command()
def scan(
    case: CaseArg,
    export: ExportArg,
    timezone: TimezoneOpt = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """The main job: ingest an export, triage it, and write the police report (HTML and PDF)
    into CASE/reports/."""
    from .reports import describe, render
    from .stats import stats as run_stats

    try:
        _preflight_for_new_case(case, export)
        c = _open(case, key_file, db, who=investigator)
        result = _ingest(c, export, timezone, investigator)
        triaged = _triage(c, None, None, investigator)
        counts = run_stats(c)
        report = describe(render(c, "police", case / "reports", who=investigator))
    except PerisaiError as exc:
        fail(exc)
    out = {"ingest": result, "triage": triaged, "stats": counts, "report": report}
    files = ", ".join(f["path"] for f in report)
    emit(out, as_json, json.dumps(counts, indent=2) + f"\npolice report: {files}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo case.")] = Path(
        "demo-case"
    ),
) -> None:
    """Build a synthetic case end to end and print where everything is."""
    from .demo import run_demo

    try:
        run_demo(out)
    except PerisaiError as exc:
        fail(exc)


hashlist_app = typer.Typer(help="Hash lists from hotlines and platforms.", no_args_is_help=True)
app.add_typer(hashlist_app, name="hashlist")


@hashlist_app.command("import")
def hashlist_import(
    case: CaseArg,
    file: Annotated[Path, typer.Argument(help="The list: txt, csv, VICS JSON, NCMEC XML...")],
    name: Annotated[str, typer.Option("--name", help="A name for the list.")],
    category: Annotated[
        str, typer.Option("--category", help="csam, ncii, voyeur, doxx or benign.")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, txt, csv, vics, ncmec or stopncii.")
    ] = "auto",
    threshold: Annotated[
        int, typer.Option("--threshold", help="PDQ distance that still matches.")
    ] = 31,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Import a hash list; the next `perisai triage` matches every file against it."""
    from .hashlists import import_list

    try:
        c = _open(case, key_file, db, create=False, who=investigator)
        result = import_list(c, file, name, category, fmt, threshold, investigator)
    except PerisaiError as exc:
        fail(exc)
    human = (
        f"list {result['name']} ({result['category']}): {result['added']} hashes added, "
        f"{result['duplicates']} duplicates, {result['withdrawn']} withdrawals; "
        "run `perisai triage` to match"
    )
    emit(result, as_json, human)


@app.command()
def decide(
    case: CaseArg,
    sha256: Annotated[str, typer.Argument(help="SHA-256 of the file decided on.")],
    category: Annotated[
        str, typer.Option("--category", help="csam, ncii, voyeur, doxx, benign or none.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="Why, for the record.")] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Record a review decision; it applies to the file's whole near-duplicate cluster."""
    from .decisions import decide as run_decide

    try:
        c = _open(case, key_file, db, create=False, who=investigator)
        result = run_decide(c, sha256, category, note, investigator)
    except PerisaiError as exc:
        fail(exc)
    human = f"{result['category']} for {result['applies_to']} file(s) in the cluster" + (
        f"; {result['quarantined']} quarantined" if result["quarantined"] else ""
    )
    emit(result, as_json, human)


@app.command("victim-hash")
def victim_hash_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos or folders of them.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the JSON file.")],
    local_features: Annotated[
        bool,
        typer.Option(
            "--local-features",
            help="Also region hashes and ORB keypoint descriptors (about 14 KB a photo), so "
            "crops, borders, screenshots and edits of her photos are found too.",
        ),
    ] = False,
) -> None:
    """On the victim's own device: hash her photos and videos; no pixels leave, no case needed."""
    from .media import victim_hash

    missing = [p for p in paths if not p.exists()]
    if missing:
        fail(PerisaiError(f"{missing[0]} does not exist"))
    # Checked before hashing (which can take long): where the file goes must be writable.
    if out.is_dir():
        fail(PerisaiError(f"{out} is a folder: give a file name for -o"))
    if not out.parent.is_dir():
        fail(PerisaiError(f"{out.parent} does not exist (the folder for -o)"))
    document = victim_hash(list(paths), local=local_features)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        if tmp.is_file():
            tmp.unlink()
        fail(PerisaiError(f"cannot write {out}: {exc.strerror or exc}"))
    items = document["items"]
    failed = sum(1 for i in items if "error" in i)
    typer.echo(
        f"{len(items) - failed} files hashed, {failed} unreadable, written to {out}; "
        "it holds hashes and file names only, never pictures",
        err=True,
    )


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


from . import commands  # noqa: E402,F401  (registers the commands kept in perisai/commands/)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _usage_error(exc: Exception) -> str | None:
    """One line for a Click usage error (missing option, bad value, unknown command), else
    None. By class name: Typer bundles its own copy of Click in some versions, Click in others."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ClickException" not in names:
        return None
    if "NoArgsIsHelpError" in names:  # bare `perisai`: the help is already on stdout
        return ""
    text = _one_line(exc.format_message())  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    if "UsageError" in names and ctx is not None:
        text += f" ({ctx.command_path} --help says more)"
    return text


def main() -> NoReturn:
    try:
        # Not standalone: Click's usage errors come here instead of being printed as a
        # several-line usage box, so bad usage is one line on stderr like any bad input.
        code = app(standalone_mode=False)
    except PerisaiError as exc:  # pragma: no cover - commands catch their own
        fail(exc)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("perisai: interrupted; nothing half-written was kept", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: one line, exit 3, traceback on request
        usage = _usage_error(exc)
        if usage is not None:
            if usage:
                typer.echo(f"perisai: error: {usage}", err=True)
            sys.exit(2)
        if os.environ.get("PERISAI_DEBUG"):
            raise
        typer.echo(
            f"perisai: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(set PERISAI_DEBUG=1 for the traceback, and please report it)",
            err=True,
        )
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    main()
