"""Evidence bundle commands: `bundle`, `verify-bundle`, `timestamp` (see docs/bundle.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..cli_kit import CaseArg, Db, JsonOut, KeyFile, Who, app, emit, fail, open_case
from ..errors import PerisaiError


@app.command()
def bundle(
    case: CaseArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="The bundle file to write (.zip).")],
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Signed evidence bundle for police: manifest, custody log, reports, s.90A draft."""
    from ..evidence.bundle import create_bundle

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        result = create_bundle(c, out, who=investigator)
    except PerisaiError as exc:
        fail(exc)
    human = (
        f"{out}: {result['files']} files, manifest SHA-256 {result['manifest_sha256']}\n"
        f"signing key fingerprint {result['fingerprint']}"
        + (" (new key)" if result["signing_key_created"] else "")
    )
    emit(result, as_json, human)


@app.command("verify-bundle")
def verify_bundle(
    bundle_file: Annotated[Path, typer.Argument(help="The bundle (.zip) to check.")],
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Expected signer (PEM or raw Ed25519 public key)."),
    ] = None,
    tsr: Annotated[
        Path | None,
        typer.Option("--tsr", help="RFC 3161 token to check against the manifest hash."),
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """Check a bundle without the case: hashes, signature, custody chain (exit 1 on mismatch)."""
    from ..evidence.verify_bundle import verify_bundle as run

    try:
        result = run(bundle_file, expected_key=public_key, tsr=tsr)
    except PerisaiError as exc:
        fail(exc)
    human = (
        f"OK: {result['files']} files match the signed manifest, "
        f"{result['custody_events']} custody events link\n"
        f"signing key fingerprint {result['fingerprint']}"
        + (" (matches --public-key)" if result["pinned"] else " (not pinned: compare it)")
    )
    stamp = result["timestamp"]
    if stamp:
        human += (
            f"\ntimestamp: manifest hash stamped at {stamp['gen_time_utc']} UTC, serial "
            f"{stamp['serial']} (TSA certificate chain not checked)"
        )
    emit(result, as_json, human)


@app.command()
def timestamp(
    case: CaseArg,
    tsa: Annotated[str, typer.Option("--tsa", help="Time-stamping authority URL (RFC 3161).")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the TSA.")] = 30.0,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """RFC 3161 token for the latest bundle's manifest hash (the only network call)."""
    from ..evidence.timestamp import request_timestamp

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        result = request_timestamp(c, tsa, timeout=timeout, who=investigator)
    except PerisaiError as exc:
        fail(exc)
    human = (
        f"timestamped manifest {result['manifest_sha256']} at {result['gen_time_utc']} UTC "
        f"(serial {result['serial']}); token in {result['path']}"
    )
    emit(result, as_json, human)
