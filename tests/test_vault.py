import io
import os

import pytest

from perisai.vault import CHUNK, Vault, VaultError, digest_file


def _put(vault: Vault, data: bytes) -> str:
    sha = digest_file(io.BytesIO(data)).sha256
    assert vault.put(io.BytesIO(data), sha)
    return sha


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_round_trip_is_byte_for_byte(tmp_path, size):
    vault = Vault(tmp_path, os.urandom(32))
    data = os.urandom(size)
    sha = _put(vault, data)
    assert vault.read(sha) == data
    vault.check(sha)
    if size >= 16:  # the plaintext never appears in the blob
        assert data[:64] not in vault.path(sha).read_bytes()


def test_same_content_is_stored_once(tmp_path):
    vault = Vault(tmp_path, os.urandom(32))
    sha = _put(vault, b"abc")
    assert vault.put(io.BytesIO(b"abc"), sha) is False


def test_flipped_byte_is_named(tmp_path):
    vault = Vault(tmp_path, os.urandom(32))
    sha = _put(vault, os.urandom(5000))
    blob = bytearray(vault.path(sha).read_bytes())
    blob[100] ^= 1
    vault.path(sha).write_bytes(bytes(blob))
    with pytest.raises(VaultError, match=sha):
        vault.check(sha)


def test_truncation_at_chunk_boundary_is_caught(tmp_path):
    vault = Vault(tmp_path, os.urandom(32))
    sha = _put(vault, os.urandom(2 * CHUNK + 10))
    path = vault.path(sha)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) - (10 + 28)])  # drop the last chunk entirely
    with pytest.raises(VaultError):
        vault.check(sha)


def test_wrong_key_cannot_read(tmp_path):
    sha = _put(Vault(tmp_path, os.urandom(32)), b"secret")
    with pytest.raises(VaultError, match="authentication"):
        Vault(tmp_path, os.urandom(32)).read(sha)


def test_wrong_declared_hash_is_refused(tmp_path):
    vault = Vault(tmp_path, os.urandom(32))
    with pytest.raises(VaultError):
        vault.put(io.BytesIO(b"abc"), "0" * 64)
    assert not vault.has("0" * 64)
