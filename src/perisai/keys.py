"""The case key: a random data key wrapped under a key derived from the passphrase.

Wrapping (rather than using the derived key directly) lets a passphrase change later without
re-encrypting the vault. Purpose keys are derived from the data key with HKDF so that the vault,
the custody MAC and the victims' identifier hashes never share a key.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
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
    return base64.b64decode(text.encode("ascii"), validate=True)


# Bounds on case.json's scrypt parameters: a hostile case.json must not make opening it cost
# terabytes of memory (scrypt needs 128 * n * r bytes) or hours of CPU.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


def _derive(passphrase: str, kdf: dict[str, Any]) -> bytes:
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        name = kdf.get("name") if isinstance(kdf, dict) else kdf
        raise BadKey(f"unsupported key derivation {name!r:.40} in case.json")
    try:
        n, r, p = (kdf[k] for k in ("n", "r", "p"))
        salt = _unb64(kdf["salt"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BadKey("case.json: the key derivation parameters are damaged") from None
    if not all(type(v) is int for v in (n, r, p)) or not (
        2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P
    ):
        raise BadKey(f"case.json: scrypt parameters out of range (n={n!r:.20}, r={r!r:.20})")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def new_key_record(passphrase: str, kdf: dict[str, Any] | None = None) -> tuple[dict, bytes]:
    """A fresh data key and the record (for case.json) that recovers it from the passphrase."""
    params = dict(kdf or DEFAULT_KDF)
    params["salt"] = _b64(os.urandom(16))
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    wrapped = AESGCM(_derive(passphrase, params)).encrypt(nonce, data_key, _WRAP_AAD)
    return {"kdf": params, "wrapped_key": _b64(nonce + wrapped)}, data_key


def unwrap(passphrase: str, record: dict[str, Any]) -> bytes:
    try:
        blob = _unb64(record["wrapped_key"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BadKey("case.json: the wrapped case key is damaged") from None
    if len(blob) < 12 + 16 + 32:
        raise BadKey("case.json: the wrapped case key is damaged (too short)")
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
        return _key_file_line(path)
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


_KEY_LINE_MAX = 4096


def _key_file_line(path: str) -> str:
    """The first line of a key file, read no further than it needs: `--key-file /dev/zero`
    must not read forever, and a pipe (`--key-file <(pass show case)`) still works."""
    try:
        with open(path, "rb") as fh:
            raw = fh.readline(_KEY_LINE_MAX + 1)
    except OSError as exc:
        raise BadKey(f"cannot read key file {path}: {exc.strerror or exc}") from None
    line = raw.rstrip(b"\r\n")
    if len(line) > _KEY_LINE_MAX:
        raise BadKey(f"key file {path}: the first line is over {_KEY_LINE_MAX} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise BadKey(f"key file {path}: the first line is not UTF-8 text") from None
    parts = text.splitlines()  # as before: a lone \r or \u2028 also ends the line
    text = parts[0] if parts else ""
    if not text or "\x00" in text:
        raise BadKey(f"key file {path} is empty: its first line must be the passphrase")
    return text
