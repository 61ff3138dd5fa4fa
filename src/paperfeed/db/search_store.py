"""Reads the search indexer needs: papers changed after a cursor, as index documents."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from paperfeed.db.feed_store import authors_of, categories_of
from paperfeed.db.models import Paper
from paperfeed.search.interfaces import IndexDocument

papers_t = Paper.__table__


def changed_papers(conn: Connection, after_seq: int, limit: int) -> tuple[list[IndexDocument], int]:
    """Up to ``limit`` papers with ``change_seq > after_seq`` in sequence order, and the last seq."""
    rows = conn.execute(
        select(
            papers_t.c.id,
            papers_t.c.arxiv_id,
            papers_t.c.title,
            papers_t.c.abstract,
            papers_t.c.published_at,
            papers_t.c.hidden,
            papers_t.c.change_seq,
        )
        .where(papers_t.c.change_seq > after_seq)
        .order_by(papers_t.c.change_seq)
        .limit(limit)
    ).all()
    if not rows:
        return [], after_seq
    ids = [r.id for r in rows]
    authors = authors_of(conn, ids)
    categories = categories_of(conn, ids)
    docs = [
        IndexDocument(
            arxiv_id=r.arxiv_id,
            title=r.title,
            abstract=r.abstract,
            authors=tuple(authors[r.id]),
            categories=tuple(categories[r.id]),
            published=r.published_at.date() if r.published_at else None,
            hidden=bool(r.hidden),
        )
        for r in rows
    ]
    return docs, rows[-1].change_seq


def latest_change_seq(conn: Connection) -> int:
    """Highest ``change_seq`` of any paper (0 for an empty database)."""
    return conn.execute(select(func.coalesce(func.max(papers_t.c.change_seq), 0))).scalar_one()
