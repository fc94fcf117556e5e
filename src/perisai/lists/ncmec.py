"""NCMEC hash-sharing XML (and simpler XML lists), streamed with expat, hostile XML refused.

NCMEC's v2 entries look like `<image><id>..</id><classification>A1</classification>
<fingerprints><md5>..</md5><sha1>..</sha1><pdna>..</pdna></fingerprints></image>` and
`<deletedImage><id>..</id></deletedImage>`; simpler lists write `<file><md5>..</md5></file>`.
Any element holding hash elements (md5, sha1, sha256, pdq; directly or inside a
`fingerprints`/`hashes` container) is an item; its other leaf children and attributes (id,
classification, member...) become `source_id` and `extra`. `deleted*` elements, a
`<deleted>true</deleted>` child or a withdrawn `status` make withdrawals; a deletion with only
an id gives an `algorithm="id"` record. Namespaces and prefixes are ignored.

Security: any DOCTYPE is refused outright, so no entity (billion laughs, external files or
URLs) can ever be declared, let alone expanded; the standard library's expat is enough and no
extra dependency (defusedxml) is needed. Element text is capped at 4 KiB, and a single token
(tag, comment, attribute) that runs past 1 MiB is refused so expat never buffers gigabytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from .fields import build_records, squash
from .model import BadHash, HashRecord, ListFormatError, hash_field

CHUNK = 1 << 16
MAX_TEXT = 4096  # characters of one element's text; a PhotoDNA hash is about 2,000
MAX_STALL = 1 << 20  # bytes fed without a parser event: one token this long is an attack
MAX_DEPTH = 64
MAX_FIELDS = 256  # leaf children kept per element
CONTAINERS = frozenset({"fingerprints", "hashes", "hashvalues", "signatures", "digests"})


@dataclass(slots=True)
class _Frame:
    name: str
    line: int
    attrs: dict[str, str]
    parts: list[str] | None = field(default_factory=list)  # None once it has a child element
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    hashes: list[tuple[str, str]] = field(default_factory=list)
    ignored: bool = False


class _Refused(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where = where
        self.reason = reason


class _Walker:
    def __init__(self, path: Path, skipped: Counter[str]) -> None:
        self.path = path
        self.skipped = skipped
        self.stack: list[_Frame] = []
        self.out: list[HashRecord] = []
        self.last_event = 0
        p = expat.ParserCreate()
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = self._doctype
        p.EntityDeclHandler = self._entity
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text
        p.CommentHandler = self._event
        p.ProcessingInstructionHandler = self._event
        self.parser = p

    def _where(self) -> str:
        return f"line {self.parser.CurrentLineNumber}"

    def _event(self, *_: Any) -> None:
        self.last_event = self.parser.CurrentByteIndex

    def _doctype(self, *_: Any) -> None:
        raise _Refused(
            self._where(),
            "DOCTYPE refused: hash lists never need one and "
            "entities in it could expand without bound or read local files",
        )

    def _entity(self, *_: Any) -> None:
        raise _Refused(self._where(), "entity declaration refused")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._event()
        if self.stack:
            self.stack[-1].parts = None
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(self._where(), f"elements nested deeper than {MAX_DEPTH}")
        small = {squash(k): v[:MAX_TEXT] for k, v in list(attrs.items())[:MAX_FIELDS]}
        small.pop("xmlns", None)
        self.stack.append(_Frame(squash(name), self.parser.CurrentLineNumber, small))

    def _text(self, data: str) -> None:
        self._event()
        top = self.stack[-1] if self.stack else None
        if top is None or top.parts is None:
            return
        top.size += len(data)
        if top.size > MAX_TEXT:
            raise _Refused(self._where(), f"<{top.name}> text longer than {MAX_TEXT} characters")
        top.parts.append(data)

    def _end(self, name: str) -> None:
        self._event()
        frame = self.stack.pop()
        text = "".join(frame.parts).strip() if frame.parts is not None else None
        try:
            algorithm = hash_field(frame.name)
            if algorithm is not None:
                self._hash(frame, algorithm, text)
            elif text is not None and self.stack:
                parent = self.stack[-1]
                if len(parent.fields) < MAX_FIELDS:
                    parent.fields.setdefault(frame.name, text)
            elif frame.hashes or frame.ignored or frame.name.startswith("deleted"):
                self._item(frame)
        except BadHash as exc:
            raise _Refused(f"line {frame.line}", str(exc)) from None

    def _hash(self, frame: _Frame, algorithm: str, text: str | None) -> None:
        entry = self._entry()
        if entry is None:  # hashes straight under the root: each one is an item
            lone = _Frame(frame.name, frame.line, frame.attrs)
            lone.ignored = algorithm == ""
            if text and algorithm:
                lone.hashes.append((algorithm, text))
            self._item(lone)
        elif algorithm == "" or not text:
            entry.ignored = entry.ignored or algorithm == ""
        elif len(entry.hashes) >= MAX_FIELDS:
            raise BadHash(f"more than {MAX_FIELDS} hashes in one <{entry.name}>")
        else:
            entry.hashes.append((algorithm, text))

    def _entry(self) -> _Frame | None:
        index = len(self.stack) - 1
        if index >= 0 and self.stack[index].name in CONTAINERS:
            index -= 1
        return self.stack[index] if index >= 1 else None  # index 0 is the document element

    def _item(self, frame: _Frame) -> None:
        fields: dict[str, Any] = {**frame.attrs, **frame.fields}
        if frame.name.startswith("deleted") and len(frame.name) > len("deleted"):
            fields["deleted"] = "true"  # <deletedImage>, <deletedVideo>
        records, _ = build_records(fields, bare64="sha256", line=frame.line, more=frame.hashes)
        if not records and frame.ignored:
            self.skipped["ignored hash type"] += 1
        self.out.extend(records)


def read_ncmec(
    path: Path, skipped: Counter[str], bare64: str | None = None
) -> Iterator[HashRecord]:
    del bare64  # every XML hash is labelled by its element name
    walker = _Walker(path, skipped)
    fed = 0
    with path.open("rb") as fh:
        try:
            while True:
                chunk = fh.read(CHUNK)
                fed += len(chunk)
                walker.parser.Parse(chunk, not chunk)
                if fed - max(walker.last_event, 0) > MAX_STALL:
                    raise _Refused(
                        f"byte {walker.last_event}", f"one XML token runs past {MAX_STALL} bytes"
                    )
                if walker.out:
                    yield from walker.out
                    walker.out.clear()
                if not chunk:
                    return
        except _Refused as exc:
            raise ListFormatError(path, exc.where, exc.reason) from None
        except expat.ExpatError as exc:
            reason = expat.errors.messages[exc.code]
            if fed and exc.lineno and reason in ("no element found", "unclosed token"):
                reason += ": the file ends mid-document"
            raise ListFormatError(
                path, f"line {exc.lineno} column {exc.offset + 1}", f"malformed XML: {reason}"
            ) from None
