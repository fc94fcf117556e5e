"""CSV/TSV hash lists with a header row naming the columns.

Hash columns are named by algorithm (`md5`, `SHA1`, `sha256`, `pdq`, `pdq_hash`...) or as a
`hash` column with a `type` column beside it; `quality`, `id`, `status` (or `deleted`,
`withdrawn`) have their usual meaning and every other column (category, series...) is kept in
`extra`. A row with several hashes gives one record per hash. The delimiter (comma, semicolon
or tab) is taken from the header line; `#` comment lines may precede the header.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .fields import ID_KEYS, QUALITY_KEYS, STATUS_KEYS, TYPE_KEYS, VALUE_KEYS, build_records, squash
from .model import BadHash, HashRecord, ListFormatError, hash_field
from .text import MAX_LINE, lines, name_says_pdq

DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header most; a one-column file gets a comma."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def header_names(header: str) -> list[str] | None:
    """The header's column names when it names at least one hash column, else None."""
    row = next(csv.reader([header], delimiter=sniff_delimiter(header)), [])
    keys = [squash(name) for name in row]
    try:
        if any(hash_field(key) not in (None, "") for key in keys):
            return row
    except BadHash:
        return row  # a vPDQ column: a CSV list all the same, refused when read
    if any(key in VALUE_KEYS for key in keys):
        return row
    return None


def looks_like_header(line: str) -> bool:
    keys = {squash(k) for k in next(csv.reader([line], delimiter=sniff_delimiter(line)), [])}
    known = set(ID_KEYS + QUALITY_KEYS + STATUS_KEYS + TYPE_KEYS)
    return header_names(line) is not None or (len(keys & known) >= 2)


def read_csv(path: Path, skipped: Counter[str], bare64: str | None = None) -> Iterator[HashRecord]:
    default64 = bare64 or ("pdq" if name_says_pdq(path) else "sha256")
    with path.open("rb") as fh:
        numbered = lines(path, fh)
        header_line = 0
        header = ""
        for number, text in numbered:
            if text.strip() and not text.lstrip().startswith("#"):
                header_line, header = number, text
                break
        if not header:
            return
        names = header_names(header.rstrip("\r\n"))
        if names is None:
            raise ListFormatError(
                path,
                f"line {header_line}",
                "the header names no hash column (md5, sha1, sha256, pdq, or hash with type)",
            )
        delimiter = sniff_delimiter(header)
        rows = csv.reader(
            (text for _, text in itertools.chain([(header_line, header)], numbered)),
            delimiter=delimiter,
        )
        width = len(names)
        number = header_line
        try:
            next(rows)  # the header again
            for row in rows:
                number = header_line + rows.line_num - 1  # the row's last physical line
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > width:
                    raise BadHash(f"{len(row)} fields, but the header names {width}")
                fields = dict(zip(names, [c.strip() for c in row], strict=False))
                records, ignored = build_records(fields, bare64=default64, line=number)
                if ignored:
                    skipped["ignored hash type"] += 1
                elif not records:
                    skipped["row without a hash"] += 1
                yield from records
        except BadHash as exc:
            raise ListFormatError(path, f"line {number}", str(exc)) from None
        except csv.Error as exc:
            # csv's own limit is 128 KiB a field; our line limit is stricter and fires first
            # for single-line fields, this catches a quoted field spanning many lines.
            where = f"line {header_line + rows.line_num - 1}"
            raise ListFormatError(path, where, f"malformed CSV: {exc} (limit {MAX_LINE})") from None
