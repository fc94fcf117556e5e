"""Open or create a case: its directory, key, store, vault and custody log.

A case directory holds `case.json` (key-wrapping parameters, the database URL when it is not
the default SQLite file), `perisai.db`, `custody.head` and `vault/`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from . import __version__, custody, keys, settings
from .errors import BadInput, PerisaiError
from .store.db import make_engine, migrate, sqlite_url
from .vault import Vault

_PENDING_HEAD = "perisai.pending_custody_head"

# A writer waits this long for another process's transaction on the same SQLite case (one
# ingest at a time: the second waits for the first, then finds its messages already there).
WRITE_WAIT_S = 600


def _wait_for_writers(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {WRITE_WAIT_S * 1000}")
    cur.close()


CASE_FILE = "case.json"
FORMAT = "perisai-case"


class Case:
    def __init__(self, root: Path, meta: dict[str, Any], data_key: bytes, db_url: str) -> None:
        self.root = root
        self.meta = meta
        self.keys = keys.CaseKeys(data_key)
        self.db_url = db_url
        self.engine: Engine = make_engine(db_url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _wait_for_writers)
        self.vault = Vault(root / "vault", self.keys.purpose("vault"))
        self.head_path = root / "custody.head"
        self._head_lock = threading.Lock()

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        root: Path | str,
        key_file: str | None = None,
        db: str | None = None,
        create: bool = True,
        investigator: str | None = None,
    ) -> Case:
        root = Path(root)
        meta_path = root / CASE_FILE
        if meta_path.exists():
            return cls._open_existing(root, meta_path, key_file, db)
        if not create:
            raise BadInput(f"{root} is not a Perisai case (no {CASE_FILE})")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise BadInput(f"{root} exists and is not an empty folder or a Perisai case")
        return cls._create(root, key_file, db, investigator)

    @classmethod
    def _open_existing(
        cls,
        root: Path,
        meta_path: Path,
        key_file: str | None,
        db: str | None,
        passphrase: str | None = None,
    ):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"{meta_path} is unreadable: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise BadInput(f"{meta_path} is not a Perisai case file")
        if not isinstance(meta.get("key"), dict):
            raise BadInput(f"{meta_path} holds no usable key record")
        if passphrase is None:
            passphrase = keys.read_passphrase(key_file)
        data_key = keys.unwrap(passphrase, meta["key"])
        url = settings.DB.value(db) or meta.get("db") or sqlite_url(root)
        case = cls(root, meta, data_key, url)
        case._migrate()
        return case

    @classmethod
    def _create(cls, root: Path, key_file: str | None, db: str | None, who: str | None) -> Case:
        passphrase = keys.read_passphrase(key_file, confirm=True)
        record, data_key = keys.new_key_record(passphrase)
        url = settings.DB.value(db)
        meta = {
            "format": FORMAT,
            "version": 1,
            "case_id": str(uuid.uuid4()),
            "created_utc": custody.utc_now(),
            "tool_version": __version__,
            "key": record,
            # Never store a database password in the case folder.
            "db": make_url(url).render_as_string(hide_password=True) if url else None,
        }
        # The case is built in a private folder beside ROOT and renamed into place whole:
        # another process creating the same case at the same moment can neither see a half
        # case nor have its own removed; the loser opens the winner's case instead.
        try:
            root.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.creating-", dir=root.parent))
        except OSError as exc:
            raise BadInput(f"cannot create the case folder {root}: {exc.strerror}") from None
        try:
            (staging / "vault").mkdir()
            case = cls(staging, meta, data_key, url or sqlite_url(staging))
            case._migrate()
            with case.begin() as conn:
                case.log(
                    conn,
                    "case.create",
                    {"case_id": meta["case_id"], "db": meta["db"] or "sqlite (case folder)"},
                    who,
                )
            (staging / CASE_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            case.close()
            try:
                os.rename(staging, root)  # replaces ROOT only when it is an empty folder
            except OSError:
                if not (root / CASE_FILE).exists():
                    raise BadInput(
                        f"{root} exists and is not an empty folder or a Perisai case"
                    ) from None
                # Another process made this case first: use theirs.
                return cls._open_existing(root, root / CASE_FILE, key_file, db)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cls._open_existing(root, root / CASE_FILE, key_file, db, passphrase)

    def _migrate(self) -> None:
        try:
            migrate(self.engine)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise PerisaiError(f"database {self.safe_db_url} is unusable: {reason}") from None

    @property
    def safe_db_url(self) -> str:
        return make_url(self.db_url).render_as_string(hide_password=True)

    # -- transactions and custody ---------------------------------------------------------
    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction; custody.head moves only after the commit succeeded.

        The newest event of a transaction is kept on its connection, not on the case, so
        threads (the review UI) each move the head for their own transaction; the head only
        ever moves forward."""
        try:
            with self.engine.begin() as conn:
                conn.info.pop(_PENDING_HEAD, None)
                yield conn
                pending = conn.info.pop(_PENDING_HEAD, None)
        except OperationalError as exc:
            reason = str(exc.orig or exc).splitlines()[0]
            if "locked" in reason or "busy" in reason:
                raise PerisaiError(
                    f"case {self.root} is busy: another Perisai process has been writing to it "
                    f"for over {WRITE_WAIT_S} s; nothing was written, try again when it is done"
                ) from None
            raise PerisaiError(f"database {self.safe_db_url} failed: {reason}") from None
        if pending is not None:
            with self._head_lock:
                current = custody.read_head(self.head_path)
                if current is None or int(current["seq"]) < int(pending["seq"]):
                    custody.write_head(self.head_path, pending)

    def log(
        self, conn: Connection, action: str, body: dict[str, Any], who: str | None = None
    ) -> dict[str, Any]:
        event = custody.append(
            conn, self.keys.purpose("custody"), settings.investigator(who), action, body
        )
        conn.info[_PENDING_HEAD] = event
        return event

    def close(self) -> None:
        self.engine.dispose()
