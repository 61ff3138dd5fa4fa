"""Fast bulk INSERT through the DB-API's ``executemany`` (used by ingest's hot path).

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert on large
batches; this keeps the exact value encoding (each column type's bind processor) and skips the
rest. Values are always bound, never formatted into the SQL text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from sqlalchemy import Connection, Table

_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _cached(processor: Callable | None) -> Callable | None:
    """Memoise a bind processor: ingest batches repeat the same dates and flags a lot."""
    return lru_cache(maxsize=16384)(processor) if processor is not None else None


class BulkInsert:
    """A prepared ``INSERT INTO table (columns) VALUES (...)`` for one connection's dialect."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = conn.dialect
        placeholder = _PLACEHOLDER.get(dialect.paramstyle)
        if placeholder is None:  # pragma: no cover - only drivers we do not support
            raise NotImplementedError(f"paramstyle {dialect.paramstyle} is not supported")
        quoted = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
        marks = ", ".join([placeholder] * len(columns))
        self.sql = (
            # identifiers come from our own Table objects (quoted by the dialect); values are bound
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({quoted}) VALUES ({marks})"  # noqa: S608
        )
        self.processors = [
            _cached(table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns
        ]
        self.needs_processing = any(p is not None for p in self.processors)

    def execute(self, conn: Connection, rows: Iterable[Sequence]) -> None:
        """Insert ``rows`` (tuples in column order) in one ``executemany``."""
        if self.needs_processing:
            procs = self.processors
            rows = [
                tuple(v if p is None or v is None else p(v) for p, v in zip(procs, row, strict=True))
                for row in rows
            ]
        else:
            rows = list(rows)
        if rows:
            conn.exec_driver_sql(self.sql, rows)
