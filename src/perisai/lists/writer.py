"""Write hash lists for exchange: plain text (`<type> <hex>`) and CSV (PDQ lists for platforms).

Both stream, write to a temporary file beside the target and rename it into place, so a failed
export never leaves half a list behind under the real name. Withdrawn records are left out
(a list says what to match; withdrawals travel as the sender's own exchange records) unless
CSV is asked for a status column.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .model import ALGORITHMS, WITHDRAW_BY_ID, HashRecord


@contextmanager
def _atomic(path: Path) -> Iterator[TextIO]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_txt(records: Iterable[HashRecord], path: Path | str, *, typed: bool = True) -> int:
    """One `<algorithm> <hex>` line per live record (`typed=False`: bare hex). Returns lines.

    Bare hex is only unambiguous for a single-algorithm list; a bare PDQ list should be named
    with "pdq" in its file name so that it reads back as PDQ, not SHA-256.
    """
    count = 0
    with _atomic(Path(path)) as fh:
        for record in records:
            if record.withdrawn or record.algorithm == WITHDRAW_BY_ID:
                continue
            fh.write(f"{record.algorithm} {record.value}\n" if typed else f"{record.value}\n")
            count += 1
    return count


def write_csv(
    records: Iterable[HashRecord],
    path: Path | str,
    *,
    algorithms: Iterable[str] = ALGORITHMS,
    include_withdrawn: bool = False,
) -> int:
    """A header `md5,sha1,sha256,pdq,quality,id[,status]`, one row per record. Returns rows.

    `algorithms=["pdq"]` gives the `pdq,quality,id` list platforms ingest; records of other
    algorithms are left out.
    """
    wanted = [a for a in ALGORITHMS if a in set(algorithms)]
    header = [*wanted, "quality", "id"] + (["status"] if include_withdrawn else [])
    count = 0
    with _atomic(Path(path)) as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        for record in records:
            if record.algorithm not in wanted or (record.withdrawn and not include_withdrawn):
                continue
            row = [record.value if a == record.algorithm else "" for a in wanted]
            row += ["" if record.quality is None else str(record.quality), record.source_id or ""]
            if include_withdrawn:
                row.append("withdrawn" if record.withdrawn else "active")
            out.writerow(row)
            count += 1
    return count
