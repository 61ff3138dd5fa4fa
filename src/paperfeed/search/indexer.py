"""Keeps the keyword index in step with the database by following ``papers.change_seq``.

``update_keyword_index`` reads papers changed after the index's cursor in batches, upserts them,
commits, then advances the cursor (a crash between the two only repeats idempotent work).
``rebuild=True`` builds a fresh generation from scratch and swaps it in atomically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from paperfeed.db.search_store import changed_papers, latest_change_seq
from paperfeed.search.keyword import TantivyKeywordIndex

log = logging.getLogger(__name__)

READ_BATCH = 5000
COMMIT_EVERY = 100_000


@dataclass
class IndexReport:
    """What an index update did."""

    indexed: int
    cursor: int
    rebuilt: bool
    seconds: float


def update_keyword_index(
    engine: Engine,
    index: TantivyKeywordIndex,
    *,
    rebuild: bool = False,
    heap_mb: int = 256,
    threads: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Bring ``index`` up to date with the database; returns counts and the new cursor.

    ``progress(done, total)`` is called after every batch when given.
    """
    started = time.perf_counter()
    generation = None if rebuild or not index.exists() else index.current_generation()
    cursor = index.read_cursor(generation) if generation is not None else 0
    if cursor < 0:  # schema changed since this generation was built
        generation, cursor = None, 0
    fresh = generation is None
    if fresh:
        generation = index.create_generation()
    with engine.connect() as conn:
        total = max(latest_change_seq(conn) - cursor, 0)
    session = index.open_writer(generation, heap_mb=heap_mb, threads=threads)
    done = since_commit = 0
    try:
        while True:
            with engine.connect() as conn:
                docs, last_seq = changed_papers(conn, cursor, READ_BATCH)
            if not docs:
                break
            add = session.add_new if fresh else session.upsert
            for doc in docs:
                add(doc)
            done += len(docs)
            since_commit += len(docs)
            cursor = last_seq
            if since_commit >= COMMIT_EVERY:
                session.commit()
                index.write_cursor(generation, cursor)
                since_commit = 0
            if progress:
                progress(done, total)
        session.commit()
        index.write_cursor(generation, cursor)
    finally:
        session.close()
    if fresh:
        index.publish_generation(generation)
    elapsed = time.perf_counter() - started
    log.info(
        "keyword index updated indexed=%d cursor=%d rebuilt=%s seconds=%.2f", done, cursor, fresh, elapsed
    )
    return IndexReport(indexed=done, cursor=cursor, rebuilt=fresh, seconds=elapsed)
