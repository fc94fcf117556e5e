"""The read-only face of a Telethon client, the encrypted session and the login.

`ReadOnlyClient` exposes the handful of read methods the collector uses and nothing else: the
Telethon client is held in a closure, not in an attribute, so no send, react, join, delete or
read-acknowledge method can be reached through the wrapper.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import BadInput

INSTALL_HINT = "pip install 'perisai[collect]'"
SESSION_FILE = "telegram.session.enc"
_AAD = b"perisai telegram session v1"

READ_METHODS = (
    "iter_messages",
    "get_messages",
    "get_entity",
    "iter_participants",
    "download_media",
    "iter_dialogs",
)


def require_telethon() -> Any:
    try:
        import telethon
    except ImportError:
        raise BadInput(
            f"live collection needs Telethon, which is not installed: {INSTALL_HINT}"
        ) from None
    return telethon


class ReadOnlyClient:
    """Only reads. Built from any object that has the read methods (a Telethon client, or a
    fake in tests); every other attribute lookup fails."""

    __slots__ = READ_METHODS

    def __init__(self, client: Any) -> None:
        def bind(name: str) -> Callable[..., Any]:
            method = getattr(client, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                return method(*args, **kwargs)

            call.__name__ = name
            return call

        for name in READ_METHODS:
            object.__setattr__(self, name, bind(name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ReadOnlyClient is immutable")

    if TYPE_CHECKING:  # the bound read methods, for type checkers only

        def iter_messages(self, *a: Any, **k: Any) -> Iterator[Any]: ...
        def get_messages(self, *a: Any, **k: Any) -> Any: ...
        def get_entity(self, *a: Any, **k: Any) -> Any: ...
        def iter_participants(self, *a: Any, **k: Any) -> Iterator[Any]: ...
        def download_media(self, *a: Any, **k: Any) -> Any: ...
        def iter_dialogs(self, *a: Any, **k: Any) -> Iterator[Any]: ...


# -- session at rest ------------------------------------------------------------------------
def encrypt_session(key: bytes, session: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, session.encode("utf-8"), _AAD)


def decrypt_session(key: bytes, blob: bytes) -> str:
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], _AAD).decode("utf-8")
    except (InvalidTag, ValueError):
        raise BadInput(
            "the stored Telegram session does not decrypt with this case key: wrong key file, "
            "or the session file was altered"
        ) from None


def load_session(path: Path, key: bytes) -> str:
    return decrypt_session(key, path.read_bytes()) if path.exists() else ""


def save_session(path: Path, key: bytes, session: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(encrypt_session(key, session))
    os.replace(tmp, path)


# -- chat reference -------------------------------------------------------------------------
_INVITE = re.compile(r"^(?:https?://)?(?:t|telegram)\.me/(?:\+|joinchat/)([\w-]+)/?$", re.I)
_PUBLIC = re.compile(r"^(?:https?://)?(?:t|telegram)\.me/([A-Za-z]\w{3,31})/?$", re.I)
_USERNAME = re.compile(r"^@?([A-Za-z]\w{3,31})$")


def parse_chat(ref: str) -> tuple[str, Any]:
    """("id", -100...) | ("invite", "https://t.me/+hash") | ("username", "name")."""
    text = ref.strip()
    if re.fullmatch(r"-?\d+", text):
        return "id", int(text)
    m = _INVITE.match(text)
    if m:
        return "invite", f"https://t.me/+{m.group(1)}"
    m = _PUBLIC.match(text) or _USERNAME.match(text)
    if m:
        return "username", m.group(1)
    raise BadInput(f"--chat {ref!r}: give @name, t.me/name, t.me/+invite or a -100... id")


def resolve_chat(client: ReadOnlyClient, ref: str) -> Any:
    """The chat entity, without joining: an invite link resolves only if the account is
    already a member (Telethon checks the invite, it never imports it)."""
    kind, value = parse_chat(ref)
    try:
        if kind == "id":
            try:
                return client.get_entity(value)
            except ValueError:
                # A fresh session knows no access hashes: reading the dialog list fills them.
                for dialog in client.iter_dialogs():
                    if getattr(dialog, "id", None) == value:
                        return dialog.entity
                raise
        return client.get_entity(value)
    except Exception as exc:
        # FloodWait goes back to the caller's budget; anything else means no such chat here.
        if type(exc).__name__ == "FloodWaitError" or not isinstance(exc, ValueError | _rpc()):
            raise
        raise BadInput(
            f"cannot resolve --chat {ref!r} ({type(exc).__name__}: {exc}); the collector never "
            "joins: join the group with the collecting account in a Telegram app first"
        ) from None


def _rpc() -> type[Exception]:
    from telethon.errors import RPCError

    return RPCError


# -- the real client ------------------------------------------------------------------------
def connect(
    session_path: Path,
    key: bytes,
    api_id: int,
    api_hash: str,
    ask: Callable[[str, bool], str],
) -> tuple[ReadOnlyClient, Callable[[], None]]:
    """Log in (asking for phone and code on the terminal on first use), keep the session
    encrypted, and return the read-only wrapper and a function that disconnects."""
    require_telethon()
    from telethon.sessions import StringSession
    from telethon.sync import TelegramClient

    client = TelegramClient(
        StringSession(load_session(session_path, key)),
        api_id,
        api_hash,
        receive_updates=False,  # no update stream: nothing is acknowledged or marked read
        flood_sleep_threshold=0,  # every FloodWait comes to the collector, which shows it
    )
    client.start(
        phone=lambda: ask("Phone number of the collecting account (+60...)", False),
        code_callback=lambda: ask("Login code Telegram sent", False),
        password=lambda: ask("Two-step verification password", True),
    )
    save_session(session_path, key, client.session.save())

    def close() -> None:
        save_session(session_path, key, client.session.save())
        client.disconnect()

    return ReadOnlyClient(client), close
