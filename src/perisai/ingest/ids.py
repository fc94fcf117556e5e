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
_PREFIXED = re.compile(r"^(user|chat|channel)([0-9]{1,19})$")
# Telegram ids fit in 53 bits (user, chat and channel alike); anything larger is not an id, and
# would overflow the database's 64-bit integers once marked (channels: -(10**12 + id)).
MAX_ID = 2**53
INT64 = 2**63
CHANNEL_TYPES = {
    "private_supergroup",
    "public_supergroup",
    "private_channel",
    "public_channel",
}
USER_TYPES = {"personal_chat", "bot_chat", "saved_messages"}


def as_int(value: object, limit: int = INT64) -> int | None:
    """An integer id from an int, a whole float or a string of ASCII digits (optionally
    signed); None for anything else or for a magnitude of `limit` or more (no int() on a
    string of 5,000 digits, no '²', which str.isdigit() accepts and int() does not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        n = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        n = int(value)
    elif isinstance(value, str):
        digits = value[1:] if value[:1] in "-+" else value
        if not (0 < len(digits) <= 19 and digits.isascii() and digits.isdigit()):
            return None
        n = int(value)
    else:
        return None
    return n if -limit < n < limit else None


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
        n = as_int(value, MAX_ID << 32)  # old eras shift the kind into bits 32 and up
        if n is None or n <= 0:
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
            bare = int(m.group(2))
            return PeerId(m.group(1), bare) if bare < MAX_ID else None
        n = as_int(value)
        if n is not None and value.isdigit():
            return _decode_from_id(n)
    return None


def chat_kind(chat_type: str) -> str:
    if chat_type in CHANNEL_TYPES:
        return CHANNEL
    if chat_type in USER_TYPES:
        return USER
    return CHAT


def decode_chat_id(raw: object, chat_type: str, shifted_era: bool) -> int | None:
    """The bare chat id. Old eras shift group/channel ids by their kind; newer ones do not."""
    n = as_int(raw)
    if n is None:
        return None
    if n < 0:
        # A marked id (Bot API form) from some other tool: undo the marking.
        n = -n
        n = n - 10**12 if n > 10**12 else n
    elif shifted_era and (n >> 32) in _SHIFT_KINDS:
        n = n & 0xFFFFFFFF
    return n if n < MAX_ID else None


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
