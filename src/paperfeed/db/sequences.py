"""Monotonic counters kept in the ``counters`` table (the paper change sequence)."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from paperfeed.db.models import Counter

counters_t = Counter.__table__
PAPER_CHANGE = "paper_change"


def next_change_seqs(conn: Connection, count: int, name: str = PAPER_CHANGE) -> range:
    """Reserve ``count`` consecutive values of counter ``name`` in the current transaction.

    The counter row stays locked until commit (PostgreSQL row lock, SQLite write lock), so
    sequence numbers become visible in commit order: a reader that follows ``change_seq``
    never skips a change that commits later with a smaller number.
    """
    if count <= 0:
        return range(0)
    top = conn.execute(
        update(counters_t)
        .where(counters_t.c.name == name)
        .values(value=counters_t.c.value + count)
        .returning(counters_t.c.value)
    ).scalar_one()
    return range(top - count + 1, top + 1)


def current_value(conn: Connection, name: str = PAPER_CHANGE) -> int:
    """The latest value handed out by counter ``name``."""
    return conn.execute(select(counters_t.c.value).where(counters_t.c.name == name)).scalar_one()
