"""Read-only queries for operations: readiness, gauges for ``/metrics`` (rows, index lag, mail,
embedding progress), backup manifests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select, text

from paperfeed.db import vectors_store
from paperfeed.db.models import Comment, FeedEntry, OutboxMessage, Paper, Subscription, User, Vote

_TABLES = {
    "papers": Paper.__table__,
    "feed_entries": FeedEntry.__table__,
    "users": User.__table__,
    "votes": Vote.__table__,
    "comments": Comment.__table__,
    "subscriptions": Subscription.__table__,
}


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at (``None`` before the first migration)."""
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except Exception:  # the table does not exist yet
        conn.rollback()
        return None


def table_counts(conn: Connection) -> dict[str, int]:
    """Row counts of the tables that hold the instance's data."""
    return {
        name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in _TABLES.items()
    }


def latest_change_seq(conn: Connection) -> int:
    """Highest paper ``change_seq`` (what an up-to-date index has reached)."""
    return conn.execute(select(func.coalesce(func.max(Paper.change_seq), 0))).scalar_one()


def outbox_by_status(conn: Connection) -> dict[str, int]:
    """Mail outbox rows per status (``pending``, ``sent``, ``failed``)."""
    table = OutboxMessage.__table__
    rows = conn.execute(select(table.c.status, func.count()).group_by(table.c.status)).all()
    return {status: count for status, count in rows}


def vector_progress(conn: Connection, model: str, *, now: datetime) -> dict[str, int]:
    """Embedding progress of ``model``: papers ``done`` / ``pending`` / ``claimed`` and the highest
    ``vector_seq`` (what an up-to-date vector index follower has reached)."""
    counts = vectors_store.embed_counts(conn, model, now=now, recent_since=now)
    return {
        "done": counts.done,
        "pending": counts.pending,
        "claimed": counts.claimed,
        "latest_vector_seq": vectors_store.latest_model_vector_seq(conn, model),
    }
