"""Telegram Desktop's JSON layout, byte for byte: one-space indentation per level, ": " after
keys, non-ASCII written raw, no trailing newline.

json.dumps(indent=1) would come close but runs the pure-Python encoder; this writer keeps the
streaming 1M-message export fast and matches the exporter's own serializer.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _enc
from typing import Any, TextIO

_PAD = ["\n" + " " * n for n in range(16)]


class PlainEntities(str):
    """text_entities of a message whose text is one plain run: [{"type": "plain", ...}].

    Most messages are like that; writing them from a template instead of building and
    serialising a list of dicts is the largest saving of the 1M-message export.
    """


# Per indentation level: key -> newline, indentation, quoted key and ": " (keys are few).
_KEYS: list[dict[str, str]] = [{} for _ in range(16)]


def _value(value: Any, level: int) -> str:
    kind = type(value)
    if kind is str:
        return _enc(value)
    if kind is int:
        return str(value)
    if kind is dict:
        return obj(value, level)
    if kind is list:
        if not value:
            return "[]"
        inner = level + 1
        pad = _PAD[inner]
        out = []
        for v in value:
            if type(v) is str:
                out.append(pad + _enc(v))
            elif type(v) is dict and len(v) == 2 and "type" in v:
                out.append(pad + _piece(v, inner))  # text pieces: the common nested case
            else:
                out.append(pad + _value(v, inner))
        return "[" + ",".join(out) + _PAD[level] + "]"
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return repr(value)
    raise TypeError(f"cannot serialise {kind.__name__}")


def _piece(d: dict[str, Any], level: int) -> str:
    """{"type": ..., "text": ...} with nothing else, written without the generic loop."""
    pad = _PAD[level + 1]
    return f'{{{pad}"type": {_enc(d["type"])},{pad}"text": {_enc(d["text"])}{_PAD[level]}}}'


def obj(d: dict[str, Any], level: int) -> str:
    """An object whose opening brace sits at indentation `level`."""
    inner = level + 1
    keys = _KEYS[inner]
    parts = []
    for k, v in d.items():
        head = keys.get(k)
        if head is None:
            head = keys[k] = _PAD[inner] + _enc(k) + ": "
        kind = type(v)
        if kind is str:
            parts.append(head + _enc(v))
        elif kind is PlainEntities:
            pad = _PAD[inner + 1]
            parts.append(
                f'{head}[{pad}{{{pad} "type": "plain",{pad} "text": {_enc(v)}{pad}}}{_PAD[inner]}]'
            )
        elif kind is int:
            parts.append(head + str(v))
        else:
            parts.append(head + _value(v, inner))
    return "{" + ",".join(parts) + _PAD[level] + "}"


class ExportWriter:
    """Streams a single-chat export: header, one message at a time, footer."""

    def __init__(self, out: TextIO, name: str, chat_type: str, chat_id: int) -> None:
        self.out = out
        self.first = True
        out.write(
            "{\n" + f' "name": {_enc(name)},\n'
            f' "type": {_enc(chat_type)},\n'
            f' "id": {chat_id},\n "messages": ['
        )

    def message(self, msg: dict[str, Any]) -> None:
        self.out.write(("\n  " if self.first else ",\n  ") + obj(msg, 2))
        self.first = False

    def close(self) -> None:
        self.out.write("\n ]\n}" if not self.first else "]\n}")
