"""The three shapes Telegram Desktop has written over the years, and local-time formatting.

Ingest detects the era by the shape of ids and dates, so each era here reproduces exactly what
the exporter of that time wrote (see docs/telegram-export.md of the shared notes).
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Any

TIMEZONE = "Asia/Kuala_Lumpur"
UTC_OFFSET = "+08:00"
# Malaysia has kept UTC+8 without daylight saving since 1982, so a constant offset is exact.
UTC_OFFSET_SECONDS = 8 * 3600

USER_SHIFT = 2**32
CHANNEL_SHIFT = 2**33


def _local_epoch(text: str) -> int:
    """Epoch seconds of a local (UTC+8) wall-clock time written as YYYY-MM-DDTHH:MM:SS."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")) - UTC_OFFSET_SECONDS


@dataclass(frozen=True)
class Era:
    name: str
    start: int  # first possible message, epoch seconds
    end: int  # last possible message
    string_ids: bool  # "user123" / "channel123" (since April 2021)
    shifted_ids: bool  # 2**32 + user, 2**33 + channel (October 2020 to April 2021)
    unixtime: bool  # date_unixtime / edited_unixtime strings (since mid-2022)
    text_entities: bool  # text_entities list beside text (since late 2022)
    file_sizes: bool  # photo_file_size, file_size, file_name, thumbnail_file_size
    forwarded_from_id: bool
    # Before October 2020 a post made in the name of the chat carried no from at all.
    channel_from: bool
    user_id_max: int  # newest accounts of the time; ids passed 2**32 only recently

    def user_ref(self, uid: int) -> str | int:
        if self.string_ids:
            return f"user{uid}"
        if self.shifted_ids:
            return USER_SHIFT + uid
        return uid

    def channel_ref(self, cid: int) -> str | int:
        if self.string_ids:
            return f"channel{cid}"
        return CHANNEL_SHIFT + cid

    def chat_id_in_export(self, bare: int) -> int:
        return bare if self.string_ids else CHANNEL_SHIFT + bare

    def chat_id_range(self) -> tuple[int, int]:
        # Supergroup ids grow over time; pick one that fits the period.
        if self.name == "current":
            return 2_000_000_000, 3_400_000_000
        return 1_100_000_000, 1_499_999_999


ERAS: dict[str, Era] = {
    "current": Era(
        name="current",
        start=_local_epoch("2025-07-01T08:00:00"),
        end=_local_epoch("2026-03-31T23:00:00"),
        string_ids=True,
        shifted_ids=False,
        unixtime=True,
        text_entities=True,
        file_sizes=True,
        forwarded_from_id=True,
        channel_from=True,
        user_id_max=7_999_999_999,
    ),
    "2021": Era(
        name="2021",
        start=_local_epoch("2020-10-10T08:00:00"),
        end=_local_epoch("2021-03-31T23:00:00"),
        string_ids=False,
        shifted_ids=True,
        unixtime=False,
        text_entities=False,
        file_sizes=False,
        forwarded_from_id=False,
        channel_from=True,
        user_id_max=1_700_000_000,
    ),
    "2020": Era(
        name="2020",
        start=_local_epoch("2019-08-01T08:00:00"),
        end=_local_epoch("2020-09-25T23:00:00"),
        string_ids=False,
        shifted_ids=False,
        unixtime=False,
        text_entities=False,
        file_sizes=False,
        forwarded_from_id=False,
        channel_from=False,
        user_id_max=1_400_000_000,
    ),
}


_day_cache: list[Any] = [None, ""]


def local_iso(epoch: int) -> str:
    """Telegram Desktop's `date`: the exporter's wall clock, no offset."""
    # Called once or twice per message: the date part is cached per day (the 1M-message
    # export spends its time here otherwise).
    day, secs = divmod(epoch + UTC_OFFSET_SECONDS, 86400)
    if day != _day_cache[0]:
        t = time.gmtime(day * 86400)
        _day_cache[0], _day_cache[1] = day, f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
    hours, rest = divmod(secs, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{_day_cache[1]}{hours:02d}:{minutes:02d}:{seconds:02d}"


def file_stamp(epoch: int) -> str:
    """The DD-MM-YYYY_HH-MM-SS part of media names such as photo_3@14-09-2020_13-03-11.jpg."""
    t = time.gmtime(epoch + UTC_OFFSET_SECONDS)
    return (
        f"{t.tm_mday:02d}-{t.tm_mon:02d}-{t.tm_year:04d}"
        f"_{t.tm_hour:02d}-{t.tm_min:02d}-{t.tm_sec:02d}"
    )


def camera_stamp(epoch: int) -> str:
    """YYYYMMDD_HHMMSS, the way phone cameras name files (IMG_20250712_134501.jpg)."""
    t = time.gmtime(epoch + UTC_OFFSET_SECONDS)
    return (
        f"{t.tm_year:04d}{t.tm_mon:02d}{t.tm_mday:02d}_{t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d}"
    )


def marked_supergroup_id(bare: int) -> int:
    """Bot API / Telethon id of a channel or supergroup: computed, never "-100" + str."""
    return -(10**12 + bare)
