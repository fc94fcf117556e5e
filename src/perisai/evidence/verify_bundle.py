"""`perisai verify-bundle`: check a bundle on a machine without the case or its passphrase.

Exit 1 (CheckFailed) for a bundle that was changed or damaged, naming the first file (or zip
entry) that does not match; exit 2 (BadInput) for something that is not a bundle at all: not a
file, not a zip, or a zip holding none of manifest.json, manifest.sig and signing-key.pub.

Nothing is extracted to disk: each member is streamed through SHA-256 and never read past the
size the signed manifest gives, so a zip bomb costs at most that many bytes of reading.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..custody import GENESIS, _event_hash
from ..errors import BadInput, CheckFailed
from . import signing
from .bundle import (
    CUSTODY_COLUMNS,
    CUSTODY_LOG,
    FORMAT,
    MANIFEST,
    PUBLIC_KEY,
    SIGNATURE,
    UNLISTED,
    ZIP_MODE,
    ZIP_SYSTEM,
    ZIP_TIME,
    ZIP_VERSION,
)

MANIFEST_LIMIT = 64 << 20
# A bundle holds a dozen members. zipfile builds an object per central-directory entry before
# we see any, so a 90 MB zip of a million empty entries cost 630 MB: refuse from the end record.
MAX_ENTRIES = 10_000
MAX_CENTRAL = 16 << 20
KEY_LIMIT = 4096
SIG_LIMIT = 1024
_LOCAL = struct.Struct("<4s5H3L2H")
_END = struct.Struct("<4s4H2LH")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")


def _fail(message: str) -> CheckFailed:
    return CheckFailed(message)


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, sink: Any = None) -> bytes:
    """Stream one member, never past `limit` bytes; returns the bytes unless `sink` takes them."""
    name = info.filename
    if info.file_size > limit:
        raise _fail(f"{name}: declares {info.file_size} bytes, more than the {limit} expected")
    chunks: list[bytes] = []
    total = 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(min(1 << 20, limit + 1 - total) or 1):
                total += len(chunk)
                if total > limit:
                    raise _fail(f"{name}: holds more than the {limit} bytes expected")
                if sink is not None:
                    sink(chunk)
                else:
                    chunks.append(chunk)
    except CheckFailed:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise _fail(f"{name}: damaged in the zip ({exc})") from None
    except (NotImplementedError, RuntimeError) as exc:  # unknown compression, encryption
        raise _fail(f"{name}: cannot be read ({exc})") from None
    return b"".join(chunks)


def _open(path: Path) -> tuple[zipfile.ZipFile, IO[bytes]]:
    if not path.is_file():
        raise BadInput(f"{path} is not a file")
    try:
        raw = path.open("rb")
    except OSError as exc:  # no permission, a file that vanished
        raise BadInput(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        end = zipfile._EndRecData(raw)  # type: ignore[attr-defined]  # the end record only
    except (OSError, AttributeError, struct.error):
        end = None
    if end:
        entries, central = end[4], end[5]  # zipfile's _ECD_ENTRIES_TOTAL, _ECD_SIZE
        if entries > MAX_ENTRIES or central > MAX_CENTRAL:
            raw.close()
            raise _fail(
                f"{path}: the zip declares {entries} entries ({central} bytes of directory); "
                f"a Perisai bundle has far fewer (at most {MAX_ENTRIES})"
            )
    try:
        return zipfile.ZipFile(raw), raw
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raw.seek(0)
        head = raw.read(4)
        size = raw.seek(0, 2)
        raw.seek(max(0, size - (1 << 16) - 22))
        looks_zip = head == b"PK\x03\x04" or b"PK\x05\x06" in raw.read()
        raw.close()
        if looks_zip:
            raise _fail(f"{path}: the zip is damaged or truncated ({exc})") from None
        raise BadInput(f"{path} is not a zip file, so not a Perisai bundle") from None


def _check_names(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if (
            not name
            or name.startswith("/")
            or "\\" in name
            or ":" in name
            or any(p in ("", ".", "..") for p in parts)
            or any(ord(ch) < 32 for ch in name)
        ):
            raise _fail(f"unsafe entry name {name!r} in the zip (absolute, traversal or odd)")
        if name in by_name:
            raise _fail(f"{name}: appears twice in the zip")
        by_name[name] = info
    return by_name


def _check_signature(
    zf: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo]
) -> tuple[bytes, Ed25519PublicKey]:
    for name in UNLISTED:
        if name not in by_name:
            raise _fail(f"{name} is missing from the bundle")
    pem = _read(zf, by_name[PUBLIC_KEY], KEY_LIMIT)
    try:
        public = signing.parse_public_pem(pem, PUBLIC_KEY)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if signing.public_pem(public) != pem:
        raise _fail(f"{PUBLIC_KEY} was altered (not the key as written)")
    sig_text = _read(zf, by_name[SIGNATURE], SIG_LIMIT)
    try:
        sig = base64.b64decode(sig_text.rstrip(b"\n"), validate=True)
    except (binascii.Error, ValueError):
        raise _fail(f"{SIGNATURE} is not a base64 signature") from None
    if len(sig) != 64 or base64.b64encode(sig) + b"\n" != sig_text:
        raise _fail(f"{SIGNATURE} was altered (not a signature as written)")
    manifest = _read(zf, by_name[MANIFEST], MANIFEST_LIMIT)
    try:
        public.verify(sig, manifest)
    except InvalidSignature:
        try:
            named = json.loads(manifest)["signing_key"]["fingerprint"]
        except (ValueError, KeyError, TypeError):
            named = None
        if named is not None and named != signing.fingerprint(public):
            raise _fail(
                f"{PUBLIC_KEY} is not the key named in {MANIFEST}: the signature does not verify"
            ) from None
        raise _fail(
            f"{MANIFEST} does not match its signature {SIGNATURE}: one of them was changed"
        ) from None
    return manifest, public


def _parse_manifest(data: bytes, fingerprint: str) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise _fail(f"{MANIFEST} is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _fail(f"{MANIFEST} is not a Perisai bundle manifest")
    if manifest.get("version") != 1:
        raise _fail(f"{MANIFEST}: unsupported bundle version {manifest.get('version')!r}")
    key = manifest.get("signing_key")
    if not isinstance(key, dict) or key.get("fingerprint") != fingerprint:
        raise _fail(f"{MANIFEST} names a different signing key from {PUBLIC_KEY}")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise _fail(f"{MANIFEST} has no file list")
    seen: set[str] = set()
    for entry in files:
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("size"), int)
            and entry["size"] >= 0
            and isinstance(entry.get("sha256"), str)
        )
        if not ok or entry["path"] in seen or entry["path"] in UNLISTED:
            raise _fail(f"{MANIFEST} has a malformed or repeated file entry: {entry!r:.200}")
        seen.add(entry["path"])
    return manifest


def _check_files(
    zf: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo], manifest: dict[str, Any]
) -> bytes:
    custody_log = b""
    for entry in manifest["files"]:
        name, size = entry["path"], entry["size"]
        info = by_name.get(name)
        if info is None:
            raise _fail(f"{name} is listed in the manifest but missing from the zip")
        if info.file_size != size:
            raise _fail(f"{name}: {info.file_size} bytes in the zip, manifest says {size}")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            # write_zip stores every member as is; a compressed one could inflate to gigabytes
            # (the custody log is read whole), so it is refused before a byte is inflated.
            raise _fail(f"{name}: compressed in the zip, but a bundle stores its files as written")
        digest = hashlib.sha256()
        if name == CUSTODY_LOG:
            custody_log = _read(zf, info, size)
            digest.update(custody_log)
        else:
            _read(zf, info, size, digest.update)
        if digest.hexdigest() != entry["sha256"]:
            raise _fail(f"{name}: SHA-256 differs from the manifest (the file was changed)")
    listed = {e["path"] for e in manifest["files"]} | set(UNLISTED)
    extra = sorted(set(by_name) - listed)
    if extra:
        raise _fail(f"{extra[0]} is in the zip but not in the manifest")
    return custody_log


def check_custody(data: bytes, manifest: dict[str, Any]) -> int:
    """Replay the exported chain's SHA-256 links (not the MACs: they need the case key)."""
    prev, expected = GENESIS, 1
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(f"{CUSTODY_LOG} is not UTF-8") from None
    # Lines one at a time: splitlines() made a list of every line first, 50 bytes of objects
    # per line, so megabytes of bare newlines cost gigabytes.
    for n, line in enumerate(io.StringIO(text, newline="\n"), 1):
        where = f"{CUSTODY_LOG} line {n}"
        try:
            ev = json.loads(line)
        except ValueError:
            raise _fail(f"{where} is not JSON") from None
        if not isinstance(ev, dict) or set(ev) != set(CUSTODY_COLUMNS):
            raise _fail(f"{where} does not have the custody columns")
        if ev["seq"] != expected:
            raise _fail(f"{where}: event {expected} is missing (found {ev['seq']!r})")
        if ev["prev_sha256"] != prev:
            raise _fail(f"{where}: event {ev['seq']} does not link to the event before it")
        try:
            sha = _event_hash(
                ev["prev_sha256"],
                ev["seq"],
                ev["time_utc"],
                ev["actor"],
                ev["action"],
                ev["tool_version"],
                ev["body"],
            )
        except (TypeError, ValueError):
            raise _fail(f"{where} is malformed") from None
        if sha != ev["sha256"]:
            raise _fail(f"{where}: event {ev['seq']} was edited (content does not match hash)")
        prev, expected = sha, expected + 1
    head = manifest.get("custody")
    if not isinstance(head, dict):
        raise _fail(f"{MANIFEST} names no custody head (its custody entry is malformed)")
    if head.get("head_seq") != expected - 1 or head.get("head_sha256") != prev:
        raise _fail(
            f"{CUSTODY_LOG} ends at event {expected - 1} but the manifest names event "
            f"{head.get('head_seq')!r}: events were added or removed"
        )
    return expected - 1


def _dos(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d


def _check_container(raw: IO[bytes], zf: zipfile.ZipFile, file_size: int) -> None:
    """Every byte of the zip outside the members' data must be as bundle.write_zip makes it."""
    offset = 0
    want_time, want_date = _dos(ZIP_TIME)
    central_bytes: list[bytes] = []
    for info in zf.infolist():
        name = info.filename
        where = f"the zip header of {name}"
        utf8 = not name.isascii()
        flags = 0x800 if utf8 else 0
        fields_cd = (
            info.create_version,
            info.create_system,
            info.extract_version,
            info.reserved,
            info.flag_bits,
            info.compress_type,
            info.date_time,
            info.extra,
            info.comment,
            info.volume,
            info.internal_attr,
            info.external_attr,
            info.compress_size,
        )
        expected = (
            ZIP_VERSION,
            ZIP_SYSTEM,
            ZIP_VERSION,
            0,
            flags,
            zipfile.ZIP_STORED,
            ZIP_TIME,
            b"",
            b"",
            0,
            0,
            ZIP_MODE,
            info.file_size,
        )
        if fields_cd != expected or info.header_offset != offset:
            raise _fail(f"{where} (central directory) was altered")
        raw.seek(offset)
        local = raw.read(_LOCAL.size)
        name_bytes = name.encode("utf-8")
        if len(local) != _LOCAL.size:
            raise _fail(f"{where} is truncated")
        fields = _LOCAL.unpack(local)
        want = (
            b"PK\x03\x04",
            ZIP_VERSION,
            flags,
            zipfile.ZIP_STORED,
            want_time,
            want_date,
            info.CRC,
            info.file_size,
            info.file_size,
            len(name_bytes),
            0,
        )
        if fields != want or raw.read(len(name_bytes)) != name_bytes:
            raise _fail(f"{where} (local header) was altered")
        central_bytes.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                ZIP_VERSION,
                ZIP_SYSTEM,
                ZIP_VERSION,
                0,
                flags,
                zipfile.ZIP_STORED,
                want_time,
                want_date,
                info.CRC,
                info.file_size,
                info.file_size,
                len(name_bytes),
                0,
                0,
                0,
                0,
                ZIP_MODE,
                offset,
            )
            + name_bytes
        )
        offset += _LOCAL.size + len(name_bytes) + info.file_size
    central = b"".join(central_bytes)
    cd_size = len(central)
    n = len(zf.infolist())
    if zf.start_dir != offset or file_size != offset + cd_size + _END.size:
        raise _fail("the zip has bytes outside its entries (the container was altered)")
    raw.seek(offset)
    if raw.read(cd_size) != central:
        raise _fail("the zip's central directory was altered")
    raw.seek(offset + cd_size)
    end = _END.unpack(raw.read(_END.size))
    if end != (b"PK\x05\x06", 0, 0, n, n, cd_size, offset, 0):
        raise _fail("the zip's end record was altered")


def verify_bundle(
    path: Path | str,
    expected_key: Ed25519PublicKey | Path | str | None = None,
    tsr: Path | str | None = None,
) -> dict[str, Any]:
    """Check a bundle; returns a summary, raises CheckFailed naming the first mismatch."""
    path = Path(path)
    pinned: Ed25519PublicKey | None
    if expected_key is None or isinstance(expected_key, Ed25519PublicKey):
        pinned = expected_key
    else:
        pinned = signing.load_public_key_file(expected_key)
    token = None
    if tsr is not None:
        try:
            token = Path(tsr).read_bytes()
        except OSError as exc:
            raise BadInput(f"cannot read timestamp token {tsr}: {exc.strerror}") from None
    zf, raw = _open(path)
    with raw, zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        if not names & set(UNLISTED):
            raise BadInput(f"{path} is a zip but not a Perisai bundle (no {MANIFEST})")
        by_name = _check_names(infos)
        manifest_bytes, public = _check_signature(zf, by_name)
        fingerprint = signing.fingerprint(public)
        manifest = _parse_manifest(manifest_bytes, fingerprint)
        if pinned is not None and signing.fingerprint(pinned) != fingerprint:
            raise _fail(
                f"the bundle is signed by key {fingerprint}, not the expected key "
                f"{signing.fingerprint(pinned)}"
            )
        custody_log = _check_files(zf, by_name, manifest)
        if CUSTODY_LOG not in {e["path"] for e in manifest["files"]}:
            raise _fail(f"{CUSTODY_LOG} is missing from the manifest")
        events = check_custody(custody_log, manifest)
        _check_container(raw, zf, path.stat().st_size)
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    stamp = None
    if token is not None:
        from .timestamp import check_token

        stamp = check_token(token, manifest_sha, str(tsr))
    return {
        "ok": True,
        "path": str(path),
        "fingerprint": fingerprint,
        "pinned": pinned is not None,
        "manifest_sha256": manifest_sha,
        "case_id": manifest.get("case_id"),
        "created_utc": manifest.get("created_utc"),
        "tool_version": manifest.get("tool_version"),
        "investigator": manifest.get("investigator"),
        "files": len(manifest["files"]),
        "custody_events": events,
        "timestamp": stamp,
    }
