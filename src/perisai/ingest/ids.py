"""Telegram ids across the three export eras, marked ids and message links.

Era by shape (see docs/telegram-export.md):
- before Oct 2020: `from_id` is a bare user number; chat `id` is type-shifted;
- Oct 2020 to Apr 2021: every id is type-shifted, `(kind << 32) | bare`;
- since Apr 2021: `from_id` is a string ("user123"), chat `id` is bare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

USER, CHAT, CHANNEL = "user", "chat", "channel"
_SHIFT_KINDS = {1: USER, 2: CHAT}  # kind 2 covers chats and channels: the chat type decides
_PREFIXED = re.compile(r"^(user|chat|channel)(\d+)$")
CHANNEL_TYPES = {
    "private_supergroup",
    "public_supergroup",
    "private_channel",
    "public_channel",
}
USER_TYPES = {"personal_chat", "bot_chat", "saved_messages"}


@dataclass(frozen=True)
class PeerId:
    kind: str  # user | chat | channel
    bare: int

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.bare}"


_CACHE: dict[object, PeerId | None] = {}


def decode_from_id(value: object) -> PeerId | None:
    """A sender/actor id of any era; None when absent or malformed. Memoised: senders repeat."""
    if type(value) in (str, int):
        try:
            return _CACHE[value]
        except KeyError:
            if len(_CACHE) > 100_000:
                _CACHE.clear()
            found = _CACHE[value] = _decode_from_id(value)
            return found
    return _decode_from_id(value)


def _decode_from_id(value: object) -> PeerId | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        n = int(value)
        if n <= 0:
            return None
        kind = n >> 32
        if kind == 0:
            return PeerId(USER, n)
        if kind in (1, 2):
            # Kind 2 ids in old exports are channel posts or anonymous admins.
            return PeerId(USER if kind == 1 else CHANNEL, n & 0xFFFFFFFF)
        return None
    if isinstance(value, str):
        m = _PREFIXED.match(value)
        if m:
            return PeerId(m.group(1), int(m.group(2)))
        if value.isdigit():
            return _decode_from_id(int(value))
    return None


def chat_kind(chat_type: str) -> str:
    if chat_type in CHANNEL_TYPES:
        return CHANNEL
    if chat_type in USER_TYPES:
        return USER
    return CHAT


def decode_chat_id(raw: object, chat_type: str, shifted_era: bool) -> int | None:
    """The bare chat id. Old eras shift group/channel ids by their kind; newer ones do not."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        n = int(raw)
    except ValueError:
        return None
    if n < 0:
        # A marked id (Bot API form) from some other tool: undo the marking.
        n = -n
        return n - 10**12 if n > 10**12 else n
    if shifted_era and (n >> 32) in _SHIFT_KINDS:
        return n & 0xFFFFFFFF
    return n


def marked_id(kind: str, bare: int) -> int:
    """Bot API / Telethon form: users id, basic groups -id, channels -(10**12 + id)."""
    if kind == USER:
        return bare
    if kind == CHAT:
        return -bare
    return -(10**12 + bare)


def link_prefix(kind: str, bare: int, username: str | None = None) -> str:
    """What a message link starts with; "" where there are none (only channels and
    supergroups have links; basic groups and private chats have none)."""
    if kind != CHANNEL:
        return ""
    return f"https://t.me/{username}/" if username else f"https://t.me/c/{bare}/"


def message_link(kind: str, bare: int, message_id: int, username: str | None = None) -> str | None:
    prefix = link_prefix(kind, bare, username)
    return f"{prefix}{message_id}" if prefix and message_id > 0 else None
