"""The case's Ed25519 signing key: made on first bundle, kept encrypted in the case folder.

`signing.key` holds the private key as AES-256-GCM ciphertext under the case purpose key
"signing" (associated data: the case id), so it opens only with the case passphrase.
`signing.pub` holds the public key in clear (PEM), for anyone to check a bundle against.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import BadInput, BadKey, PerisaiError

KEY_FILE = "signing.key"
PUB_FILE = "signing.pub"
_FORMAT = "perisai-signing-key"


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex (what bundle and verify-bundle print)."""
    return hashlib.sha256(raw_public(public)).hexdigest()


def parse_public_pem(data: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; raises ValueError naming `where` otherwise."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where} is not a readable PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{where} is not an Ed25519 public key")
    return key


def load_public_key_file(path: Path | str) -> Ed25519PublicKey:
    """A pinned signer key for verify-bundle --public-key (PEM, or 32 raw bytes)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read public key {path}: {exc.strerror}") from None
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    try:
        return parse_public_pem(data, str(path))
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _aad(case: Any) -> bytes:
    return f"perisai-signing-key-v1:{case.meta.get('case_id', '')}".encode()


def load_or_create(case: Any) -> tuple[Ed25519PrivateKey, bool]:
    """The case's signing key and whether this call created it."""
    key_path, pub_path = case.root / KEY_FILE, case.root / PUB_FILE
    wrap = AESGCM(case.keys.purpose("signing"))
    if key_path.exists():
        try:
            record = json.loads(key_path.read_text(encoding="utf-8"))
            if record.get("format") != _FORMAT:
                raise ValueError("unknown format")
            blob = base64.b64decode(record["key"], validate=True)
            seed = wrap.decrypt(blob[:12], blob[12:], _aad(case))
        except InvalidTag:
            raise BadKey(f"{key_path} does not open with this case key") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PerisaiError(f"{key_path} is unreadable: {exc}") from None
        private = Ed25519PrivateKey.from_private_bytes(seed)
        if pub_path.exists():
            try:
                stored = parse_public_pem(pub_path.read_bytes(), str(pub_path))
            except ValueError as exc:
                raise PerisaiError(str(exc)) from None
            if raw_public(stored) != raw_public(private.public_key()):
                raise PerisaiError(f"{pub_path} does not match the case's signing key")
        else:
            _write(pub_path, public_pem(private.public_key()))
        return private, False
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(12)
    record = {
        "format": _FORMAT,
        "version": 1,
        "algorithm": "Ed25519",
        "fingerprint": fingerprint(private.public_key()),
        "key": base64.b64encode(nonce + wrap.encrypt(nonce, seed, _aad(case))).decode("ascii"),
    }
    _write(pub_path, public_pem(private.public_key()))
    _write(key_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return private, True


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
