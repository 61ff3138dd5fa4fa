"""SQL behind paper submissions: is a paper featured, how many did a user submit today, store one.

A submission is a feed entry with ``source = 'submit'`` and ``submitted_by = <username>``; the
paper row itself is written by :func:`paperfeed.db.ingest_store.store_batch` like any ingest.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, Engine, func, select

from paperfeed.db.engine import write_lock
from paperfeed.db.ingest_store import store_batch
from paperfeed.db.models import FeedEntry, Paper, PaperAuthor
from paperfeed.ingest.records import PaperRecord

papers_t = Paper.__table__
feed_t = FeedEntry.__table__
authors_t = PaperAuthor.__table__

SOURCE = "submit"


def is_featured(conn: Connection, arxiv_id: str) -> bool:
    """True when the paper has at least one feed entry (any day, any source)."""
    return (
        conn.execute(
            select(func.count()).select_from(feed_t.join(papers_t)).where(papers_t.c.arxiv_id == arxiv_id)
        ).scalar_one()
        > 0
    )


def stored_paper(conn: Connection, arxiv_id: str) -> dict | None:
    """Title, abstract, first-version date and author count of a stored paper, or ``None``."""
    row = conn.execute(
        select(
            papers_t.c.id,
            papers_t.c.title,
            papers_t.c.abstract,
            papers_t.c.published_at,
            papers_t.c.hidden,
        ).where(papers_t.c.arxiv_id == arxiv_id)
    ).first()
    if row is None:
        return None
    data = dict(row._mapping)
    data["n_authors"] = conn.execute(
        select(func.count()).select_from(authors_t).where(authors_t.c.paper_id == row.id)
    ).scalar_one()
    return data


def submissions_on(conn: Connection, username: str, day: date) -> int:
    """How many papers ``username`` submitted for the feed of ``day``."""
    return conn.execute(
        select(func.count())
        .select_from(feed_t)
        .where(
            feed_t.c.source == SOURCE,
            feed_t.c.submitted_by == username,
            feed_t.c.feed_date == day,
        )
    ).scalar_one()


def store_submission(
    engine: Engine,
    record: PaperRecord,
    *,
    username: str,
    day_limit: int,
    now: datetime,
) -> str:
    """Store ``record`` (with its feed entry) unless a race made it featured or the user capped.

    Returns ``"stored"``, ``"featured"`` or ``"capped"``; the checks and the write share one
    transaction (and this process's SQLite write lock), so two submissions cannot both win.
    """
    assert record.feed is not None
    with write_lock(engine), engine.begin() as conn:
        if is_featured(conn, record.arxiv_id):
            return "featured"
        if submissions_on(conn, username, record.feed.feed_date) >= day_limit:
            return "capped"
        store_batch(conn, [record], source=SOURCE, now=now)
    return "stored"
