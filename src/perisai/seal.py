"""Sealing quarantined bytes to a police public key instead of deleting them.

When configured (`perisai triage --seal-to KEY.pub`), a file that matches a `csam` list is
encrypted to the police's X25519 public key and removed from the vault: nobody at the NGO can
open it again, only the holder of the private key. Format of `sealed/<sha256>.sealed`:
`PERISAI-SEAL-1\\n` + 32-byte ephemeral X25519 public key + 12-byte nonce + AES-256-GCM
ciphertext of the original bytes (associated data: the file's SHA-256 in hex). The key is
HKDF-SHA256 of the X25519 shared secret with info `perisai-seal-v1`.

Police create the key pair with `openssl genpkey -algorithm X25519 -out police.key` and
`openssl pkey -in police.key -pubout -out police.pub`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import BadInput

MAGIC = b"PERISAI-SEAL-1\n"
_INFO = b"perisai-seal-v1"


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key(shared: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(shared)


def load_public_key(path: Path | str) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: not a readable PEM public key ({exc})") from None
    if not isinstance(key, X25519PublicKey):
        raise BadInput(f"{path}: the sealing key must be an X25519 public key")
    return key


def fingerprint(public: X25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()


def seal(data: bytes, sha256: str, public: X25519PublicKey) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    key = _key(ephemeral.exchange(public))
    nonce = os.urandom(12)
    body = AESGCM(key).encrypt(nonce, data, sha256.encode("ascii"))
    return MAGIC + _raw(ephemeral.public_key()) + nonce + body


def unseal(sealed: bytes, sha256: str, private: X25519PrivateKey) -> bytes:
    """For the police side (and the tests): recover the original bytes."""
    if not sealed.startswith(MAGIC):
        raise ValueError("not a Perisai sealed file")
    rest = sealed[len(MAGIC) :]
    ephemeral = X25519PublicKey.from_public_bytes(rest[:32])
    key = _key(private.exchange(ephemeral))
    try:
        return AESGCM(key).decrypt(rest[32:44], rest[44:], sha256.encode("ascii"))
    except InvalidTag:
        raise ValueError("wrong key or damaged sealed file") from None
