"""SQL for comments: the thread of a paper (one query), posting, editing and soft deletion.

``papers.num_comments`` is always ``base_num_comments`` (the count imported from Hugging Face)
plus the paper's local comments that are neither deleted nor hidden. Every write recounts it
under the paper row's write lock (like ``votes_store``) and bumps ``feed_version`` in the same
transaction, so cached listings never show a stale count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from paperfeed.db.engine import write_lock
from paperfeed.db.models import Comment, Paper, User
from paperfeed.db.sequences import FEED_VERSION, bump_counter

comments_t = Comment.__table__
papers_t = Paper.__table__
users_t = User.__table__

COMMENT_COLUMNS = (
    comments_t.c.id,
    comments_t.c.paper_id,
    comments_t.c.user_id,
    comments_t.c.parent_id,
    comments_t.c.body,
    comments_t.c.body_html,
    comments_t.c.created_at,
    comments_t.c.edited_at,
    comments_t.c.deleted_at,
    comments_t.c.hidden_at,
    users_t.c.username,
    users_t.c.deleted_at.label("author_deleted_at"),
)


def visible_paper_id(conn: Connection, arxiv_id: str) -> int | None:
    """Id of a paper that is not hidden (comments are only read and written on those)."""
    return conn.execute(
        select(papers_t.c.id).where(papers_t.c.arxiv_id == arxiv_id, papers_t.c.hidden.is_(False))
    ).scalar()


def _with_author():
    return comments_t.outerjoin(users_t, users_t.c.id == comments_t.c.user_id)


def thread_rows(conn: Connection, paper_id: int) -> list[dict]:
    """Every comment of a paper with its author's name, oldest first (one query)."""
    rows = conn.execute(
        select(*COMMENT_COLUMNS)
        .select_from(_with_author())
        .where(comments_t.c.paper_id == paper_id)
        .order_by(comments_t.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def comment_row(conn: Connection, comment_id: int) -> dict | None:
    """One comment with its author's name and its paper's arXiv id and hidden flag."""
    row = (
        conn.execute(
            select(*COMMENT_COLUMNS, papers_t.c.arxiv_id, papers_t.c.hidden.label("paper_hidden"))
            .select_from(_with_author().join(papers_t, papers_t.c.id == comments_t.c.paper_id))
            .where(comments_t.c.id == comment_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def depth_of(conn: Connection, comment_id: int, limit: int) -> int:
    """How deep a comment sits (a top-level comment is 1); stops counting past ``limit``."""
    depth, current = 0, comment_id
    while current is not None and depth <= limit:
        depth += 1
        current = conn.execute(select(comments_t.c.parent_id).where(comments_t.c.id == current)).scalar()
    return depth


def num_comments_expression(paper_id_column=papers_t.c.id):
    """``base_num_comments`` + the paper's local comments that are neither deleted nor hidden.

    The one definition of a paper's comment count (used here and by the instance import).
    """
    local = (
        select(func.count())
        .select_from(comments_t)
        .where(
            comments_t.c.paper_id == paper_id_column,
            comments_t.c.deleted_at.is_(None),
            comments_t.c.hidden_at.is_(None),
        )
    )
    return papers_t.c.base_num_comments + local.scalar_subquery()


def recount(conn: Connection, paper_id: int) -> int:
    """Recompute ``papers.num_comments`` and bump ``feed_version``; returns the new count."""
    conn.execute(
        update(papers_t).where(papers_t.c.id == paper_id).values(num_comments=num_comments_expression())
    )
    bump_counter(conn, FEED_VERSION)
    return int(conn.execute(select(papers_t.c.num_comments).where(papers_t.c.id == paper_id)).scalar_one())


def _lock_paper(conn: Connection, paper_id: int) -> None:
    conn.execute(
        update(papers_t).where(papers_t.c.id == paper_id).values(num_comments=papers_t.c.num_comments)
    )


def insert_comment(
    engine: Engine,
    *,
    paper_id: int,
    user_id: int,
    parent_id: int | None,
    body: str,
    body_html: str,
    now: datetime,
) -> int:
    """Store a comment and recount the paper's comments in one transaction; returns the new id."""
    with write_lock(engine), engine.begin() as conn:
        _lock_paper(conn, paper_id)
        result = conn.execute(
            insert(comments_t).values(
                paper_id=paper_id,
                user_id=user_id,
                parent_id=parent_id,
                body=body,
                body_html=body_html,
                created_at=now,
            )
        )
        recount(conn, paper_id)
        return int(result.inserted_primary_key[0])


def update_body(engine: Engine, comment_id: int, *, body: str, body_html: str, now: datetime) -> None:
    """Replace a comment's text (the edit time is recorded)."""
    with engine.begin() as conn:
        conn.execute(
            update(comments_t)
            .where(comments_t.c.id == comment_id)
            .values(body=body, body_html=body_html, edited_at=now)
        )
        bump_counter(conn, FEED_VERSION)


def soft_delete(engine: Engine, comment_id: int, paper_id: int, now: datetime) -> None:
    """Clear a comment's text but keep the row, so its replies keep their place."""
    with write_lock(engine), engine.begin() as conn:
        _lock_paper(conn, paper_id)
        conn.execute(
            update(comments_t)
            .where(comments_t.c.id == comment_id, comments_t.c.deleted_at.is_(None))
            .values(body="", body_html="", deleted_at=now)
        )
        recount(conn, paper_id)


def count_by_user(conn: Connection, user_id: int) -> int:
    """Live (not deleted, not hidden) comments a user wrote (for profiles)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(comments_t)
            .where(
                comments_t.c.user_id == user_id,
                comments_t.c.deleted_at.is_(None),
                comments_t.c.hidden_at.is_(None),
            )
        ).scalar_one()
    )
