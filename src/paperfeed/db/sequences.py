"""Monotonic counters kept in the ``counters`` table.

* ``paper_change`` — the change sequence the search indexers follow;
* ``feed_version`` — bumped by every write that can change a listing (ingest, votes,
  submissions), so web workers can cache rendered listings and know when they are stale.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from paperfeed.db.models import Counter
from paperfeed.db.upsert import insert_for

counters_t = Counter.__table__
PAPER_CHANGE = "paper_change"
FEED_VERSION = "feed_version"


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


def bump_counter(conn: Connection, name: str = FEED_VERSION) -> None:
    """Add one to counter ``name`` (creating it at 1) in the current transaction."""
    insert = insert_for(conn)
    stmt = insert(counters_t).values(name=name, value=1)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": counters_t.c.value + 1}))


def read_counter(conn: Connection, name: str = FEED_VERSION) -> int:
    """Counter ``name``'s value, 0 when it was never bumped."""
    return conn.execute(select(counters_t.c.value).where(counters_t.c.name == name)).scalar() or 0
