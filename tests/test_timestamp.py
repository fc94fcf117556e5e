"""RFC 3161 timestamps against a stub TSA on 127.0.0.1 (the tests never reach the network)."""

import hashlib
import http.server
import json
import os
import shutil
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import algos, cms, core, tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from perisai import custody
from perisai.case import Case
from perisai.errors import BadInput, CheckFailed, PerisaiError
from perisai.evidence.bundle import create_bundle
from perisai.evidence.timestamp import build_request, check_token, request_timestamp
from perisai.evidence.verify_bundle import verify_bundle
from perisai.ingest.telegram_export import ingest

from helpers import msg, run_cli, write_export


def _tsa_identity():
    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Stub TSA")])
    now = datetime.now(UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class StubTSA:
    """Answers TimeStampReqs; `mode` makes it misbehave in one particular way."""

    def __init__(self):
        self.key, self.cert = _tsa_identity()
        self.mode = "ok"
        self.requests = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.requests.append((self.headers["Content-Type"], body))
                status, data = stub.answer(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/tsa"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, body):
        if self.mode == "garbage":
            return 200, b"this is not DER at all"
        if self.mode == "http500":
            return 500, b"oops"
        req = tsp.TimeStampReq.load(body)
        if self.mode == "rejection":
            status = tsp.PKIStatusInfo(
                {
                    "status": "rejection",
                    "status_string": ["unsupported algorithm"],
                    "fail_info": tsp.PKIFailureInfo({"bad_alg"}),
                }
            ).dump()
            # A refusal carries no token (asn1crypto's TimeStampResp cannot build that shape).
            return 200, core.Sequence.load(b"\x30" + bytes([len(status)]) + status).dump()
        imprint = req["message_imprint"]
        if self.mode == "wrong_imprint":
            imprint = tsp.MessageImprint(
                {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "hashed_message": hashlib.sha256(b"something else").digest(),
                }
            )
        nonce = req["nonce"].native + (1 if self.mode == "wrong_nonce" else 0)
        info = tsp.TSTInfo(
            {
                "version": 1,
                "policy": "1.2.3.4.1",
                "message_imprint": imprint,
                "serial_number": 777,
                "gen_time": datetime(2026, 11, 29, 23, 0, 1, tzinfo=UTC),
                "nonce": nonce,
            }
        )
        content = info.dump()
        attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
                ),
            ]
        )
        sig = self.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        if self.mode == "bad_signature":
            sig = self.key.sign(b"other bytes", ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": self.cert.issuer,
                            "serial_number": self.cert.serial_number,
                        }
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attrs,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": sig,
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(content),
                },
                "certificates": [self.cert],
                "signer_infos": [signer],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        resp = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
        return 200, resp.dump()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tsa(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    stub = StubTSA()
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def _made(tmp_path_factory):
    os.environ.setdefault("PERISAI_PASSPHRASE", "correct horse battery staple")
    root = tmp_path_factory.mktemp("stamped")
    export = write_export(root / "export", [msg(i, f"message {i}") for i in range(1, 6)])
    case = Case.open(root / "case")
    ingest(case, export)
    result = create_bundle(case, root / "b.zip")
    case.close()
    return root, result


@pytest.fixture
def bundled(_made, tmp_path):
    """A fresh copy of a bundled case for each test (rendering reports takes seconds)."""
    root, result = _made
    shutil.copytree(root / "case", tmp_path / "case")
    shutil.copy(root / "b.zip", tmp_path / "b.zip")
    return Case.open(tmp_path / "case", create=False), tmp_path / "b.zip", result


def _events(case, action):
    with case.engine.connect() as conn:
        return custody.events(conn, action)


def test_timestamp_stores_a_checked_token_and_logs_it(tsa, bundled, tmp_path):
    case, zip_path, made = bundled
    result = request_timestamp(case, tsa.url)
    content_type, body = tsa.requests[0]
    assert content_type == "application/timestamp-query"
    req = tsp.TimeStampReq.load(body)
    assert req["message_imprint"]["hashed_message"].native.hex() == made["manifest_sha256"]
    assert req["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert req["cert_req"].native is True and req["nonce"].native
    path = case.root / "timestamps" / f"{made['manifest_sha256']}.tsr"
    assert result["path"] == str(path) and path.is_file()
    assert result["gen_time_utc"].startswith("2026-11-29T23:00:01")
    assert result["serial"] == "777" and result["signature_checked"]
    (event,) = _events(case, "timestamp")
    assert event["body"]["tsa"] == tsa.url and event["body"]["serial"] == "777"
    assert event["body"]["manifest_sha256"] == made["manifest_sha256"]
    assert event["body"]["gen_time_utc"] == result["gen_time_utc"]
    # verify-bundle --tsr checks the token against the bundle it names.
    checked = verify_bundle(zip_path, tsr=path)
    assert checked["timestamp"]["gen_time_utc"] == result["gen_time_utc"]
    proc = run_cli("verify-bundle", str(zip_path), "--tsr", str(path))
    assert proc.returncode == 0 and "2026-11-29T23:00:01" in proc.stdout
    assert "chain not checked" in proc.stdout
    # ... and refuses it for another bundle.
    create_bundle(case, tmp_path / "b2.zip")
    with pytest.raises(CheckFailed, match="different hash"):
        verify_bundle(tmp_path / "b2.zip", tsr=path)
    proc = run_cli("verify-bundle", str(tmp_path / "b2.zip"), "--tsr", str(path))
    assert proc.returncode == 1 and "different hash" in proc.stderr


@pytest.mark.parametrize(
    ("mode", "error", "pattern"),
    [
        ("rejection", PerisaiError, r"refused the request \(status rejection, unsupported alg"),
        ("wrong_imprint", CheckFailed, "for a different hash"),
        ("wrong_nonce", CheckFailed, "nonce is not the one we sent"),
        ("garbage", PerisaiError, "not an RFC 3161 timestamp reply"),
        ("http500", PerisaiError, "answered HTTP 500"),
        ("bad_signature", CheckFailed, "signature does not verify"),
    ],
)
def test_a_bad_tsa_answer_is_a_clear_error_and_stores_nothing(tsa, bundled, mode, error, pattern):
    case, _, _ = bundled
    tsa.mode = mode
    with pytest.raises(error, match=pattern):
        request_timestamp(case, tsa.url)
    assert not (case.root / "timestamps").exists() or not any((case.root / "timestamps").iterdir())
    assert not _events(case, "timestamp")


def test_connection_refused_and_no_bundle_yet(tsa, tmp_path, bundled):
    case, _, _ = bundled
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(PerisaiError, match="cannot reach the TSA"):
        request_timestamp(case, f"http://127.0.0.1:{port}/", timeout=5)
    with pytest.raises(BadInput, match="http:// or https://"):
        request_timestamp(case, "file:///etc/passwd")
    fresh = Case.open(tmp_path / "fresh")
    with pytest.raises(BadInput, match="no bundle yet"):
        request_timestamp(fresh, tsa.url)
    proc = run_cli("timestamp", str(tmp_path / "fresh"), "--tsa", tsa.url)
    assert proc.returncode == 2 and "no bundle yet" in proc.stderr
    assert not tsa.requests


def test_timestamp_cli_json(tsa, bundled):
    case, zip_path, made = bundled
    proc = run_cli("timestamp", str(case.root), "--tsa", tsa.url, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["manifest_sha256"] == made["manifest_sha256"] and result["serial"] == "777"
    proc = run_cli("verify-bundle", str(zip_path), "--tsr", result["path"], "--json")
    assert json.loads(proc.stdout)["timestamp"]["serial"] == "777"


def test_check_token_accepts_a_bare_token_and_rejects_junk(tsa):
    digest = hashlib.sha256(b"manifest").digest()
    resp = tsp.TimeStampResp.load(tsa.answer(build_request(digest, 5).dump())[1])
    bare = resp["time_stamp_token"].dump()
    assert check_token(bare, digest.hex(), "token")["serial"] == "777"
    with pytest.raises(PerisaiError, match="not an RFC 3161"):
        check_token(b"\x30\x03\x02\x01\x01", digest.hex(), "token")
