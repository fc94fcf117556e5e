"""Encrypted, content-addressed file store for evidentiary copies.

A blob is the original file byte for byte, encrypted with AES-256-GCM in 1 MiB chunks so that
files of any size stream. Each chunk's associated data binds the blob's SHA-256, the chunk index
and whether it is the last chunk, so chunks cannot be swapped, reordered, moved between blobs
or cut off without the tag failing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"PERISAI-VAULT-1\n"
BLOB_NAME = re.compile(r"[0-9a-f]{64}")  # a blob is named by its SHA-256, lower-case hex
CHUNK = 1 << 20
_OVERHEAD = 12 + 16  # nonce + tag


@dataclass(frozen=True)
class Digests:
    sha256: str
    md5: str
    sha1: str
    size: int


def digest_file(fh: BinaryIO) -> Digests:
    s256, md5, sha1 = hashlib.sha256(), hashlib.md5(), hashlib.sha1()
    size = 0
    while block := fh.read(CHUNK):
        s256.update(block)
        md5.update(block)
        sha1.update(block)
        size += len(block)
    return Digests(s256.hexdigest(), md5.hexdigest(), sha1.hexdigest(), size)


class VaultError(Exception):
    pass


class Vault:
    def __init__(self, root: Path, key: bytes) -> None:
        self.root = root
        self._aead = AESGCM(key)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    @staticmethod
    def _aad(sha256: str, index: int, last: bool) -> bytes:
        return sha256.encode("ascii") + struct.pack(">QB", index, 1 if last else 0)

    def _store(self, sha256: str, fill: Callable[[BinaryIO], None]) -> bool:
        """Write a blob atomically (temporary file, fsync, rename); `fill` writes its bytes
        and may raise to abandon it. False when the blob was already there."""
        target = self.path(sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def put(self, fh: BinaryIO, sha256: str) -> bool:
        """Encrypt the stream under its known SHA-256. False when the blob was already there."""

        def fill(out: BinaryIO) -> None:
            check = hashlib.sha256()
            out.write(MAGIC)
            index = 0
            block = fh.read(CHUNK)
            while True:
                nxt = fh.read(CHUNK) if len(block) == CHUNK else b""
                last = not nxt
                check.update(block)
                nonce = os.urandom(12)
                out.write(nonce + self._aead.encrypt(nonce, block, self._aad(sha256, index, last)))
                if last:
                    break
                block, index = nxt, index + 1
            if check.hexdigest() != sha256:
                raise VaultError(f"file changed while it was being stored (expected {sha256})")

        return self._store(sha256, fill)

    def ciphertext(self, sha256: str) -> bytes | None:
        """A blob exactly as stored (encrypted), to move it to another copy of this vault
        (Dask workers without the case folder); None when the vault does not hold it."""
        if not BLOB_NAME.fullmatch(sha256):
            raise VaultError(f"not a vault blob name: {sha256!r}")
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def put_ciphertext(self, sha256: str, data: bytes) -> bool:
        """Store a blob encrypted under this vault's key, as `ciphertext` gave it (atomically).
        False when the blob was already there."""
        if not BLOB_NAME.fullmatch(sha256):
            raise VaultError(f"not a vault blob name: {sha256!r}")

        def fill(out: BinaryIO) -> None:
            out.write(data)

        return self._store(sha256, fill)

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """Decrypted chunks; VaultError names the blob and chunk that fail."""
        path = self.path(sha256)
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            raise VaultError(f"vault blob {sha256} is missing") from None
        with fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise VaultError(f"vault blob {sha256} has a bad header")
            index = 0
            record = fh.read(CHUNK + _OVERHEAD)
            while True:
                nxt = fh.read(CHUNK + _OVERHEAD)
                last = not nxt
                if len(record) < _OVERHEAD:
                    raise VaultError(f"vault blob {sha256} is truncated at chunk {index}")
                try:
                    yield self._aead.decrypt(
                        record[:12], record[12:], self._aad(sha256, index, last)
                    )
                except InvalidTag:
                    raise VaultError(
                        f"vault blob {sha256} fails authentication at chunk {index} "
                        f"(bytes {len(MAGIC) + index * (CHUNK + _OVERHEAD)}+)"
                    ) from None
                if last:
                    return
                record, index = nxt, index + 1

    def read(self, sha256: str) -> bytes:
        return b"".join(self.chunks(sha256))

    def check(self, sha256: str) -> None:
        """Decrypt and re-hash a blob; raise VaultError naming it if anything differs."""
        h = hashlib.sha256()
        for chunk in self.chunks(sha256):
            h.update(chunk)
        if h.hexdigest() != sha256:
            raise VaultError(
                f"vault blob {sha256} decrypts to content with SHA-256 {h.hexdigest()}"
            )

    def remove(self, sha256: str) -> None:
        path = self.path(sha256)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only succeeds when no other blob shares the folder
