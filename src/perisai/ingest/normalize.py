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
    except (ZoneInfoNotFoundError, ValueError):
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


@dataclass
class TimeResult:
    utc: datetime | None
    local: str | None
    source: str  # unixtime | local+given | local+inferred | local+assumed | missing
    flags: list[str] = field(default_factory=list)


_ABSENT = TimeResult(None, None, "missing")


class Clock:
    """Derives UTC for each message; learns the exporter's offset from messages that carry both."""

    def __init__(self, given: tzinfo | None) -> None:
        self.given = given
        self.inferred: timedelta | None = None
        self.used: set[str] = set()

    def resolve(self, local: Any, unix: Any, prefix: str = "date") -> TimeResult:
        if local is None and unix is None and prefix != "date":
            return _ABSENT
        flags: list[str] = []
        local_s = local if isinstance(local, str) else None
        local_dt = None
        if local_s is not None and len(local_s) == 19:
            try:
                local_dt = datetime.fromisoformat(local_s)
            except ValueError:
                local_dt = None
        if local is not None and local_dt is None:
            flags.append(f"bad_{prefix}")
        if unix is not None:
            try:
                n = int(unix)
            except (TypeError, ValueError):
                n = -1
            if MIN_UNIX <= n <= datetime.now(UTC).timestamp() + 86400 * 366:
                utc = datetime.fromtimestamp(n, UTC).replace(tzinfo=None)
                if local_dt is not None:
                    offset = local_dt - utc
                    # Only a real UTC offset teaches us the zone; garbage pairs teach nothing.
                    if abs(offset) <= timedelta(hours=14) and offset.seconds % 900 == 0:
                        self.inferred = offset
                self.used.add("unixtime")
                return TimeResult(utc, local_s, "unixtime", flags)
            flags.append(f"bad_{prefix}_unixtime")
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


def media_refs(msg: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, msg[k]) for k in MEDIA_KEYS if isinstance(msg.get(k), str) and msg[k]]


def is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER.match(value.strip()))


def content_view(msg: dict[str, Any], sender: str | None, utc: datetime | None) -> dict:
    """What "the same message" means across exports: content, not the export's formatting."""
    view = {k: v for k, v in msg.items() if k not in _ERA_KEYS}
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
