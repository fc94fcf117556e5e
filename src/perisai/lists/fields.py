"""Field conventions shared by the CSV, JSON and XML readers: hashes, statuses, ids, extras.

Lists name their fields every which way (`MD5`, `pdq_hash`, `hashType`, `caseId`), so names
are compared `squash`ed. Working that out for every row would dominate the cost of a 10^7-row
list, so it is done once per distinct set of field names (`_plan`, cached) and each row then
only looks up the fields its plan names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .model import (
    BY_LENGTH,
    WITHDRAW_BY_ID,
    BadHash,
    HashRecord,
    algorithm_name,
    clean_id,
    hash_field,
    normalise_hash,
    parse_bool,
    parse_quality,
)

# Statuses and actions that remove a hash. python-threatexchange compared the hash string to
# the status and so never applied a withdrawal; here the status is the only thing looked at.
# Matched exactly, case-insensitively: an unknown word is an error, never a guess.
# fmt: off
WITHDRAWN_WORDS = frozenset({
    "withdrawn", "withdraw", "deleted", "delete", "removed", "remove", "revoked", "revoke",
    "retracted", "retract", "expired", "inactive", "disabled", "rejected",
})
ACTIVE_WORDS = frozenset({
    "", "active", "add", "added", "new", "valid", "confirmed", "approved", "enabled", "current",
    "update", "updated", "upsert", "published", "live",
})
# fmt: on
STATUS_KEYS = ("status", "state", "action", "op", "operation", "event")
FLAG_KEYS = ("withdrawn", "deleted", "removed", "isdeleted", "iswithdrawn", "isremoved")
ID_KEYS = (
    "id", "sourceid", "itemid", "mediaid", "caseid", "hashid", "entryid", "uid", "reference",
    "ref", "recordid",
)  # fmt: skip
QUALITY_KEYS = ("quality", "pdqquality", "qualityscore", "hashquality")
VALUE_KEYS = ("hash", "hashvalue", "value", "signal", "signalvalue", "hashstring", "digest")
TYPE_KEYS = ("hashtype", "type", "algorithm", "signaltype", "hashalgorithm")

_SQUASH = re.compile(r"[\s_\-.]")


@lru_cache(maxsize=4096)
def squash(name: str) -> str:
    """A field name compared loosely: lower case without spaces, `_`, `-`, `.` or namespace."""
    return _SQUASH.sub("", name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower())


@dataclass(frozen=True, slots=True)
class _Plan:
    hashes: tuple[tuple[str, str], ...]  # (field, algorithm)
    ignored: tuple[str, ...]  # PhotoDNA and friends
    values: tuple[str, ...]  # generic `hash` fields, best first
    types: tuple[str, ...]
    ids: tuple[str, ...]
    qualities: tuple[str, ...]
    flags: tuple[tuple[str, str], ...]  # (field, squashed name)
    statuses: tuple[tuple[str, str], ...]
    extras: tuple[tuple[str, str], ...]  # (field, lower-cased name)


def _ordered(by_name: dict[str, str], keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(by_name[k] for k in keys if k in by_name)


@lru_cache(maxsize=512)
def _plan(names: tuple[str, ...]) -> _Plan:
    by_name: dict[str, str] = {}  # squashed -> the first field spelled that way
    for name in names:
        by_name.setdefault(squash(name), name)
    hashes, ignored = [], []
    for key, name in by_name.items():
        algorithm = hash_field(key)  # BadHash for vPDQ: not cached, raised again per row
        if algorithm:
            hashes.append((name, algorithm))
        elif algorithm == "":
            ignored.append(name)
    known = set(VALUE_KEYS + TYPE_KEYS + ID_KEYS + QUALITY_KEYS + STATUS_KEYS + FLAG_KEYS)
    spent = {name for key, name in by_name.items() if key in known or hash_field(key) is not None}
    return _Plan(
        hashes=tuple(hashes),
        ignored=tuple(ignored),
        values=_ordered(by_name, VALUE_KEYS),
        types=_ordered(by_name, TYPE_KEYS),
        ids=_ordered(by_name, ID_KEYS),
        qualities=_ordered(by_name, QUALITY_KEYS),
        flags=tuple((by_name[k], k) for k in FLAG_KEYS if k in by_name),
        statuses=tuple((by_name[k], k) for k in STATUS_KEYS if k in by_name),
        extras=tuple((n, n.strip().lower()) for n in names if n not in spent),
    )


def _present(value: Any) -> bool:
    return value is not None and value != "" and not isinstance(value, dict | list)


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = fields[name]
        if _present(value):
            return value
    return None


def _withdrawn(fields: dict[str, Any], plan: _Plan) -> bool:
    """True when a deleted/withdrawn flag or a status/action word says the hash goes away."""
    for name, key in plan.flags:
        raw = fields[name]
        if raw is None or raw == "":
            continue
        flag = parse_bool(raw)
        if flag is None:
            raise BadHash(f"{key} {str(raw)[:40]!r} is neither true nor false")
        if flag:
            return True
    for name, key in plan.statuses:
        raw = fields[name]
        if raw is None or isinstance(raw, bool | int | float | dict | list):
            continue
        word = str(raw).strip().lower()
        if word in WITHDRAWN_WORDS:
            return True
        if word not in ACTIVE_WORDS:
            raise BadHash(f"{key} {str(raw)[:40]!r} is not a status we know (active or withdrawn)")
    return False


def _extras(fields: dict[str, Any], plan: _Plan) -> dict[str, Any] | None:
    # VICS writes booleans as strings ("true"); they come back as real booleans here.
    out: dict[str, Any] = {}
    for name, lower in plan.extras:
        value = fields[name]
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            value = value.strip().lower() == "true"
        out.setdefault(lower, value)
    return out or None


def build_records(
    fields: dict[str, Any],
    *,
    bare64: str,
    line: int | None,
    more: list[tuple[str, str]] | None = None,
) -> tuple[list[HashRecord], bool]:
    """The records one item (CSV row, JSON object, XML entry) gives, and whether it was skipped.

    Hashes come from fields named by algorithm (`md5`, `SHA256`, `pdq_hash`...), from a
    `hash` value with a `hashType` (without one: by length, 64 digits meaning `bare64`), and
    from `more` (repeated XML elements). An item with several hashes gives one record per
    hash, sharing id, quality (PDQ records only), withdrawal and extras.
    Returns ([], True) for an item whose only hashes are ones we ignore (PhotoDNA), ([], False)
    for something that is not an item (a wrapper object, a blank row). BadHash if malformed.
    """
    plan = _plan(tuple(fields))
    found: list[tuple[str, Any]] = list(more or ())
    for name, algorithm in plan.hashes:
        if _present(fields[name]):
            found.append((algorithm, fields[name]))
    ignored = any(_present(fields[name]) for name in plan.ignored)
    value = _first(fields, plan.values)
    if value is not None and not isinstance(value, bool):
        label = _first(fields, plan.types)
        chosen = algorithm_name(str(label)) if label is not None else guess(str(value), bare64)
        if chosen is None:
            ignored = True
        else:
            found.append((chosen, value))
    source_id = clean_id(_first(fields, plan.ids))
    if not found:
        if source_id is not None and _quiet_withdrawal(fields, plan):
            return [HashRecord(WITHDRAW_BY_ID, source_id, True, None, source_id, line)], False
        return [], ignored
    withdrawn = _withdrawn(fields, plan)
    raw_quality = _first(fields, plan.qualities)
    quality = None if raw_quality is None else parse_quality(raw_quality)
    extra = _extras(fields, plan)
    records = []
    for algorithm, raw in found:
        if not isinstance(raw, str):
            raise BadHash(f"{algorithm} value {str(raw)[:40]!r} is not a string of hex digits")
        q = quality if algorithm == "pdq" else None
        hexed = normalise_hash(algorithm, raw)
        records.append(HashRecord(algorithm, hexed, withdrawn, q, source_id, line, extra))
    return records, False


def _quiet_withdrawal(fields: dict[str, Any], plan: _Plan) -> bool:
    # An item without hashes is a withdrawal by id only when it plainly says so; a wrapper
    # object such as {"id": "batch-7", "status": "ok"} must neither withdraw nor fail.
    try:
        return _withdrawn(fields, plan)
    except BadHash:
        return False


def guess(value: str, bare64: str) -> str:
    """The algorithm of an unlabelled hash from its length (64 digits: `bare64`)."""
    text = value.strip()
    if len(text) == 64:
        return bare64
    if len(text) in BY_LENGTH:
        return BY_LENGTH[len(text)]
    shown = text if len(text) <= 80 else text[:77] + "..."
    raise BadHash(
        f"{shown!r} is not a hash: {len(text)} characters, expected 32 (md5), 40 (sha1) "
        "or 64 (sha256 or pdq) hex digits"
    )
