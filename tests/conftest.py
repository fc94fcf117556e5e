"""Shared fixtures: a passphrase, an offline guard, crafted exports, the CLI runner."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

# shared/ sits beside the checkout (and beside CI's fresh clone); PERISAI_CORPUS overrides.
CORPUS = Path(
    os.environ.get(
        "PERISAI_CORPUS",
        Path(__file__).resolve().parents[2] / "shared" / "corpus" / "telegram-exports",
    )
)
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERISAI_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("PERISAI_INVESTIGATOR", "inv-test")
    monkeypatch.delenv("PERISAI_DB", raising=False)
    monkeypatch.delenv("PERISAI_TIMEZONE", raising=False)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing reaches the network: only loopback and local sockets may connect."""
    real = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family == socket.AF_UNIX or (
            isinstance(address, tuple) and address[0] in ("127.0.0.1", "::1", "localhost")
        ):
            return real(self, address)
        raise AssertionError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"real-export corpus not found at {CORPUS}")
    return CORPUS


PG_ADMIN_URL = os.environ.get(
    "PERISAI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def pg_url() -> Any:
    """A fresh PostgreSQL database for one test, dropped after it. Skips when no server
    answers, unless PERISAI_REQUIRE_PG is set (CI), where that is a failure."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"perisai_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("PERISAI_REQUIRE_PG"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
