"""Turn one exported message into normalised fields: text, entities, times, people, media refs.

Nothing here touches the database; it is pure so it can be tested on crafted messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import BadInput
from .ids import PeerId, decode_from_id

# Telegram opened in August 2013; anything earlier (or far in the future) is not a real time.
MIN_UNIX = 1375315200
MEDIA_KEYS = ("photo", "file", "thumbnail")
PLACEHOLDER = re.compile(r"^\((File|Photo|Video)\b.*\)$", re.S)
# Keys whose *format* changes between export eras, not their meaning: left out of the content
# hash so the same message exported in 2020 and 2021 is recognised as the same.
_ERA_KEYS = {
    "from_id",
    "actor_id",
    "forwarded_from_id",
    "saved_from_id",
    "date",
    "date_unixtime",
    "edited",
    "edited_unixtime",
    "text_entities",
    "reactions",  # reactions change without the message changing
}


# PostgreSQL's text type cannot hold NUL; Telegram's `\\x00` escape can put one in a name or a
# message. Text columns get U+FFFD instead (flagged); the message's `raw` JSON keeps the original.
NUL_STAND_IN = "\ufffd"


def no_nul(value: str) -> str:
    return value.replace("\x00", NUL_STAND_IN) if "\x00" in value else value


def parse_timezone(value: str) -> tzinfo:
    """An IANA name (Asia/Kuala_Lumpur) or a fixed offset (+08:00, UTC+8)."""
    text = value.strip()
    m = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", text, re.I)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        sign = -1 if m.group(1) == "-" else 1
        if minutes > 14 * 60:
            raise BadInput(f"time zone offset {value!r} is out of range")
        from datetime import timezone

        return timezone(sign * timedelta(minutes=minutes))
    if text.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a folder
        raise BadInput(f"unknown time zone {value!r}: use an IANA name or +HH:MM") from None


def canonical_text(text: Any) -> tuple[str, list[dict[str, Any]]]:
    """The concatenated text and entities with offsets (in code points) into it."""
    if isinstance(text, str):
        return text, []
    if not isinstance(text, list):
        return "", []
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    offset = 0
    for piece in text:
        if isinstance(piece, str):
            chunk = piece
        elif isinstance(piece, dict):
            chunk = str(piece.get("text", ""))
            kind = piece.get("type", "plain")
            if kind != "plain":
                ent = {"type": kind, "offset": offset, "length": len(chunk), "text": chunk}
                ent.update({k: v for k, v in piece.items() if k not in ("type", "text")})
                entities.append(ent)
        else:
            continue
        parts.append(chunk)
        offset += len(chunk)
    return "".join(parts), entities


@dataclass(slots=True)
class TimeResult:
    utc: datetime | None
    local: str | None
    source: str  # unixtime | local+given | local+inferred | local+assumed | missing
    flags: list[str] = field(default_factory=list)


_ABSENT = TimeResult(None, None, "missing")


class Clock:
    """Derives UTC for each message; learns the exporter's offset from messages that carry both."""

    LEARN_EVERY = 256  # re-learn the offset now and then: zones with DST change it

    def __init__(self, given: tzinfo | None) -> None:
        self.given = given
        self.inferred: timedelta | None = None
        self.used: set[str] = set()
        self.max_unix = int(datetime.now(UTC).timestamp()) + 86400 * 366
        self._countdown = 0

    def _unix(self, unix: Any) -> int | None:
        if isinstance(unix, str) and len(unix) < 20 and unix.isascii() and unix.isdigit():
            n = int(unix)
        elif isinstance(unix, int) and not isinstance(unix, bool):
            n = unix
        else:
            return None
        return n if MIN_UNIX <= n <= self.max_unix else None

    def quick(self, local: Any, unix: Any) -> datetime | None:
        """UTC for the common case (a valid unixtime beside a local time, offset already
        learnt this round), else None and the caller asks `resolve`. Same answers, less work."""
        if (
            self._countdown > 0
            and self.inferred is not None
            and type(unix) is str
            and type(local) is str
            and unix.isdigit()
            and len(unix) < 20
            and unix.isascii()
        ):
            n = int(unix)
            if MIN_UNIX <= n <= self.max_unix:
                self._countdown -= 1
                return _EPOCH + timedelta(seconds=n)
        return None

    def resolve(self, local: Any, unix: Any, prefix: str = "date") -> TimeResult:
        if local is None and unix is None and prefix != "date":
            return _ABSENT
        n = self._unix(unix) if unix is not None else None
        if n is not None:
            utc = _EPOCH + timedelta(seconds=n)
            local_s = local if isinstance(local, str) else None
            # Learning the exporter's offset needs the local time parsed; that costs, so do
            # it until learnt and then only now and then.
            if local_s is not None and (self.inferred is None or self._countdown <= 0):
                self._countdown = self.LEARN_EVERY
                local_dt = _parse_local(local_s)
                if local_dt is not None:
                    offset = local_dt - utc
                    # Only a real UTC offset teaches us the zone; garbage pairs teach nothing.
                    if abs(offset) <= timedelta(hours=14) and offset.seconds % 900 == 0:
                        self.inferred = offset
            self._countdown -= 1
            self.used.add("unixtime")
            return TimeResult(utc, local_s, "unixtime", [])
        flags: list[str] = []
        if unix is not None:
            flags.append(f"bad_{prefix}_unixtime")
        local_s = local if isinstance(local, str) else None
        local_dt = _parse_local(local_s) if local_s is not None else None
        if local is not None and local_dt is None:
            flags.append(f"bad_{prefix}")
        if local_dt is None:
            if local is None and prefix == "date":
                flags.append("missing_date")
            return TimeResult(None, local_s, "missing", flags)
        if self.given is not None:
            aware = local_dt.replace(tzinfo=self.given)
            utc = aware.astimezone(UTC).replace(tzinfo=None)
            source = "local+given"
        elif self.inferred is not None:
            utc, source = local_dt - self.inferred, "local+inferred"
        else:
            utc, source = local_dt, "local+assumed"
        self.used.add(source)
        return TimeResult(utc, local_s, source, flags)


_EPOCH = datetime(1970, 1, 1)


def _parse_local(text: str) -> datetime | None:
    if len(text) != 19 or text[10] != "T":
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def media_refs(msg: dict[str, Any]) -> list[tuple[str, str]]:
    if "photo" not in msg and "file" not in msg and "thumbnail" not in msg:
        return []
    return [(k, msg[k]) for k in MEDIA_KEYS if isinstance(msg.get(k), str) and msg[k]]


def is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER.match(value.strip()))


_ERA_KEY_LIST = tuple(sorted(_ERA_KEYS))


def content_view(msg: dict[str, Any], sender: str | None, utc: datetime | None) -> dict:
    """What "the same message" means across exports: content, not the export's formatting."""
    view = msg.copy()
    for key in _ERA_KEY_LIST:
        view.pop(key, None)
    view["_sender"] = sender
    view["_utc"] = utc.isoformat() if utc else None
    return view


def peer(value: Any) -> PeerId | None:
    return decode_from_id(value)


SERVICE_STANDARD = {
    "id",
    "type",
    "date",
    "date_unixtime",
    "actor",
    "actor_id",
    "action",
    "text",
    "text_entities",
    "edited",
    "edited_unixtime",
}


def service_detail(msg: dict[str, Any]) -> dict[str, Any]:
    """Action fields (title, members, inviter, message_id, period...) of a service message."""
    return {k: v for k, v in msg.items() if k not in SERVICE_STANDARD}
