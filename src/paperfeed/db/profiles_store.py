"""SQL behind public profile pages: a user by name, their submissions, upvotes and comments.

Read-only. Only visible papers are listed; comments that are deleted or hidden by a moderator,
or on hidden papers, are neither listed nor counted. Submissions are the feed entries a local
user made through ``/submit`` (``source = 'submit'``), never imported Hugging Face submitter
names that happen to match a local username.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from paperfeed.db.feed_store import ENTRY_COLUMNS, LISTING_COLUMNS
from paperfeed.db.library_store import attach_latest_entries
from paperfeed.db.models import Comment, FeedEntry, Paper, User, Vote

papers_t = Paper.__table__
feed_t = FeedEntry.__table__
users_t = User.__table__
votes_t = Vote.__table__
comments_t = Comment.__table__

SUBMIT_SOURCE = "submit"


def user_by_name(conn: Connection, username: str) -> dict | None:
    """The live (not deleted) account whose name matches ``username`` regardless of case."""
    row = conn.execute(
        select(
            users_t.c.id,
            users_t.c.username,
            users_t.c.is_admin,
            users_t.c.created_at,
            users_t.c.banned_at,
        ).where(users_t.c.username_key == username.lower(), users_t.c.deleted_at.is_(None))
    ).first()
    return dict(row._mapping) if row else None


def submitted_rows(conn: Connection, username: str, *, limit: int) -> list[dict]:
    """Papers the user submitted, newest submission first (one row per feed entry)."""
    query = (
        select(*LISTING_COLUMNS, *ENTRY_COLUMNS)
        .select_from(feed_t.join(papers_t, papers_t.c.id == feed_t.c.paper_id))
        .where(
            feed_t.c.source == SUBMIT_SOURCE,
            feed_t.c.submitted_by == username,
            papers_t.c.hidden.is_(False),
        )
        .order_by(feed_t.c.featured_at.desc(), feed_t.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def count_submitted(conn: Connection, username: str) -> int:
    return conn.execute(
        select(func.count())
        .select_from(feed_t.join(papers_t, papers_t.c.id == feed_t.c.paper_id))
        .where(
            feed_t.c.source == SUBMIT_SOURCE,
            feed_t.c.submitted_by == username,
            papers_t.c.hidden.is_(False),
        )
    ).scalar_one()


def upvoted_rows(conn: Connection, user_id: int, *, limit: int) -> list[dict]:
    """Papers the user upvoted, newest vote first, with each paper's latest feed entry."""
    query = (
        select(*LISTING_COLUMNS, votes_t.c.created_at.label("voted_at"))
        .select_from(votes_t.join(papers_t, papers_t.c.id == votes_t.c.paper_id))
        .where(votes_t.c.user_id == user_id, papers_t.c.hidden.is_(False))
        .order_by(votes_t.c.created_at.desc(), votes_t.c.id.desc())
        .limit(limit)
    )
    rows = [
        dict(r._mapping, feed_date=None, featured_at=None, submitted_by=None) for r in conn.execute(query)
    ]
    attach_latest_entries(conn, rows)
    return rows


def count_upvoted(conn: Connection, user_id: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(votes_t.join(papers_t, papers_t.c.id == votes_t.c.paper_id))
        .where(votes_t.c.user_id == user_id, papers_t.c.hidden.is_(False))
    ).scalar_one()


def _visible_comments(user_id: int):
    return (
        comments_t.c.user_id == user_id,
        comments_t.c.deleted_at.is_(None),
        comments_t.c.hidden_at.is_(None),
        papers_t.c.hidden.is_(False),
    )


def count_comments(conn: Connection, user_id: int) -> int:
    """Visible comments by the user."""
    return conn.execute(
        select(func.count())
        .select_from(comments_t.join(papers_t, papers_t.c.id == comments_t.c.paper_id))
        .where(*_visible_comments(user_id))
    ).scalar_one()


def recent_comments(conn: Connection, user_id: int, *, limit: int) -> list[dict]:
    """The user's newest visible comments with the paper's arXiv id and title."""
    query = (
        select(
            comments_t.c.id,
            comments_t.c.body_html,
            comments_t.c.created_at,
            papers_t.c.arxiv_id,
            papers_t.c.title,
        )
        .select_from(comments_t.join(papers_t, papers_t.c.id == comments_t.c.paper_id))
        .where(*_visible_comments(user_id))
        .order_by(comments_t.c.created_at.desc(), comments_t.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]
