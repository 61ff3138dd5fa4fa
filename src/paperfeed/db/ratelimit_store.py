"""SQL for rate limiting: fixed-window counters in the database, so every worker sees them."""

from __future__ import annotations

import random

from sqlalchemy import Engine, delete

from paperfeed.db.engine import write_lock
from paperfeed.db.models import RateLimitBucket
from paperfeed.db.upsert import insert_for

buckets_t = RateLimitBucket.__table__
SWEEP_PROBABILITY = 0.01


def hit(engine: Engine, key: str, window_start: int) -> int:
    """Count one request for ``key`` in the window starting at ``window_start``; returns the count."""
    with write_lock(engine), engine.begin() as conn:
        insert = insert_for(conn)
        stmt = insert(buckets_t).values(key=key, window_start=window_start, count=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": buckets_t.c.count + 1}
        ).returning(buckets_t.c.count)
        count = int(conn.execute(stmt).scalar_one())
        if count == 1:  # first hit of a new window: drop this key's old windows
            conn.execute(
                delete(buckets_t).where(buckets_t.c.key == key, buckets_t.c.window_start < window_start)
            )
            if random.random() < SWEEP_PROBABILITY:  # now and then, forget keys idle for a day
                conn.execute(delete(buckets_t).where(buckets_t.c.window_start < window_start - 86400))
        return count
