"""SQL for moderation: comment reports and their queue, hiding comments and papers, bans.

Hiding a comment or a paper and banning a user each happen in one transaction; hiding anything
bumps ``feed_version`` (and recounts ``num_comments``) so cached listings and pages update.
A ban ends the user's sessions and revokes their API tokens in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.orm import aliased

from paperfeed.db import comments_store
from paperfeed.db.engine import write_lock
from paperfeed.db.models import ApiToken, Comment, CommentReport, Paper, User, UserSession
from paperfeed.db.sequences import FEED_VERSION, bump_counter
from paperfeed.db.upsert import insert_for

reports_t = CommentReport.__table__
comments_t = Comment.__table__
papers_t = Paper.__table__
users_t = User.__table__
sessions_t = UserSession.__table__
tokens_t = ApiToken.__table__


# --------------------------------------------------------------------------- reports
def insert_report(conn: Connection, *, comment_id: int, reporter_id: int, reason: str, now: datetime) -> bool:
    """File a report; ``False`` when this user already reported this comment (nothing changes)."""
    insert = insert_for(conn)
    result = conn.execute(
        insert(reports_t)
        .values(comment_id=comment_id, reporter_id=reporter_id, reason=reason, created_at=now)
        .on_conflict_do_nothing(index_elements=["comment_id", "reporter_id"])
    )
    return result.rowcount > 0


def open_reports(conn: Connection, limit: int = 200) -> list[dict]:
    """Unresolved reports, oldest first, with the comment, its author, paper and reporter."""
    author = aliased(users_t)
    reporter = aliased(users_t)
    rows = conn.execute(
        select(
            reports_t.c.id,
            reports_t.c.comment_id,
            reports_t.c.reason,
            reports_t.c.created_at,
            reporter.c.username.label("reporter"),
            comments_t.c.body,
            comments_t.c.body_html,
            comments_t.c.hidden_at,
            comments_t.c.deleted_at,
            author.c.username.label("author"),
            papers_t.c.arxiv_id,
            papers_t.c.title,
        )
        .select_from(
            reports_t.join(comments_t, comments_t.c.id == reports_t.c.comment_id)
            .join(papers_t, papers_t.c.id == comments_t.c.paper_id)
            .outerjoin(author, author.c.id == comments_t.c.user_id)
            .outerjoin(reporter, reporter.c.id == reports_t.c.reporter_id)
        )
        .where(reports_t.c.resolved_at.is_(None))
        .order_by(reports_t.c.id)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def report_row(conn: Connection, report_id: int) -> dict | None:
    row = conn.execute(select(reports_t).where(reports_t.c.id == report_id)).mappings().first()
    return dict(row) if row else None


def resolve_reports(
    conn: Connection, *, comment_id: int, admin_id: int, resolution: str, now: datetime, report_id: int | None
) -> int:
    """Close open reports: one (``report_id``) or every open one of the comment; returns how many."""
    stmt = update(reports_t).where(reports_t.c.comment_id == comment_id, reports_t.c.resolved_at.is_(None))
    if report_id is not None:
        stmt = stmt.where(reports_t.c.id == report_id)
    return conn.execute(stmt.values(resolved_at=now, resolved_by=admin_id, resolution=resolution)).rowcount


# --------------------------------------------------------------------------- hiding
def set_comment_hidden(engine: Engine, comment_id: int, paper_id: int, hidden_at: datetime | None) -> None:
    """Hide (``hidden_at`` set) or unhide a comment and recount its paper's comments."""
    with write_lock(engine), engine.begin() as conn:
        conn.execute(update(comments_t).where(comments_t.c.id == comment_id).values(hidden_at=hidden_at))
        comments_store.recount(conn, paper_id)


def hide_comment_resolving(
    engine: Engine, *, comment_id: int, paper_id: int, admin_id: int, now: datetime
) -> None:
    """Hide a comment and close every open report on it as ``hidden``, in one transaction."""
    with write_lock(engine), engine.begin() as conn:
        conn.execute(
            update(comments_t)
            .where(comments_t.c.id == comment_id, comments_t.c.hidden_at.is_(None))
            .values(hidden_at=now)
        )
        resolve_reports(
            conn, comment_id=comment_id, admin_id=admin_id, resolution="hidden", now=now, report_id=None
        )
        comments_store.recount(conn, paper_id)


def paper_by_arxiv_id(conn: Connection, arxiv_id: str) -> dict | None:
    """Id, title and hidden flag of any paper, hidden or not."""
    row = (
        conn.execute(
            select(papers_t.c.id, papers_t.c.arxiv_id, papers_t.c.title, papers_t.c.hidden).where(
                papers_t.c.arxiv_id == arxiv_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def set_paper_hidden(engine: Engine, paper_id: int, hidden: bool) -> None:
    """Hide or show a paper everywhere (listings, search, API, its page)."""
    with write_lock(engine), engine.begin() as conn:
        conn.execute(update(papers_t).where(papers_t.c.id == paper_id).values(hidden=hidden))
        bump_counter(conn, FEED_VERSION)


def hidden_papers(conn: Connection, limit: int = 200) -> list[dict]:
    rows = conn.execute(
        select(papers_t.c.arxiv_id, papers_t.c.title)
        .where(papers_t.c.hidden.is_(True))
        .order_by(papers_t.c.arxiv_id)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


# --------------------------------------------------------------------------- bans
def user_row(conn: Connection, username: str) -> dict | None:
    """A live (not deleted) user by name, any case, with ban columns."""
    row = (
        conn.execute(
            select(
                users_t.c.id,
                users_t.c.username,
                users_t.c.is_admin,
                users_t.c.banned_at,
                users_t.c.ban_reason,
            ).where(users_t.c.username_key == username.lower(), users_t.c.deleted_at.is_(None))
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def ban_user(engine: Engine, user_id: int, *, reason: str, now: datetime) -> None:
    """Ban: record it, end every session and revoke every API token, in one transaction."""
    with engine.begin() as conn:
        conn.execute(update(users_t).where(users_t.c.id == user_id).values(banned_at=now, ban_reason=reason))
        conn.execute(delete(sessions_t).where(sessions_t.c.user_id == user_id))
        conn.execute(
            update(tokens_t)
            .where(tokens_t.c.user_id == user_id, tokens_t.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def unban_user(engine: Engine, user_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(users_t).where(users_t.c.id == user_id).values(banned_at=None, ban_reason=None))


def banned_users(conn: Connection, limit: int = 200) -> list[dict]:
    rows = conn.execute(
        select(users_t.c.username, users_t.c.banned_at, users_t.c.ban_reason)
        .where(users_t.c.banned_at.is_not(None), users_t.c.deleted_at.is_(None))
        .order_by(users_t.c.banned_at.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
