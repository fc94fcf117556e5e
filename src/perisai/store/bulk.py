"""Fast bulk inserts.

On SQLite, SQLAlchemy's per-row parameter processing costs more than the insert itself, so
`BulkInserter` sends rows whose primary keys are already set straight to the driver's
executemany, with values converted the way SQLAlchemy stores them (DATETIME as
'YYYY-MM-DD HH:MM:SS.ffffff', JSON as text). Reading back through SQLAlchemy gives the same
values; verify's row hashes prove it on every run. On PostgreSQL, `insert_rows` sends them
through COPY (psycopg's `Cursor.copy`), several times faster than executemany of INSERTs; any
other database takes the ordinary Core path.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Table, insert

from .rowhash import json_serializer

USE_COPY = True  # benchmarks/scale_postgres.py switches it off to measure the INSERT path


class BulkInserter:
    def __init__(self, conn: Connection, table: Table) -> None:
        self.conn, self.table = conn, table
        self.fast = conn.dialect.name == "sqlite"
        if self.fast:
            names = [c.name for c in table.columns]
            # Rows are converted in place (callers hash them first), then pulled out in column
            # order by one C-level itemgetter.
            self.dates = [c.name for c in table.columns if isinstance(c.type, DateTime)]
            self.jsons = [c.name for c in table.columns if isinstance(c.type, JSON)]
            self.getter = itemgetter(*names)
            # Table and column names come from our own models, never from input.
            self.sql = (
                f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(names))})"
            )

    def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows that hold every column. On SQLite the dicts are converted in place."""
        if not self.fast:
            insert_rows(self.conn, self.table, rows)
            return
        if not rows:
            return
        getter, dates, jsons = self.getter, self.dates, self.jsons
        values = []
        for row in rows:
            # SQLAlchemy's SQLite storage formats, inlined: this loop runs once per message and
            # function calls were a visible part of ingest's time.
            for name in dates:
                value = row[name]
                if value is not None:
                    text = value.isoformat(" ")
                    row[name] = text if value.microsecond else text + ".000000"
            for name in jsons:
                value = row[name]
                if value is not None:
                    row[name] = "[]" if value == [] else json_serializer(value)
            values.append(getter(row))
        self.conn.exec_driver_sql(self.sql, values)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows that share their keys (the primary key may be left to the database).

    PostgreSQL (psycopg) gets one COPY, which at ten million findings was the difference
    between the stage's writer or its workers being the bottleneck; JSON columns are
    serialised the way SQLAlchemy's JSON type does it (None becomes JSON null). Elsewhere, or
    when the rows' keys differ, the ordinary Core executemany."""
    if not rows:
        return
    names = list(rows[0])
    copy = USE_COPY and conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
    keys = rows[0].keys()
    if not copy or any(row.keys() != keys for row in rows):
        conn.execute(insert(table), list(rows))
        return
    jsons = [i for i, n in enumerate(names) if isinstance(table.c[n].type, JSON)]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with dbapi.cursor() as cur, cur.copy(sql) as stream:  # type: ignore[attr-defined]
        for row in rows:
            values = [row[n] for n in names]
            for i in jsons:
                values[i] = json_serializer(values[i])
            stream.write_row(values)
