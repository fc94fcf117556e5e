"""The case key: a random data key wrapped under a key derived from the passphrase.

Wrapping (rather than using the derived key directly) lets a passphrase change later without
re-encrypting the vault. Purpose keys are derived from the data key with HKDF so that the vault,
the custody MAC and the victims' identifier hashes never share a key.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from . import settings
from .errors import BadKey

# scrypt at n=2**15, r=8 costs ~32 MiB and ~0.1 s here: slow for guessing, quick for a person.
DEFAULT_KDF = {"name": "scrypt", "n": 2**15, "r": 8, "p": 1}
_WRAP_AAD = b"perisai-case-key-v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _derive(passphrase: str, kdf: dict[str, Any]) -> bytes:
    if kdf.get("name") != "scrypt":
        raise BadKey(f"unsupported key derivation {kdf.get('name')!r} in case.json")
    return Scrypt(
        salt=_unb64(kdf["salt"]), length=32, n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])
    ).derive(passphrase.encode("utf-8"))


def new_key_record(passphrase: str, kdf: dict[str, Any] | None = None) -> tuple[dict, bytes]:
    """A fresh data key and the record (for case.json) that recovers it from the passphrase."""
    params = dict(kdf or DEFAULT_KDF)
    params["salt"] = _b64(os.urandom(16))
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    wrapped = AESGCM(_derive(passphrase, params)).encrypt(nonce, data_key, _WRAP_AAD)
    return {"kdf": params, "wrapped_key": _b64(nonce + wrapped)}, data_key


def unwrap(passphrase: str, record: dict[str, Any]) -> bytes:
    blob = _unb64(record["wrapped_key"])
    try:
        return AESGCM(_derive(passphrase, record["kdf"])).decrypt(blob[:12], blob[12:], _WRAP_AAD)
    except InvalidTag:
        raise BadKey("wrong passphrase for this case (the case key did not unlock)") from None


@dataclass(frozen=True)
class CaseKeys:
    data_key: bytes

    def purpose(self, name: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"perisai:" + name.encode()
        ).derive(self.data_key)


def read_passphrase(key_file: str | None, confirm: bool = False) -> str:
    """PERISAI_PASSPHRASE, else --key-file, else a prompt on a terminal."""
    env = os.environ.get(settings.PASSPHRASE.env)
    if env:
        return env
    path = settings.KEY_FILE.value(key_file)
    if path:
        try:
            line = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BadKey(f"cannot read key file {path}: {exc.strerror}") from None
        if not line or not line[0]:
            raise BadKey(f"key file {path} is empty: its first line must be the passphrase")
        return line[0]
    import sys

    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Case passphrase: ")
        if confirm and getpass.getpass("Again: ") != first:
            raise BadKey("the two passphrases differ")
        if first:
            return first
    raise BadKey(
        "no case passphrase: set PERISAI_PASSPHRASE, pass --key-file FILE, or run in a terminal"
    )
