"""Dialect-specific ``INSERT ... ON CONFLICT`` constructors (SQLite and PostgreSQL share the API)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(conn: Connection) -> Callable:
    """The ``insert`` construct of the connection's dialect, which knows ``on_conflict_*``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert
    if conn.dialect.name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"unsupported database dialect: {conn.dialect.name}")
