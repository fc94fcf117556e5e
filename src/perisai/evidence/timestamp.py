"""`perisai timestamp`: an RFC 3161 token for the latest bundle's manifest hash.

The only network call in the evidence path, and only when asked: the manifest's SHA-256 (never
any content) goes to the configured time-stamping authority (TSA). The reply is checked (status
granted, our hash and nonce in the TSTInfo, the token's message digest and signature consistent
with the certificate it carries) and stored as CASE/timestamps/<manifest-sha256>.tsr.

Out of scope: validating the TSA certificate's chain of trust. Check the TSA certificate with
the authority's published root (for example `openssl ts -verify -CAfile ...`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from asn1crypto import algos, cms, core, tsp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .. import custody
from ..errors import BadInput, CheckFailed, PerisaiError

RESPONSE_LIMIT = 1 << 20
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _Reply(core.Sequence):
    """TimeStampResp with the token optional, as RFC 3161 has it (asn1crypto requires it, so
    a refusal, which carries none, would not parse)."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def build_request(digest: bytes, nonce: int) -> tsp.TimeStampReq:
    return tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": tsp.MessageImprint(
                {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "hashed_message": digest,
                }
            ),
            "nonce": nonce,
            "cert_req": True,
        }
    )


def _token(data: bytes, where: str) -> cms.ContentInfo:
    """The token from a TimeStampResp (status must be granted) or a bare token."""
    try:
        resp = _Reply.load(data)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = resp["status"]["status_string"].native
            info = resp["status"]["fail_info"].native
            raise PerisaiError(
                f"{where}: the TSA refused the request (status {status}"
                + (f", {'; '.join(text)}" if text else "")
                + (f", failure {sorted(info)}" if info else "")
                + ")"
            )
        token = resp["time_stamp_token"]  # absent from a refusal, so read only now
        if isinstance(token, core.Void) or token.native is None:
            raise PerisaiError(f"{where}: the TSA reply holds no token")
        return token
    except PerisaiError:
        raise
    except (ValueError, TypeError, KeyError):
        pass
    try:
        token = cms.ContentInfo.load(data)
        if token["content_type"].native != "signed_data":
            raise ValueError("not signed data")
        return token
    except (ValueError, TypeError, KeyError):
        raise PerisaiError(f"{where}: not an RFC 3161 timestamp reply or token") from None


def _tst_info(token: cms.ContentInfo, where: str) -> tuple[tsp.TSTInfo, cms.SignedData]:
    try:
        signed = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise ValueError("content is not a TSTInfo")
        info = encap["content"].parsed
        _ = info.native  # parse everything now: a damaged token fails here, not later
        return info, signed
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PerisaiError(f"{where}: the timestamp token is malformed ({exc})") from None


def _check_signature(signed: cms.SignedData, info: tsp.TSTInfo, where: str) -> str | None:
    """The token's signer: message digest and signature against the certificate it carries.

    Returns the signer certificate's subject; raises CheckFailed on a mismatch.
    """
    try:
        signer = signed["signer_infos"][0]
        attrs = signer["signed_attrs"]
        digest_alg = signer["digest_algorithm"]["algorithm"].native
        hash_cls: Any = _HASHES[digest_alg]
        content = signed["encap_content_info"]["content"].contents
        want = hashlib.new(digest_alg, content).digest()
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
        if digests != [want]:
            raise CheckFailed(f"{where}: the token's message digest does not match its TSTInfo")
        sid = signer["sid"]
        certs = [c.chosen for c in signed["certificates"] if c.name == "certificate"]
        cert = None
        for c in certs:
            if sid.name == "issuer_and_serial_number":
                if (
                    c.issuer == sid.chosen["issuer"]
                    and c.serial_number == sid.chosen["serial_number"].native
                ):
                    cert = c
            elif c.key_identifier == sid.chosen.native:
                cert = c
        if cert is None:
            return None  # certReq was honoured by sending none, or another signer: not checked
        public = serialization.load_der_public_key(cert.public_key.dump())
        sig = signer["signature"].native
        data = b"\x31" + attrs.dump()[1:]  # signed attributes are signed as a SET
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(sig, data, padding.PKCS1v15(), hash_cls())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(sig, data, ec.ECDSA(hash_cls()))
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(sig, data)
        else:
            return None
        return str(cert.subject.human_friendly)
    except CheckFailed:
        raise
    except InvalidSignature:
        raise CheckFailed(f"{where}: the token's signature does not verify") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise PerisaiError(
            f"{where}: the token's signer information is malformed ({exc})"
        ) from None


def check_token(
    data: bytes, manifest_sha256: str, where: str, nonce: int | None = None
) -> dict[str, Any]:
    """Check a reply or token against a manifest hash (hex); returns its details."""
    token = _token(data, where)
    info, signed = _tst_info(token, where)
    imprint = info["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256" or imprint[
        "hashed_message"
    ].native != bytes.fromhex(manifest_sha256):
        raise CheckFailed(
            f"{where}: the timestamp is for a different hash, not manifest {manifest_sha256}"
        )
    if nonce is not None and info["nonce"].native != nonce:
        raise CheckFailed(f"{where}: the reply's nonce is not the one we sent (a replayed reply)")
    signer = _check_signature(signed, info, where)
    gen_time = info["gen_time"].native
    return {
        "manifest_sha256": manifest_sha256,
        "gen_time_utc": gen_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "serial": str(info["serial_number"].native),
        "policy": info["policy"].native,
        "tsa": info["tsa"].native if info["tsa"].native is not None else None,
        "signer": signer,
        "signature_checked": signer is not None,
    }


def latest_manifest(case: Any) -> str:
    with case.engine.connect() as conn:
        done = custody.events(conn, "bundle.create")
    if not done:
        raise BadInput(f"{case.root} has no bundle yet: run `perisai bundle` first")
    return str(done[-1]["body"]["manifest_sha256"])


def request_timestamp(
    case: Any, tsa_url: str, *, timeout: float = 30.0, who: str | None = None
) -> dict[str, Any]:
    """Ask the TSA for a token over the latest bundle's manifest hash; store and log it."""
    scheme = urllib.parse.urlsplit(tsa_url).scheme
    if scheme not in ("http", "https"):
        raise BadInput(f"--tsa must be an http:// or https:// URL, not {tsa_url!r}")
    manifest_sha = latest_manifest(case)
    nonce = secrets.randbits(63)
    body = build_request(bytes.fromhex(manifest_sha), nonce).dump()
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        tsa_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/timestamp-query",
            "Accept": "application/timestamp-reply",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            data = reply.read(RESPONSE_LIMIT + 1)
    except urllib.error.HTTPError as exc:
        raise PerisaiError(f"the TSA at {tsa_url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PerisaiError(f"cannot reach the TSA at {tsa_url}: {reason}") from None
    if len(data) > RESPONSE_LIMIT:
        raise PerisaiError(f"the TSA at {tsa_url} sent more than {RESPONSE_LIMIT} bytes")
    details = check_token(data, manifest_sha, f"reply from {tsa_url}", nonce=nonce)
    folder = case.root / "timestamps"
    folder.mkdir(exist_ok=True)
    path = folder / f"{manifest_sha}.tsr"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    event_body = {
        "tsa": tsa_url,
        "manifest_sha256": manifest_sha,
        "gen_time_utc": details["gen_time_utc"],
        "serial": details["serial"],
        "token_sha256": hashlib.sha256(data).hexdigest(),
        "path": str(Path("timestamps") / path.name),
    }
    with case.begin() as conn:
        event = case.log(conn, "timestamp", event_body, who)
    return {**details, "path": str(path), "tsa_url": tsa_url, "custody_event": event["seq"]}
