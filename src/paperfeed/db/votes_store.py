"""SQL for upvotes. ``papers.upvotes`` is always ``base_upvotes`` + the number of vote rows.

Each change runs in one transaction that first takes the paper row's write lock (a no-op
``UPDATE``: SQLite takes its database write lock on the first write, PostgreSQL locks the row),
then inserts/deletes the vote and recomputes the count from the ``votes`` table. Because the
count is recomputed under the lock, concurrent votes can never lose an update.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, select, update

from paperfeed.db.engine import write_lock
from paperfeed.db.models import Paper, Vote
from paperfeed.db.sequences import FEED_VERSION, bump_counter
from paperfeed.db.upsert import insert_for

papers_t = Paper.__table__
votes_t = Vote.__table__


def paper_id_for(conn: Connection, arxiv_id: str) -> int | None:
    """Id of a visible paper."""
    return conn.execute(
        select(papers_t.c.id).where(papers_t.c.arxiv_id == arxiv_id, papers_t.c.hidden.is_(False))
    ).scalar()


def set_vote(engine: Engine, *, user_id: int, paper_id: int, on: bool, now: datetime) -> int:
    """Add (``on``) or remove the user's vote, idempotently; returns the paper's new upvote count."""
    with write_lock(engine), engine.begin() as conn:
        conn.execute(update(papers_t).where(papers_t.c.id == paper_id).values(upvotes=papers_t.c.upvotes))
        if on:
            insert = insert_for(conn)
            conn.execute(
                insert(votes_t)
                .values(user_id=user_id, paper_id=paper_id, created_at=now)
                .on_conflict_do_nothing(index_elements=["user_id", "paper_id"])
            )
        else:
            conn.execute(delete(votes_t).where(votes_t.c.user_id == user_id, votes_t.c.paper_id == paper_id))
        local = select(func.count()).select_from(votes_t).where(votes_t.c.paper_id == paper_id)
        conn.execute(
            update(papers_t)
            .where(papers_t.c.id == paper_id)
            .values(upvotes=papers_t.c.base_upvotes + local.scalar_subquery())
        )
        bump_counter(conn, FEED_VERSION)
        return int(conn.execute(select(papers_t.c.upvotes).where(papers_t.c.id == paper_id)).scalar_one())


def has_voted(conn: Connection, user_id: int, paper_id: int) -> bool:
    return (
        conn.execute(
            select(votes_t.c.id).where(votes_t.c.user_id == user_id, votes_t.c.paper_id == paper_id)
        ).first()
        is not None
    )


def voted_arxiv_ids(conn: Connection, user_id: int) -> set[str]:
    """Every arXiv id the user has upvoted (to mark the buttons on a listing)."""
    rows = conn.execute(
        select(papers_t.c.arxiv_id)
        .select_from(votes_t.join(papers_t, papers_t.c.id == votes_t.c.paper_id))
        .where(votes_t.c.user_id == user_id)
    )
    return {r[0] for r in rows}


def local_vote_count(conn: Connection, paper_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(votes_t).where(votes_t.c.paper_id == paper_id)
        ).scalar_one()
    )
