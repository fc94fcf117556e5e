"""Fast bulk inserts of rows whose primary keys are already set.

On SQLite, SQLAlchemy's per-row parameter processing costs more than the insert itself, so
rows go straight to the driver's executemany with values converted the way SQLAlchemy stores
them (DATETIME as 'YYYY-MM-DD HH:MM:SS.ffffff', JSON as text). Reading back through
SQLAlchemy gives the same values; verify's row hashes prove it on every run. Other databases
go through PostgreSQL's COPY (psycopg's `Cursor.copy`), several times faster than
executemany of INSERTs; any other database takes the ordinary Core path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Table, insert

from .rowhash import json_serializer


def _sqlite_datetime(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite storage format, '%Y-%m-%d %H:%M:%S.%f', without strftime's cost.
    if value is None:
        return None
    text = value.isoformat(" ")
    return text if value.microsecond else text + ".000000"


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if not value:
        return "[]" if isinstance(value, list) else json_serializer(value)
    return json_serializer(value)


def _converter(column: Any) -> Callable[[Any], Any] | None:
    if isinstance(column.type, DateTime):
        return _sqlite_datetime
    if isinstance(column.type, JSON):
        return _json
    return None


USE_COPY = True  # benchmarks/scale_postgres.py switches it off to measure the INSERT path


class BulkInserter:
    def __init__(self, conn: Connection, table: Table) -> None:
        self.conn, self.table = conn, table
        self.fast = conn.dialect.name == "sqlite"
        self.copy = (
            USE_COPY and conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
        )
        names = [c.name for c in table.columns]
        if self.copy:
            # COPY's text format: psycopg adapts ints, strings and datetimes; JSON columns go
            # as their serialised text, which PostgreSQL parses into json on the way in.
            self.names = names
            self.converters: list[tuple[str, Callable[[Any], Any]]] = [
                (c.name, _json) for c in table.columns if isinstance(c.type, JSON)
            ]
            self.getter = itemgetter(*names)
            self.sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        if self.fast:
            self.names = names
            # Rows are converted in place (callers hash them first), then pulled out in column
            # order by one C-level itemgetter.
            self.dates = [c.name for c in table.columns if _converter(c) is _sqlite_datetime]
            self.jsons = [c.name for c in table.columns if _converter(c) is _json]
            self.getter = itemgetter(*names)
            # Table and column names come from our own models, never from input.
            self.sql = (
                f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(names))})"
            )

    def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows that hold every column. On SQLite the dicts are converted in place."""
        if not rows:
            return
        if self.copy:
            self._copy(rows)
            return
        if not self.fast:
            self.conn.execute(insert(self.table), list(rows))
            return
        getter, dates, jsons = self.getter, self.dates, self.jsons
        values = []
        for row in rows:
            # The same conversions as _sqlite_datetime and _json, inlined: this loop runs once
            # per message and function calls were a visible part of ingest's time.
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

    def _copy(self, rows: Sequence[dict[str, Any]]) -> None:
        getter, converters = self.getter, self.converters
        dbapi = self.conn.connection.dbapi_connection
        assert dbapi is not None
        with dbapi.cursor() as cur, cur.copy(self.sql) as copy:  # type: ignore[attr-defined]
            for row in rows:
                for name, conv in converters:
                    row[name] = conv(row[name])
                copy.write_row(getter(row))


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
