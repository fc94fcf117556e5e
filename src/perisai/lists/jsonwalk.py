"""Stream any JSON hash list as its objects' scalar fields, in bounded memory.

VICS sets reach 10^7 records, so nothing is loaded whole: ijson's event stream is folded into
one small dict per JSON object (scalars only; nested objects become objects of their own), and
each is handed on when it closes. The reader underneath refuses what would make ijson itself
allocate without bound: nesting deeper than 64 (the ingest DepthGuard) and any run of more than
1 MiB without a quote (a gigantic string or number, which yajl would buffer whole).
A JSON array, one object, or JSON lines (one object a line) all read the same way.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ..ingest.jsonstream import DepthGuard, TooDeep, error_offset
from .fields import build_records
from .model import BadHash, HashRecord, ListFormatError

MAX_RUN = 1 << 20  # bytes without a quote: no hash list has a string or number this long
MAX_FIELDS = 1000  # scalar fields in one object
READ_SIZE = 1 << 16
_ESCAPED = re.compile(rb"\\.", re.S)


class TooLong(ijson.JSONError):
    def __init__(self, offset: int, what: str) -> None:
        super().__init__(what)
        self.offset = offset


class GuardedReader(io.RawIOBase):
    """Counts bytes, limits nesting and the longest quote-free run; skips a UTF-8 BOM."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.consumed = 0
        self._guard = DepthGuard()
        self._run = 0
        self._escaped = False  # the previous chunk ended inside a backslash escape
        self._first = True

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) to learn whether the stream is bytes
            return b""
        data = self._raw.read(size if size and size > 0 else READ_SIZE)
        if self._first and data:
            self._first = False
            if data.startswith(b"\xef\xbb\xbf"):  # utf-8-sig: yajl would refuse the BOM
                self.consumed += 3
                data = data[3:]
        self.consumed += len(data)
        if data:
            self._guard.feed(data, self.consumed)
            self._check_runs(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _check_runs(self, data: bytes) -> None:
        # Escaped quotes (`\"`) do not end a string, so remove escape pairs first, carrying a
        # lone trailing backslash into the next chunk.
        if self._escaped:
            data = data[1:]
        body = data.rstrip(b"\\")
        self._escaped = (len(data) - len(body)) % 2 == 1
        if b"\\" in body:
            body = _ESCAPED.sub(b"", body)
        parts = body.split(b'"')
        longest = max(self._run + len(parts[0]), max(map(len, parts)))
        self._run = self._run + len(parts[0]) if len(parts) == 1 else len(parts[-1])
        if longest > MAX_RUN:
            raise TooLong(self.consumed, f"a string or number longer than {MAX_RUN} bytes")


def objects(path: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """(scalar fields of each JSON object as it closes, byte offset read so far)."""
    with path.open("rb") as fh:
        reader = GuardedReader(fh)
        stack: list[dict[str, Any] | None] = []  # None: an array level
        keys: list[str | None] = []
        try:
            for event, value in ijson.basic_parse(reader, use_float=True, multiple_values=True):
                if event == "map_key":
                    keys[-1] = value
                elif event == "start_map":
                    stack.append({})
                    keys.append(None)
                elif event == "end_map":
                    keys.pop()
                    done = stack.pop()
                    assert done is not None
                    yield done, reader.consumed
                elif event == "start_array":
                    stack.append(None)
                    keys.append(None)
                elif event == "end_array":
                    stack.pop()
                    keys.pop()
                elif stack and stack[-1] is not None:
                    fields = stack[-1]
                    if len(fields) >= MAX_FIELDS:
                        raise TooLong(reader.consumed, f"an object with over {MAX_FIELDS} fields")
                    key = keys[-1]
                    assert key is not None
                    fields.setdefault(key, value)
        except (TooDeep, TooLong) as exc:
            raise ListFormatError(path, f"byte {exc.offset}", f"refused: {exc}") from None
        except ijson.IncompleteJSONError as exc:
            raise _describe(path, exc, reader.consumed) from None
        except ijson.JSONError as exc:
            raise _describe(path, exc, reader.consumed) from None


def _describe(path: Path, exc: Exception, consumed: int) -> ListFormatError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "premature EOF" in reason or "Incomplete" in reason or "incomplete" in reason:
        size = path.stat().st_size
        return ListFormatError(path, f"byte {size}", "truncated JSON: the file ends mid-document")
    with path.open("rb") as fh:
        bom = fh.read(3) == b"\xef\xbb\xbf"
    # The exact offset comes from a slow re-parse, which would stop at a BOM: then say "near".
    offset = consumed if bom else error_offset(path, consumed)
    return ListFormatError(path, f"byte {offset}", f"malformed JSON: {reason}")


def read_json_items(path: Path, skipped: Counter[str], bare64: str) -> Iterator[HashRecord]:
    """Records from every JSON object that carries a hash; `record N` counts those objects."""
    ordinal = 0
    for fields, offset in objects(path):
        try:
            records, ignored = build_records(fields, bare64=bare64, line=ordinal + 1)
        except BadHash as exc:
            where = f"record {ordinal + 1} (before byte {offset})"
            raise ListFormatError(path, where, str(exc)) from None
        if ignored:
            ordinal += 1
            skipped["ignored hash type"] += 1
        elif records:
            ordinal += 1
            yield from records
