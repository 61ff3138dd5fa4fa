"""SQL for users' libraries (``library_items``): save, remove, list with citation fields.

Saving is an insert-or-ignore on the ``(user_id, paper_id)`` primary key and removing a plain
delete, so both are idempotent. Listings return only visible papers, newest save first, with the
listing columns the feed queries use plus ``doi``/``journal_ref`` (for citations), the save time
and the paper's latest feed entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, select

from paperfeed.db.engine import write_lock
from paperfeed.db.feed_store import ENTRY_COLUMNS, LISTING_COLUMNS
from paperfeed.db.models import FeedEntry, LibraryItem, Paper
from paperfeed.db.upsert import insert_for

papers_t = Paper.__table__
feed_t = FeedEntry.__table__
library_t = LibraryItem.__table__


def save(engine: Engine, *, user_id: int, paper_id: int, now: datetime) -> bool:
    """Add the paper to the user's library; ``True`` when it was not there before."""
    with write_lock(engine), engine.begin() as conn:
        insert = insert_for(conn)
        result = conn.execute(
            insert(library_t)
            .values(user_id=user_id, paper_id=paper_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "paper_id"])
        )
        return bool(result.rowcount)


def remove(engine: Engine, *, user_id: int, paper_id: int) -> bool:
    """Take the paper out of the user's library; ``True`` when it was there."""
    with write_lock(engine), engine.begin() as conn:
        result = conn.execute(
            delete(library_t).where(library_t.c.user_id == user_id, library_t.c.paper_id == paper_id)
        )
        return bool(result.rowcount)


def count(conn: Connection, user_id: int) -> int:
    """How many visible papers the user has saved."""
    return conn.execute(
        select(func.count())
        .select_from(library_t.join(papers_t, papers_t.c.id == library_t.c.paper_id))
        .where(library_t.c.user_id == user_id, papers_t.c.hidden.is_(False))
    ).scalar_one()


def saved_rows(conn: Connection, user_id: int, *, offset: int = 0, limit: int | None = None) -> list[dict]:
    """The user's saved visible papers, newest save first: listing columns + citation fields +
    ``saved_at`` + the latest feed entry (``feed_date``/``featured_at``/``submitted_by`` or None)."""
    query = (
        select(
            *LISTING_COLUMNS,
            papers_t.c.doi,
            papers_t.c.journal_ref,
            library_t.c.created_at.label("saved_at"),
        )
        .select_from(library_t.join(papers_t, papers_t.c.id == library_t.c.paper_id))
        .where(library_t.c.user_id == user_id, papers_t.c.hidden.is_(False))
        .order_by(library_t.c.created_at.desc(), papers_t.c.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = [
        dict(r._mapping, feed_date=None, featured_at=None, submitted_by=None) for r in conn.execute(query)
    ]
    attach_latest_entries(conn, rows)
    return rows


def attach_latest_entries(conn: Connection, rows: Sequence[dict]) -> None:
    """Fill ``feed_date``/``featured_at``/``submitted_by`` of each row with its latest feed entry."""
    by_id = {row["id"]: row for row in rows}
    if not by_id:
        return
    for entry in conn.execute(
        select(feed_t.c.paper_id, *ENTRY_COLUMNS)
        .where(feed_t.c.paper_id.in_(list(by_id)))
        .order_by(feed_t.c.feed_date)
    ):
        by_id[entry.paper_id].update(
            feed_date=entry.feed_date, featured_at=entry.featured_at, submitted_by=entry.submitted_by
        )


def saved_arxiv_ids(conn: Connection, user_id: int) -> set[str]:
    """Every arXiv id in the user's library (to mark the Save buttons)."""
    rows = conn.execute(
        select(papers_t.c.arxiv_id)
        .select_from(library_t.join(papers_t, papers_t.c.id == library_t.c.paper_id))
        .where(library_t.c.user_id == user_id)
    )
    return {r[0] for r in rows}


def is_saved(conn: Connection, user_id: int, arxiv_id: str) -> bool:
    """Whether one paper is in the user's library."""
    return (
        conn.execute(
            select(library_t.c.paper_id)
            .select_from(library_t.join(papers_t, papers_t.c.id == library_t.c.paper_id))
            .where(library_t.c.user_id == user_id, papers_t.c.arxiv_id == arxiv_id)
        ).first()
        is not None
    )
