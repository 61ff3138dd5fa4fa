"""Read queries behind the feed pages, the paper page and the JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection, and_, func, select

from paperfeed.db.models import FeedEntry, Paper, PaperAuthor, PaperCategory

papers_t = Paper.__table__
authors_t = PaperAuthor.__table__
categories_t = PaperCategory.__table__
feed_t = FeedEntry.__table__

LISTING_COLUMNS = (
    papers_t.c.id,
    papers_t.c.arxiv_id,
    papers_t.c.title,
    papers_t.c.abstract,
    papers_t.c.published_at,
    papers_t.c.upvotes,
    papers_t.c.num_comments,
    papers_t.c.github_repo,
    papers_t.c.project_page,
    papers_t.c.primary_category,
    papers_t.c.ai_keywords,
    papers_t.c.ai_summary,
)
ENTRY_COLUMNS = (feed_t.c.feed_date, feed_t.c.featured_at, feed_t.c.submitted_by)

SORTS = {"upvotes", "publishedAt", "trending"}


def _visible():
    return papers_t.c.hidden.is_(False)


def latest_featured_at(conn: Connection, until: datetime) -> datetime | None:
    """The newest feed entry instant at or before ``until`` (visible papers)."""
    return conn.execute(
        select(func.max(feed_t.c.featured_at))
        .select_from(feed_t.join(papers_t))
        .where(feed_t.c.featured_at <= until, _visible())
    ).scalar()


def latest_feed_date(conn: Connection) -> date | None:
    """The newest day that has at least one visible featured paper."""
    return conn.execute(
        select(func.max(feed_t.c.feed_date)).select_from(feed_t.join(papers_t)).where(_visible())
    ).scalar()


def neighbour_days(conn: Connection, day: date) -> tuple[date | None, date | None]:
    """The closest earlier and later days that have papers (empty days are skipped)."""
    base = select(feed_t.c.feed_date).select_from(feed_t.join(papers_t)).where(_visible())
    previous = conn.execute(
        base.where(feed_t.c.feed_date < day).order_by(feed_t.c.feed_date.desc()).limit(1)
    ).scalar()
    following = conn.execute(
        base.where(feed_t.c.feed_date > day).order_by(feed_t.c.feed_date).limit(1)
    ).scalar()
    return previous, following


def _latest_entry_per_paper(start: date, end: date, submitter: str | None):
    """Subquery: for each paper featured in [start, end], its latest feed day there."""
    conditions = [feed_t.c.feed_date >= start, feed_t.c.feed_date <= end]
    if submitter:
        conditions.append(feed_t.c.submitted_by == submitter)
    return (
        select(feed_t.c.paper_id, func.max(feed_t.c.feed_date).label("feed_date"))
        .where(*conditions)
        .group_by(feed_t.c.paper_id)
        .subquery()
    )


def featured_between(
    conn: Connection,
    start: date,
    end: date,
    *,
    order: str = "upvotes",
    offset: int = 0,
    limit: int = 50,
    submitter: str | None = None,
) -> list[dict]:
    """Papers featured between two days (inclusive), one row per paper, paged.

    ``order``: ``upvotes`` (most first), ``publishedAt`` (newest featured first) or ``none``
    (every candidate, used by trending which ranks in Python).
    """
    latest = _latest_entry_per_paper(start, end, submitter)
    query = (
        select(*LISTING_COLUMNS, *ENTRY_COLUMNS)
        .select_from(
            latest.join(papers_t, papers_t.c.id == latest.c.paper_id).join(
                feed_t, and_(feed_t.c.paper_id == latest.c.paper_id, feed_t.c.feed_date == latest.c.feed_date)
            )
        )
        .where(_visible())
    )
    if order == "upvotes":
        query = query.order_by(papers_t.c.upvotes.desc(), feed_t.c.featured_at.desc(), papers_t.c.id.desc())
    elif order == "publishedAt":
        query = query.order_by(feed_t.c.featured_at.desc(), papers_t.c.id.desc())
    if order != "none":
        query = query.offset(offset).limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def count_featured_between(conn: Connection, start: date, end: date, *, submitter: str | None = None) -> int:
    """How many distinct visible papers were featured between two days (inclusive)."""
    latest = _latest_entry_per_paper(start, end, submitter)
    return conn.execute(
        select(func.count())
        .select_from(latest.join(papers_t, papers_t.c.id == latest.c.paper_id))
        .where(_visible())
    ).scalar_one()


def featured_during(conn: Connection, since: datetime, until: datetime) -> list[dict]:
    """Every visible paper featured in ``[since, until]`` with its latest entry there (trending)."""
    latest = (
        select(feed_t.c.paper_id, func.max(feed_t.c.featured_at).label("featured_at"))
        .where(feed_t.c.featured_at >= since, feed_t.c.featured_at <= until)
        .group_by(feed_t.c.paper_id)
        .subquery()
    )
    query = (
        select(*LISTING_COLUMNS, *ENTRY_COLUMNS)
        .select_from(
            latest.join(papers_t, papers_t.c.id == latest.c.paper_id).join(
                feed_t,
                and_(feed_t.c.paper_id == latest.c.paper_id, feed_t.c.featured_at == latest.c.featured_at),
            )
        )
        .where(_visible())
    )
    rows = {}
    for row in conn.execute(query):  # two entries with the same instant: keep one
        rows.setdefault(row.id, dict(row._mapping))
    return list(rows.values())


def day_counts(conn: Connection, start: date, end: date) -> dict[date, int]:
    """Number of visible featured papers per day in [start, end] (calendar, navigation)."""
    rows = conn.execute(
        select(feed_t.c.feed_date, func.count())
        .select_from(feed_t.join(papers_t))
        .where(feed_t.c.feed_date >= start, feed_t.c.feed_date <= end, _visible())
        .group_by(feed_t.c.feed_date)
    )
    return {row[0]: row[1] for row in rows}


def ordered_values_by_paper(conn: Connection, column, paper_ids: Sequence[int]) -> dict[int, list[str]]:
    """``{paper_id: [values in position order]}`` for ``paper_authors.name`` or
    ``paper_categories.category``; every requested id is a key (empty list when none)."""
    ids = list(dict.fromkeys(paper_ids))
    out: dict[int, list[str]] = {pid: [] for pid in ids}
    if not ids:
        return out
    table = column.table
    low, high = min(ids), max(ids)
    # a dense id range (a bulk-ingested batch) is cheaper as BETWEEN than as a huge IN list
    where = table.c.paper_id.between(low, high) if high - low < 4 * len(ids) else table.c.paper_id.in_(ids)
    for pid, value in conn.execute(
        select(table.c.paper_id, column).where(where).order_by(table.c.paper_id, table.c.position)
    ):
        if pid in out:
            out[pid].append(value)
    return out


def authors_of(conn: Connection, paper_ids: Sequence[int]) -> dict[int, list[str]]:
    """Ordered author names per paper id."""
    return ordered_values_by_paper(conn, authors_t.c.name, paper_ids)


def categories_of(conn: Connection, paper_ids: Sequence[int]) -> dict[int, list[str]]:
    """Ordered categories per paper id (primary first)."""
    return ordered_values_by_paper(conn, categories_t.c.category, paper_ids)


def paper_by_arxiv_id(conn: Connection, arxiv_id: str) -> dict | None:
    """Every stored column of one visible paper, or ``None``."""
    row = conn.execute(select(papers_t).where(papers_t.c.arxiv_id == arxiv_id, _visible())).first()
    return dict(row._mapping) if row else None


def papers_by_arxiv_ids(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, dict]:
    """Listing columns of visible papers keyed by arXiv id, plus their latest feed entry if any."""
    if not arxiv_ids:
        return {}
    rows = {
        row.arxiv_id: dict(row._mapping, feed_date=None, featured_at=None, submitted_by=None)
        for row in conn.execute(
            select(*LISTING_COLUMNS).where(papers_t.c.arxiv_id.in_(list(arxiv_ids)), _visible())
        )
    }
    by_id = {row["id"]: row for row in rows.values()}
    if by_id:
        for entry in conn.execute(
            select(feed_t.c.paper_id, *ENTRY_COLUMNS)
            .where(feed_t.c.paper_id.in_(list(by_id)))
            .order_by(feed_t.c.feed_date)
        ):
            by_id[entry.paper_id].update(
                feed_date=entry.feed_date, featured_at=entry.featured_at, submitted_by=entry.submitted_by
            )
    return rows


def feed_entries_of(conn: Connection, paper_id: int) -> list[dict]:
    """The days a paper was featured, newest first."""
    rows = conn.execute(
        select(feed_t.c.feed_date, feed_t.c.featured_at, feed_t.c.submitted_by, feed_t.c.upvotes_at_import)
        .where(feed_t.c.paper_id == paper_id)
        .order_by(feed_t.c.feed_date.desc())
    )
    return [dict(r._mapping) for r in rows]


def instance_counts(conn: Connection) -> dict[str, int]:
    """Totals for the about/health pages."""
    return {
        "papers": conn.execute(select(func.count()).select_from(papers_t)).scalar_one(),
        "feed_entries": conn.execute(select(func.count()).select_from(feed_t)).scalar_one(),
        "feed_days": conn.execute(select(func.count(func.distinct(feed_t.c.feed_date)))).scalar_one(),
    }
