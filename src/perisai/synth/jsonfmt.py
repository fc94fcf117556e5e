"""Telegram Desktop's JSON layout, byte for byte: one-space indentation per level, ": " after
keys, non-ASCII written raw, no trailing newline.

json.dumps(indent=1) would come close but runs the pure-Python encoder; this writer keeps the
streaming 1M-message export fast and matches the exporter's own serializer.
"""

from __future__ import annotations

from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, TextIO

_INDENT = [" " * n for n in range(16)]


def _value(value: Any, level: int) -> str:
    if isinstance(value, str):
        return encode_basestring(value)  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return obj(value, level)
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = ",\n" + _INDENT[level + 1]
        return (
            "[\n" + _INDENT[level + 1] + inner.join(_value(v, level + 1) for v in value)
            + "\n" + _INDENT[level] + "]"
        )
    raise TypeError(f"cannot serialise {type(value).__name__}")


def obj(d: dict[str, Any], level: int) -> str:
    """An object whose opening brace sits at indentation `level`."""
    pad = "\n" + _INDENT[level + 1]
    body = ",".join(pad + encode_basestring(k) + ": " + _value(v, level + 1) for k, v in d.items())
    return "{" + body + "\n" + _INDENT[level] + "}"


class ExportWriter:
    """Streams a single-chat export: header, one message at a time, footer."""

    def __init__(self, out: TextIO, name: str, chat_type: str, chat_id: int) -> None:
        self.out = out
        self.first = True
        out.write(
            "{\n" + f' "name": {encode_basestring(name)},\n'
            f' "type": {encode_basestring(chat_type)},\n'
            f' "id": {chat_id},\n "messages": ['
        )

    def message(self, msg: dict[str, Any]) -> None:
        self.out.write(("\n  " if self.first else ",\n  ") + obj(msg, 2))
        self.first = False

    def close(self) -> None:
        self.out.write("\n ]\n}" if not self.first else "]\n}")
