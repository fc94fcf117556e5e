"""Streaming reads of Telegram's result.json: tolerant of `\\xNN`, precise about errors.

Telegram Desktop writes control characters as `\\xNN`, which JSON does not allow; `XEscapeReader`
turns them into `\\u00NN` on the fly. It also hashes and counts the original bytes, so a parse
error can name a byte offset and the export's SHA-256 comes for free.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ..errors import BadInput

_ESCAPE = re.compile(rb"\\(\\|x)")
READ_SIZE = 1 << 16
SECTIONS = ("chats", "left_chats")  # where a full-account export lists its chats


def _fix(match: re.Match[bytes]) -> bytes:
    return b"\\\\" if match.group(1) == b"\\" else b"\\u00"


MAX_DEPTH = 64  # Telegram exports nest about 6 deep; ijson's memory grows with depth squared
_ESCAPED = re.compile(rb"\\.", re.S)
_KEEP = b'"[]{}'
_DROP = bytes(b for b in range(256) if bytes([b]) not in _KEEP)
_SKELETON_STRING = re.compile(rb'"[^"]*"')
_DELTA = {91: 1, 123: 1, 93: -1, 125: -1}  # [ { ] }


class TooDeep(ijson.JSONError):
    def __init__(self, offset: int) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")
        self.offset = offset


class DepthGuard:
    """Tracks JSON nesting outside strings across chunks, with regexes (C speed).

    Without it a few hundred kilobytes of `[[[[...` make ijson allocate tens of gigabytes.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False

    def feed(self, chunk: bytes, offset: int) -> None:
        # Reduce the chunk to its skeleton of quotes and brackets (C-speed passes): drop
        # escape pairs first so an escaped quote cannot end a string, then everything else.
        skeleton = _ESCAPED.sub(b"", chunk) if b"\\" in chunk else chunk
        # Dropping two adjacent quotes never changes what is inside or outside a string, and
        # removes nearly every string at C speed before the regex sees what is left.
        skeleton = skeleton.translate(None, _DROP).replace(b'""', b"")
        if self.in_string:
            end = skeleton.find(b'"')
            if end < 0:
                return
            skeleton, self.in_string = skeleton[end + 1 :], False
        structural = _SKELETON_STRING.sub(b"", skeleton)
        quote = structural.find(b'"')
        if quote >= 0:  # an unterminated string runs on into the next chunk
            structural, self.in_string = structural[:quote], True
        if not structural:
            return
        running = list(accumulate(map(_DELTA.__getitem__, structural), initial=self.depth))
        if max(running) > MAX_DEPTH:
            raise TooDeep(offset)
        self.depth = running[-1]


class XEscapeReader(io.RawIOBase):
    """A read-only stream that rewrites `\\xNN` escapes and hashes the original bytes."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._carry = b""
        self.sha256 = hashlib.sha256()
        self.consumed = 0  # original bytes handed to the parser so far
        self.fixed_escapes = 0
        self.guard = DepthGuard()
        self._started = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) to learn whether the stream is bytes
            return b""
        data = self._raw.read(size if size and size > 0 else READ_SIZE)
        if data:
            self.sha256.update(data)
            self.consumed += len(data)
        data = self._carry + data
        self._carry = b""
        if not data:
            return b""
        if not self._started:
            self._started = True
            if data.startswith(BOM):  # Notepad's UTF-8 mark: hashed, not parsed
                data = data[len(BOM) :]
        # A run of backslashes at the end may pair with the next read: keep it for then.
        stripped = data.rstrip(b"\\")
        if len(stripped) != len(data) and self._raw_has_more():
            self._carry = data[len(stripped) :]
            data = stripped
        if b"\\" in data:
            fixed = _ESCAPE.sub(_fix, data)
            if len(fixed) != len(data):
                self.fixed_escapes += (len(fixed) - len(data)) // 2
            data = fixed
        self.guard.feed(data, self.consumed)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _raw_has_more(self) -> bool:
        peek = getattr(self._raw, "peek", None)
        return bool(peek(1)) if peek else True

    def finish(self) -> str:
        """Hash any bytes the parser did not need (trailing whitespace) and return SHA-256."""
        while data := self._raw.read(READ_SIZE):
            self.sha256.update(data)
        return self.sha256.hexdigest()


BOM = b"\xef\xbb\xbf"
_WIDE = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def check_encoding(path: Path) -> None:
    """Telegram Desktop writes UTF-8. A UTF-16/32 file (re-saved by an editor) is named as
    such instead of failing as 'invalid char at byte 0'."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read: {exc.strerror}") from None
    for mark, name in _WIDE:
        if head.startswith(mark):
            raise BadInput(f"{path}: is {name} text; a Telegram export is UTF-8 (save it as UTF-8)")
    if len(head) >= 2 and (head[0] == 0) != (head[1] == 0):
        raise BadInput(f"{path}: looks like UTF-16 text without a mark; a Telegram export is UTF-8")


def _reason(exc: Exception) -> str:
    """The first line of a parser error, as text: yajl hands bytes whose repr would carry a
    quoted piece of the file (message text) onto the one stderr line."""
    arg = exc.args[0] if exc.args else ""
    if isinstance(arg, bytes):
        arg = arg.decode("utf-8", "replace")
    lines = str(arg).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def error_offset(path: Path, fallback: int) -> int:
    """The byte offset of a JSON error, found with ijson's pure-Python parser (slow, exact)."""
    if path.stat().st_size > 256 << 20:
        return fallback
    from ijson.backends import python as slow

    with path.open("rb") as fh:
        reader = XEscapeReader(io.BufferedReader(fh))
        try:
            for _ in slow.basic_parse(io.BufferedReader(reader)):
                pass
        except Exception as exc:  # noqa: BLE001 - we only want the position
            m = re.search(r" at (\d+)", str(exc))
            if m:
                with path.open("rb") as again:
                    chars = again.read().decode("utf-8", errors="replace")[: int(m.group(1))]
                return len(chars.encode("utf-8"))
    return fallback


def describe_error(path: Path, exc: Exception, consumed: int) -> BadInput:
    if isinstance(exc, TooDeep):
        return BadInput(
            f"{path}: JSON nested deeper than {MAX_DEPTH} levels before byte {exc.offset}: "
            "refused (no Telegram export nests like this)"
        )
    size = path.stat().st_size
    reason = _reason(exc)
    if "premature EOF" in reason or "Incomplete" in reason:
        return BadInput(f"{path}: truncated JSON at byte {size}: the file ends mid-document")
    offset = error_offset(path, consumed)
    if "invalid bytes in UTF8" in reason:
        reason += " (not UTF-8: re-saved as Latin-1 or another code page?)"
    return BadInput(f"{path}: malformed JSON at byte {offset}: {reason}")


def open_stream(path: Path) -> tuple[BinaryIO, XEscapeReader]:
    fh = path.open("rb")
    return fh, XEscapeReader(fh)


def top_level(path: Path, stop_at: tuple[str, ...]) -> dict[str, Any]:
    """Scalar top-level fields before the first key in `stop_at` (the header of a chat)."""
    head: dict[str, Any] = {}
    fh, reader = open_stream(path)
    with fh:
        try:
            for prefix, event, value in ijson.parse(reader, use_float=True):
                if "_stopped_at" in head:
                    head["_stopped_kind"] = event  # what the key holds: start_array...
                    break
                if prefix == "" and event == "map_key":
                    if value in stop_at:
                        head["_stopped_at"] = value
                elif "." not in prefix and event in ("string", "number", "boolean", "null"):
                    head[prefix] = value
        except ijson.JSONError as exc:
            raise describe_error(path, exc, reader.consumed) from None
    return head


def account_chats(path: Path) -> list[dict[str, Any]]:
    """Pass one over a full-account export: each chat's header and message count, in order.

    Only `chats` and `left_chats` are looked at; the investigator's own personal information,
    contacts and sessions are skipped without being kept.
    """
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    present: list[str] = []
    listed: set[str] = set()
    fh, reader = open_stream(path)
    with fh:
        try:
            for prefix, event, value in ijson.parse(reader, use_float=True):
                if not prefix.startswith(("chats.list.item", "left_chats.list.item")):
                    if prefix == "" and event == "map_key" and value in SECTIONS:
                        present.append(value)
                    elif prefix.endswith(".list") and event == "start_array":
                        listed.add(prefix[:-5])
                    continue
                section, _, rest = prefix.partition(".list.item")
                if rest == "":
                    if event == "start_map":
                        current = {"section": section, "messages": 0}
                        found.append(current)
                    elif event in _VALUE_STARTS:
                        raise _bad_shape(path, f"{section}.list item {len(found) + 1}", event)
                elif current is None:
                    continue
                elif rest == ".messages.item":
                    # Every item counts, objects or not: ingest reads them back in this order
                    # and a miscount would move messages into the next chat.
                    if event in _VALUE_STARTS:
                        current["messages"] += 1
                elif rest == ".messages":
                    if event in _VALUE_STARTS and event != "start_array":
                        name = f"chat {current.get('id')!r:.40} ({section}.list item {len(found)})"
                        raise _bad_shape(path, f"'messages' of {name}", event)
                elif rest.count(".") == 1 and event in ("string", "number", "boolean", "null"):
                    current[rest[1:]] = value
        except ijson.JSONError as exc:
            raise describe_error(path, exc, reader.consumed) from None
    for section in present:
        if section not in listed:
            raise BadInput(f"{path}: '{section}' holds no 'list' of chats")
    return found


_VALUE_STARTS = frozenset(("start_map", "start_array", "string", "number", "boolean", "null"))
_WHAT = {"start_map": "an object", "start_array": "a list", "string": "a string"}


def _bad_shape(path: Path, where: str, event: str) -> BadInput:
    what = _WHAT.get(event, event if event != "number" else "a number")
    expected = "a list" if "'messages'" in where else "an object"
    return BadInput(f"{path}: {where} is {what}, not {expected}")


def check_messages_kind(path: Path, event: str | None) -> None:
    """A single-chat export's `messages` must be a list."""
    if event is not None and event != "start_array":
        raise _bad_shape(path, "'messages'", event)


def items(reader: XEscapeReader, prefix: str) -> Iterator[Any]:
    return ijson.items(reader, prefix, use_float=True)


def parse_through(path: Path) -> None:
    """Parse the whole file once, keeping nothing: a BadInput naming the byte where it breaks."""
    fh, reader = open_stream(path)
    with fh:
        try:
            for _ in ijson.basic_parse(reader, use_float=True):
                pass
        except ijson.JSONError as exc:
            raise describe_error(path, exc, reader.consumed) from None
