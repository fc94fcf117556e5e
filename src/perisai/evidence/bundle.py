"""`perisai bundle`: the signed evidence bundle for police.

The zip holds `manifest.json` (every other file's path, size and SHA-256, plus the case id,
tool version, investigator pseudonym and custody head), `manifest.sig` (base64 Ed25519
signature over the exact bytes of manifest.json), `signing-key.pub` (PEM), `README.txt`,
`custody/custody.jsonl` (every custody event, every column), `certificate/s90A-draft.*` and
`reports/` (police, takedown, VICS and NCMEC exchange files). Never media bytes (no vault
blobs, no previews, no sealed files) and never the victims' registry.

Order: reports are rendered first (their custody events are in this bundle), then the custody
log is exported, then the zip is written (atomically), then `bundle.create` is logged: a
bundle's own creation event appears in the next bundle's custody log.

Members are stored uncompressed with fixed metadata (time 1980-01-01, mode 0644), so every
byte of the zip is either a checked header field or a byte of a hashed file: `verify-bundle`
notices a change to any byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .. import __version__, custody, settings
from ..errors import BadInput, PerisaiError
from ..store import models as m
from . import certificate, signing

FORMAT = "perisai-bundle"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signing-key.pub"
UNLISTED = (MANIFEST, SIGNATURE, PUBLIC_KEY)
CUSTODY_LOG = "custody/custody.jsonl"
CUSTODY_COLUMNS = (
    "seq",
    "time_utc",
    "actor",
    "action",
    "tool_version",
    "body",
    "prev_sha256",
    "sha256",
    "mac",
)
REPORT_KINDS = ("police", "takedown", "vics", "ncmec")  # never "victims"

# Fixed metadata for every member: see verify_bundle._check_container.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o100644 << 16
ZIP_SYSTEM = 3
ZIP_VERSION = 20


def zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = ZIP_SYSTEM
    info.create_version = ZIP_VERSION
    info.extract_version = ZIP_VERSION
    info.external_attr = ZIP_MODE
    return info


def write_zip(path: Path, members: Iterable[tuple[str, bytes | Path]]) -> None:
    """The canonical container: stored members, fixed metadata, in the given order."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=False) as zf:
        for name, data in members:
            info = zip_info(name)
            if isinstance(data, Path):
                with data.open("rb") as src, zf.open(info, "w") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
            else:
                zf.writestr(info, data)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _export_custody(conn: Any) -> tuple[bytes, list[dict[str, Any]]]:
    rows = [dict(r) for r in conn.execute(select(m.CUSTODY).order_by(m.CUSTODY.c.seq)).mappings()]
    lines = [
        json.dumps({c: r[c] for c in CUSTODY_COLUMNS}, ensure_ascii=False, sort_keys=True)
        for r in rows
    ]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b"", rows


def _render_reports(case: Any, folder: Path, who: str | None) -> list[Path]:
    """The reports a bundle carries (never the caseworkers' victims report), without pixels."""
    from ..reports import render

    out: list[Path] = []
    for kind in REPORT_KINDS:
        try:
            if kind in ("police", "takedown"):
                written = render(case, kind, folder / kind, thumbnails=False, who=who)
                out += [Path(p) for p in written]
            else:
                target = folder / ("vics.json" if kind == "vics" else "ncmec.xml")
                written = render(case, kind, target, include_identities=False, who=who)
                out += [Path(p) for p in written]
        except PerisaiError:
            raise
        except Exception as exc:  # noqa: BLE001 - no bundle rather than one missing a report
            raise PerisaiError(
                f"the {kind} report could not be made, so no bundle was written "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    return out


def _refuse_pixels(name: str, data: bytes) -> None:
    """Last guard: no embedded image may ride along in any bundled file."""
    if b"data:image/" in data or (name.endswith(".pdf") and b"/Subtype /Image" in data):
        raise PerisaiError(f"refusing to bundle {name}: it embeds an image")


README = """Perisai evidence bundle
=======================

This zip was made by Perisai {version} for case {case_id} on {created} UTC.
It holds no media bytes (no images, no videos) and no victims' registry: only reports,
hashes, counts, message references and the custody log.

Signing key fingerprint (SHA-256 of the raw Ed25519 public key):
  {fingerprint}
Confirm this fingerprint with the sender through a separate channel.

Verify with Perisai (no case or passphrase needed):
  perisai verify-bundle BUNDLE.zip
and check that the fingerprint it prints is the one the sender gave you through a separate
channel (a copy inside this zip proves nothing on its own), or pin the key you were given:
  perisai verify-bundle BUNDLE.zip --public-key KEY-RECEIVED-SEPARATELY.pub
Exit status 0: every file matches, the signature is valid, the custody chain links.
Exit status 1: something was changed; the message names the first file that does not match.
Exit status 2: the file is not a Perisai bundle at all.

Verify by hand:
  1. Unzip into an empty folder.
  2. Every entry of "files" in manifest.json gives a path, a size and a SHA-256: run
     `sha256sum PATH` for each and compare. No other files may be present apart from
     manifest.json, manifest.sig and signing-key.pub.
  3. Check the Ed25519 signature over the exact bytes of manifest.json (OpenSSL 3):
       base64 -d manifest.sig > manifest.sig.bin
       openssl pkeyutl -verify -pubin -inkey signing-key.pub -rawin \\
         -in manifest.json -sigfile manifest.sig.bin
  4. custody/custody.jsonl holds one custody event per line. Each event's sha256 is the
     SHA-256 of the compact JSON array [prev_sha256, seq, time_utc, actor, action,
     tool_version, body] (separators "," and ":" with no spaces, non-ASCII characters
     written as UTF-8, not \\u escapes; body is the string as given); prev_sha256 is the
     previous event's sha256 (64 zeros for the first). The last event must match "custody"
     in manifest.json. The mac column can only be checked with the case key.

What the hashes prove: each file is unchanged since it was hashed. They do not prove that the
Telegram content is authentic; see certificate/s90A-draft.txt.
"""


def create_bundle(case: Any, out: Path | str, who: str | None = None) -> dict[str, Any]:
    """Write the signed bundle to `out`; returns a summary (see docs/bundle.md)."""
    out = Path(out)
    if out.exists():
        raise BadInput(f"{out} already exists: choose a new file name for the bundle")
    if not out.parent.is_dir():
        raise BadInput(f"{out.parent} is not a folder")
    investigator = settings.investigator(who)
    private, key_created = signing.load_or_create(case)
    fingerprint = signing.fingerprint(private.public_key())
    with tempfile.TemporaryDirectory(prefix="perisai-bundle-") as tmp_name:
        tmp = Path(tmp_name)
        report_files = _render_reports(case, tmp / "reports", who)
        members: dict[str, bytes | Path] = {}
        for path in report_files:
            rel = path.resolve().relative_to((tmp / "reports").resolve()).as_posix()
            members[f"reports/{rel}"] = path
        with case.engine.connect() as conn:
            problems = custody.verify_chain(
                conn, case.keys.purpose("custody"), custody.read_head(case.head_path)
            )
            if problems:
                raise PerisaiError(f"the custody log does not verify: {problems[0]}")
            log_bytes, events = _export_custody(conn)
            media = {sha for (sha,) in conn.execute(select(m.MEDIA_FILES.c.sha256))}
            media |= {sha for (sha,) in conn.execute(select(m.PREVIEWS.c.sha256))}
        if not events:
            raise PerisaiError("the case has no custody log")
        head = events[-1]
        created = custody.utc_now()
        members[CUSTODY_LOG] = log_bytes
        exports = [
            {
                "export_id": json.loads(ev["body"]).get("export_id"),
                "time_utc": ev["time_utc"],
                "result_sha256": json.loads(ev["body"]).get("result_sha256"),
            }
            for ev in events
            if ev["action"] == "ingest"
        ]
        case_id = case.meta.get("case_id")
        members["README.txt"] = README.format(
            version=__version__, case_id=case_id, created=created, fingerprint=fingerprint
        ).encode("utf-8")
        facts = {
            "tool_version": __version__,
            "case_id": case_id,
            "created_utc": created,
            "investigator": investigator,
            "exports": exports,
            "custody_events": len(events),
            "head_seq": head["seq"],
            "head_sha256": head["sha256"],
            "file_count": len(members) + 2,
            "fingerprint": fingerprint,
        }
        cert_html, cert_text = certificate.render(facts)
        members["certificate/s90A-draft.html"] = cert_html.encode("utf-8")
        members["certificate/s90A-draft.txt"] = cert_text.encode("utf-8")
        files: list[dict[str, Any]] = []
        for name in sorted(members):
            data = members[name]
            size = data.stat().st_size if isinstance(data, Path) else len(data)
            sha = _sha256_file(data) if isinstance(data, Path) else hashlib.sha256(data).hexdigest()
            if sha in media:
                raise PerisaiError(f"refusing to bundle {name}: it is a media file of the case")
            _refuse_pixels(name, data.read_bytes() if isinstance(data, Path) else data)
            files.append({"path": name, "size": size, "sha256": sha})
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "case_id": case_id,
            "created_utc": created,
            "tool_version": __version__,
            "investigator": investigator,
            "custody": {
                "events": len(events),
                "head_seq": head["seq"],
                "head_sha256": head["sha256"],
            },
            "signing_key": {"algorithm": "Ed25519", "fingerprint": fingerprint},
            "files": files,
        }
        manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
        signature = base64.b64encode(private.sign(manifest_bytes)) + b"\n"
        ordered: list[tuple[str, bytes | Path]] = [
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature),
            (PUBLIC_KEY, signing.public_pem(private.public_key())),
        ]
        ordered += [(str(f["path"]), members[str(f["path"])]) for f in files]
        partial = out.with_name(out.name + ".partial")
        try:
            write_zip(partial, ordered)
            bundle_sha = _sha256_file(partial)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    body = {
        "bundle_path": str(out.resolve()),
        "bundle_sha256": bundle_sha,
        "manifest_sha256": manifest_sha,
        "files": len(files),
        "custody_head_seq": head["seq"],
        "signing_key_fingerprint": fingerprint,
        "signing_key_created": key_created,
    }
    with case.begin() as conn:
        event = case.log(conn, "bundle.create", body, who)
    return {
        "path": str(out),
        "bundle_sha256": bundle_sha,
        "manifest_sha256": manifest_sha,
        "files": len(files),
        "fingerprint": fingerprint,
        "signing_key_created": key_created,
        "custody_events": len(events),
        "custody_event": event["seq"],
    }
