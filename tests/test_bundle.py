"""Evidence bundle: it verifies without the case; any changed byte fails, naming the file."""

import base64
import hashlib
import io
import json
import struct
import time
import zipfile
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select

from perisai import custody
from perisai.case import Case
from perisai.errors import BadInput, CheckFailed, PerisaiError
from perisai.evidence import signing
from perisai.evidence.bundle import (
    CUSTODY_LOG,
    MANIFEST,
    PUBLIC_KEY,
    SIGNATURE,
    create_bundle,
    write_zip,
)
from perisai.evidence.verify_bundle import verify_bundle
from perisai.hashlists import import_list
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.store import models as m
from perisai.synth import synth
from perisai.victims import add_victim

from helpers import run_cli

ALIAS = "Kembang-Registry-Alias"
ALIAS2 = "Melur-Second-Alias"
PHONE = "+60 12-345 6789"
EMAIL = "nurul.registry@example.com"
DIGEST = "ab" * 32


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A triaged synthetic case with one CSAM-listed photo quarantined and a registered victim."""
    import os

    os.environ.setdefault("PERISAI_PASSPHRASE", "correct horse battery staple")
    root = tmp_path_factory.mktemp("bundle")
    export = root / "export"
    synth(export, messages=120, photos=6, seed=7)
    truth = json.loads((export / "ground_truth.json").read_text())
    photos = [x for x in truth["media"] if x.get("path") and x["kind"] == "photo"]
    listed = photos[0]
    case = Case.open(root / "case")
    ingest(case, export, who="inv-test")
    (root / "csam.txt").write_text(f"sha256 {listed['sha256']}\n")
    import_list(case, root / "csam.txt", "hotline-csam", "csam")
    triage(case, workers=1, only="hash,group,match,preview,text", who="inv-test")
    add_victim(case, ALIAS, phones=[PHONE], emails=[EMAIL], who="cw-1", match=False)
    with case.begin() as conn:  # and one written straight into the tables
        conn.execute(
            insert(m.VICTIMS),
            {"id": 99, "alias": ALIAS2, "registered_utc": custody.utc_now(), "investigator": "x"},
        )
        conn.execute(
            insert(m.VICTIM_IDENTIFIERS), {"victim_id": 99, "kind": "pii.phone", "digest": DIGEST}
        )
    with case.engine.connect() as conn:
        digests = [d for (d,) in conn.execute(select(m.VICTIM_IDENTIFIERS.c.digest))]
        states = dict(
            conn.execute(select(m.MEDIA_FILES.c.sha256, m.MEDIA_FILES.c.vault_state)).all()
        )
        previews = [sha for (sha,) in conn.execute(select(m.PREVIEWS.c.sha256))]
    assert states[listed["sha256"]] == "quarantined" and len(digests) == 3
    out = root / "bundle.zip"
    result = create_bundle(case, out, who="inv-test")
    return {
        "case": case,
        "zip": out,
        "result": result,
        "quarantined": (export / listed["path"]).read_bytes(),
        "media": [(export / x["path"]).read_bytes() for x in photos[1:]],
        "previews": [case.vault.read(sha) for sha in previews],
        "digests": digests,
    }


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _rewrite(src, dst, change):
    """Rebuild the bundle with the canonical writer after `change(name, data) -> data`."""
    write_zip(dst, [(name, change(name, data)) for name, data in _members(src)])


def _flip(data, at=None):
    at = len(data) // 2 if at is None else at
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _resign(members, private):
    """Re-sign an edited bundle with `private` (what someone holding the key could do)."""
    files = [
        {"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for n, d in members
        if n not in (MANIFEST, SIGNATURE, PUBLIC_KEY)
    ]
    manifest = json.loads(dict(members)[MANIFEST])
    manifest["files"] = files
    manifest["signing_key"]["fingerprint"] = signing.fingerprint(private.public_key())
    body = json.dumps(manifest, indent=2).encode() + b"\n"
    rest = [(n, d) for n, d in members if n not in (MANIFEST, SIGNATURE, PUBLIC_KEY)]
    return [
        (MANIFEST, body),
        (SIGNATURE, base64.b64encode(private.sign(body)) + b"\n"),
        (PUBLIC_KEY, signing.public_pem(private.public_key())),
        *rest,
    ]


def test_bundle_verifies_with_its_contents_and_custody(built):
    result = verify_bundle(built["zip"], expected_key=built["case"].root / "signing.pub")
    assert result["ok"] and result["pinned"]
    assert result["fingerprint"] == built["result"]["fingerprint"]
    assert result["manifest_sha256"] == built["result"]["manifest_sha256"]
    names = [n for n, _ in _members(built["zip"])]
    assert names[:3] == [MANIFEST, SIGNATURE, PUBLIC_KEY]
    for needed in (CUSTODY_LOG, "README.txt", "certificate/s90A-draft.html"):
        assert needed in names
    assert "certificate/s90A-draft.txt" in names
    manifest = json.loads(dict(_members(built["zip"]))[MANIFEST])
    assert {f["path"] for f in manifest["files"]} == set(names[3:])
    assert manifest["investigator"] == "inv-test" and manifest["case_id"]
    with built["case"].engine.connect() as conn:
        events = custody.events(conn)
    made = [e for e in events if e["action"] == "bundle.create"]
    assert made and made[0]["body"]["manifest_sha256"] == result["manifest_sha256"]
    assert made[0]["body"]["bundle_sha256"] == hashlib.sha256(built["zip"].read_bytes()).hexdigest()
    # The bundle's own creation event is not in it (it was logged after): it is in the next one.
    exported = dict(_members(built["zip"]))[CUSTODY_LOG].decode().splitlines()
    assert len(exported) == result["custody_events"] == made[0]["seq"] - 1
    assert [json.loads(line)["sha256"] for line in exported] == [
        e["sha256"] for e in events[: len(exported)]
    ]


def test_no_media_bytes_and_no_victim_registry_in_the_bundle(built):
    blob = b"".join(d for _, d in _members(built["zip"]))
    raw = built["zip"].read_bytes()
    for media in [built["quarantined"], *built["media"], *built["previews"]]:
        assert len(media) > 256
        assert media[100:228] not in raw and media[100:228] not in blob
    secrets = [ALIAS, ALIAS2, PHONE, "60123456789", "123456789", EMAIL, *built["digests"]]
    for secret in [s.encode() for s in secrets] + [b"victim_identifiers", b"victim_hashes"]:
        assert secret not in raw, secret
    log = dict(_members(built["zip"]))[CUSTODY_LOG].decode()
    assert '"victim.add"' in log  # the registration is in the custody log, as counts only
    assert not any(
        n.startswith(("vault/", "sealed/")) or n.endswith((".jpg", ".png", ".mp4"))
        for n, _ in _members(built["zip"])
    )
    # the signing key's private half never leaves the case
    private, created = signing.load_or_create(built["case"])
    assert not created
    seed = private.private_bytes_raw()
    key_file = (built["case"].root / "signing.key").read_bytes()
    for form in (seed, seed.hex().encode(), base64.b64encode(seed)):
        assert form not in raw and form not in key_file


def test_a_one_byte_change_in_any_member_fails_naming_it(built, tmp_path):
    names = [n for n, _ in _members(built["zip"])]
    assert len(names) >= 7
    for name in names:
        bad = tmp_path / f"flip-{len(name)}.zip"
        _rewrite(built["zip"], bad, lambda n, d, name=name: _flip(d) if n == name else d)
        with pytest.raises(CheckFailed) as err:
            verify_bundle(bad)
        assert name in str(err.value), (name, str(err.value))
    proc = run_cli("verify-bundle", str(bad))
    assert proc.returncode == 1 and names[-1] in proc.stderr


def test_a_raw_byte_change_anywhere_in_the_zip_fails(built, tmp_path):
    data = built["zip"].read_bytes()
    bad = tmp_path / "raw.zip"
    # Mid-data of every member: named.
    with zipfile.ZipFile(built["zip"]) as zf:
        spans = [
            (i.filename, i.header_offset + 30 + len(i.filename.encode()), i.file_size)
            for i in zf.infolist()
        ]
    structural = set(range(len(data)))
    for name, start, size in spans:
        structural -= set(range(start, start + size))
        bad.write_bytes(_flip(data, start + size // 2))
        with pytest.raises(CheckFailed) as err:
            verify_bundle(bad)
        assert name in str(err.value), (name, str(err.value))
    # Every byte of every header, the central directory and the end record: still caught.
    assert 600 < len(structural) < 20000
    for at in sorted(structural):
        bad.write_bytes(_flip(data, at))
        with pytest.raises(PerisaiError) as err:
            verify_bundle(bad)
        assert err.value.exit_code == 1, (at, str(err.value))
    proc = run_cli("verify-bundle", str(bad), "--json")
    assert proc.returncode == 1 and proc.stdout == "" and "error" in proc.stderr


def test_cli_prints_the_fingerprint_and_pins_the_signer(built, tmp_path):
    proc = run_cli("verify-bundle", str(built["zip"]))
    assert proc.returncode == 0, proc.stderr
    assert built["result"]["fingerprint"] in proc.stdout and "not pinned" in proc.stdout
    proc = run_cli("verify-bundle", str(built["zip"]), "--json")
    assert json.loads(proc.stdout)["fingerprint"] == built["result"]["fingerprint"]
    other = tmp_path / "other.pub"
    other.write_bytes(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    proc = run_cli("verify-bundle", str(built["zip"]), "--public-key", str(other))
    assert proc.returncode == 1 and "not the expected key" in proc.stderr
    # A bundle re-signed with another key verifies on its own but not against the pin.
    forged = tmp_path / "forged.zip"
    write_zip(forged, _resign(_members(built["zip"]), Ed25519PrivateKey.generate()))
    assert verify_bundle(forged)["fingerprint"] != built["result"]["fingerprint"]
    with pytest.raises(CheckFailed, match="not the expected key"):
        verify_bundle(forged, expected_key=built["case"].root / "signing.pub")


def test_custody_chain_is_replayed_even_under_a_valid_signature(built, tmp_path):
    private, _ = signing.load_or_create(built["case"])
    members = _members(built["zip"])
    lines = dict(members)[CUSTODY_LOG].decode().splitlines()
    first = json.loads(lines[0])
    first["body"] = first["body"].replace("case_id", "case_Id")
    edited = "\n".join([json.dumps(first), *lines[1:]]) + "\n"
    bad = tmp_path / "edited.zip"
    write_zip(
        bad,
        _resign([(n, edited.encode() if n == CUSTODY_LOG else d) for n, d in members], private),
    )
    with pytest.raises(CheckFailed, match=r"custody\.jsonl line 1: event 1 was edited"):
        verify_bundle(bad)
    cut = "\n".join(lines[:-1]) + "\n"
    write_zip(
        bad, _resign([(n, cut.encode() if n == CUSTODY_LOG else d) for n, d in members], private)
    )
    with pytest.raises(CheckFailed, match="events were added or removed"):
        verify_bundle(bad)


def test_second_bundle_reuses_the_key_and_holds_the_first_bundle_event(built, tmp_path):
    second = create_bundle(built["case"], tmp_path / "second.zip")
    assert not second["signing_key_created"]
    assert second["fingerprint"] == built["result"]["fingerprint"]
    log = dict(_members(tmp_path / "second.zip"))[CUSTODY_LOG].decode()
    assert built["result"]["manifest_sha256"] in log
    assert verify_bundle(tmp_path / "second.zip")["ok"]
    with pytest.raises(BadInput, match="already exists"):
        create_bundle(built["case"], tmp_path / "second.zip")
    assert not list(tmp_path.glob("*.partial"))


def test_hostile_text_is_escaped_in_the_certificate(built, tmp_path):
    who = "<script>alert(1)</script>\u202eevil"
    create_bundle(built["case"], tmp_path / "hostile.zip", who=who)
    members = dict(_members(tmp_path / "hostile.zip"))
    page = members["certificate/s90A-draft.html"].decode()
    text = members["certificate/s90A-draft.txt"].decode()
    assert "<script>" not in page and "&lt;script&gt;" in page and "\u202e" not in page
    assert "<U+202E>" in text and "\u202e" not in text
    assert "[TO BE COMPLETED BY THE CERTIFYING OFFICER]" in page
    assert "does NOT prove" in text and "Perisai" in text


def _bomb_bundle(tmp_path, private, lie):
    """A validly signed bundle whose member inflates to 200 MB (declared or not)."""
    zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    comp = b"".join(zeros.compress(chunk) for _ in range(200)) + zeros.flush()
    members = _resign(_members(tmp_path / "base.zip"), private)
    manifest = json.loads(members[0][1])
    manifest["files"].append({"path": "reports/bomb.txt", "size": 10, "sha256": "0" * 64})
    body = json.dumps(manifest).encode()
    members[0] = (MANIFEST, body)
    members[1] = (SIGNATURE, base64.b64encode(private.sign(body)) + b"\n")
    path = tmp_path / f"bomb-{lie}.zip"
    write_zip(path, members)
    buf = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(buf, "a") as zf:
        info = zipfile.ZipInfo("reports/bomb.txt")
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, b"")  # placeholder, replaced below
    raw = buf.getvalue()
    # Splice in the deflate stream by hand: local header + data + central record + end.
    crc = zlib.crc32(b"\0" * 0)
    for _ in range(200):
        crc = zlib.crc32(chunk, crc)
    size = 10 if lie else 200 << 20
    name = b"reports/bomb.txt"
    with zipfile.ZipFile(path) as zf:
        cd_start = zf.start_dir
        n = len(zf.infolist())
    head = path.read_bytes()
    central_old = head[cd_start:-22]
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, crc, len(comp), size, len(name), 0
    )
    central_new = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        33,
        crc,
        len(comp),
        size,
        len(name),
        0,
        0,
        0,
        0,
        0,
        cd_start,
    )
    out = head[:cd_start] + local + name + comp
    cd = central_old + central_new + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n + 1, n + 1, len(cd), len(out), 0)
    path.write_bytes(out + cd + end)
    assert raw  # the zipfile module accepted the shape
    return path


def test_zip_bombs_cost_only_what_the_manifest_allows(built, tmp_path):
    (tmp_path / "base.zip").write_bytes(built["zip"].read_bytes())
    private = Ed25519PrivateKey.generate()
    for lie in (False, True):
        path = _bomb_bundle(tmp_path, private, lie)
        with zipfile.ZipFile(path) as zf:
            assert zf.getinfo("reports/bomb.txt").file_size == (10 if lie else 200 << 20)
        start = time.monotonic()
        with pytest.raises(CheckFailed, match="reports/bomb.txt") as err:
            verify_bundle(path)
        assert time.monotonic() - start < 5, str(err.value)


def test_not_a_bundle_is_exit_2_and_a_damaged_one_exit_1(built, tmp_path):
    text = tmp_path / "notes.zip"
    text.write_text("just some notes\n")
    proc = run_cli("verify-bundle", str(text))
    assert proc.returncode == 2 and "not a zip" in proc.stderr
    with pytest.raises(BadInput, match="is not a file"):
        verify_bundle(tmp_path / "missing.zip")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(BadInput, match="not a Perisai bundle"):
        verify_bundle(other)
    data = built["zip"].read_bytes()
    for keep in (len(data) // 2, len(data) - 10, 100):
        cut = tmp_path / f"cut{keep}.zip"
        cut.write_bytes(data[:keep])
        with pytest.raises(CheckFailed, match="damaged or truncated"):
            verify_bundle(cut)
    proc = run_cli("verify-bundle", str(tmp_path / f"cut{len(data) // 2}.zip"))
    assert proc.returncode == 1


@pytest.mark.parametrize(
    "evil", ["../escape.txt", "/etc/passwd", "reports/../../x", "C:/win.txt", "a\\b.txt"]
)
def test_hostile_entry_names_are_refused(built, tmp_path, evil):
    members = _members(built["zip"]) + [(evil, b"x")]
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # bypass zipfile's own clean-up of the name
            zf.writestr(info, data)
    with pytest.raises(CheckFailed, match="unsafe entry name"):
        verify_bundle(bad)
    assert not (tmp_path / "escape.txt").exists()


def test_duplicate_and_unlisted_entries_are_refused(built, tmp_path):
    members = _members(built["zip"])
    dup = tmp_path / "dup.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(dup, "w") as zf:
        for name, data in [*members, (CUSTODY_LOG, b"{}\n")]:
            zf.writestr(name, data)
    with pytest.raises(CheckFailed, match=r"custody/custody\.jsonl: appears twice"):
        verify_bundle(dup)
    extra = tmp_path / "extra.zip"
    write_zip(extra, [*members, ("reports/added.html", b"<p>added</p>")])
    with pytest.raises(CheckFailed, match=r"reports/added\.html is in the zip but not in"):
        verify_bundle(extra)
    gone = tmp_path / "gone.zip"
    write_zip(gone, [(n, d) for n, d in members if n != "README.txt"])
    with pytest.raises(CheckFailed, match=r"README\.txt is listed in the manifest but missing"):
        verify_bundle(gone)


def test_bundle_cli(built, tmp_path):
    case = str(built["case"].root)
    proc = run_cli("bundle", case, "-o", str(tmp_path / "cli.zip"), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["fingerprint"] == built["result"]["fingerprint"]
    proc = run_cli("bundle", case, "-o", str(tmp_path / "cli.zip"))
    assert proc.returncode == 2 and "already exists" in proc.stderr
    proc = run_cli("bundle", str(tmp_path / "nocase"), "-o", str(tmp_path / "x.zip"))
    assert proc.returncode == 2 and "not a Perisai case" in proc.stderr
    proc = run_cli(
        "verify-bundle", str(tmp_path / "cli.zip"), "--public-key", case + "/signing.pub"
    )
    assert proc.returncode == 0 and "matches --public-key" in proc.stdout


def test_the_last_guard_refuses_embedded_images():
    from perisai.evidence.bundle import _refuse_pixels
    from perisai.reports.common import without_images as _no_images

    with pytest.raises(PerisaiError, match="embeds an image"):
        _refuse_pixels("reports/police/police.html", b'<img src="data:image/png;base64,iVBO">')
    with pytest.raises(PerisaiError, match="embeds an image"):
        _refuse_pixels("reports/police/police.pdf", b"<< /Type /XObject /Subtype /Image >>")
    _refuse_pixels("reports/vics.json", b'{"note": "no pictures here"}')
    ctx = {"rows": [{"thumb": "data:image/jpeg;base64,/9j/", "name": "data: not an image"}]}
    assert _no_images(ctx) == {"rows": [{"thumb": None, "name": "data: not an image"}]}
