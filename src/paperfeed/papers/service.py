"""PaperService: the read side — feed periods, trending and paper details — over the database."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, Engine

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.clock import Clock
from paperfeed.config import Settings
from paperfeed.db import feed_store
from paperfeed.db.sequences import FEED_VERSION, read_counter
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.papers.models import FeedPage, PaperDetail, PaperItem, TrendingPage
from paperfeed.papers.periods import (
    Period,
    day_period,
    month_period,
    parse_day,
    parse_month,
    parse_week,
    week_period,
)
from paperfeed.papers.ranking import trending_score

MAX_LIMIT = 100


def attach_people(conn: Connection, rows: list[dict]) -> list[PaperItem]:
    """Turn listing rows into :class:`PaperItem` objects with authors and categories."""
    ids = [row["id"] for row in rows]
    authors = feed_store.authors_of(conn, ids)
    categories = feed_store.categories_of(conn, ids)
    return [PaperItem.from_row(row, authors[row["id"]], categories[row["id"]]) for row in rows]


class PaperService:
    """Feed, trending and paper queries for one instance."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    # ------------------------------------------------------------ periods
    def resolve_period(
        self, *, day: str | None = None, week: str | None = None, month: str | None = None
    ) -> Period | None:
        """The requested period, or the latest day with papers when none is given (``None`` if empty)."""
        given = [v for v in (day, week, month) if v]
        if len(given) > 1:
            raise InvalidInput("give only one of date, week or month")
        if day:
            return day_period(parse_day(day))
        if week:
            return parse_week(week)
        if month:
            return parse_month(month)
        with self.engine.connect() as conn:
            latest = feed_store.latest_feed_date(conn)
        return day_period(latest) if latest else None

    def listing(
        self,
        period: Period,
        *,
        sort: str = "upvotes",
        page: int = 0,
        limit: int | None = None,
        submitter: str | None = None,
    ) -> FeedPage:
        """One page of papers featured in ``period``."""
        limit = self._check_paging(page, limit)
        if sort not in feed_store.SORTS:
            raise InvalidInput(f"invalid sort {sort!r}: expected one of upvotes, publishedAt, trending")
        with self.engine.connect() as conn:
            if sort == "trending":
                rows = feed_store.featured_between(
                    conn, period.start, period.end, order="none", submitter=submitter
                )
                total = len(rows)
                reference = self._reference_for(rows)
                rows.sort(key=lambda r: self._score(r, reference), reverse=True)
                rows = rows[page * limit : (page + 1) * limit]
            else:
                rows = feed_store.featured_between(
                    conn,
                    period.start,
                    period.end,
                    order=sort,
                    offset=page * limit,
                    limit=limit,
                    submitter=submitter,
                )
                # a short first page already tells the total; otherwise count
                if page == 0 and len(rows) < limit:
                    total = len(rows)
                else:
                    total = feed_store.count_featured_between(
                        conn, period.start, period.end, submitter=submitter
                    )
            papers = attach_people(conn, rows)
            previous, following = self._neighbours(conn, period)
        return FeedPage(
            period.kind,
            period.label,
            period.start,
            period.end,
            papers,
            total,
            page,
            limit,
            previous,
            following,
        )

    def _neighbours(self, conn: Connection, period: Period) -> tuple[str | None, str | None]:
        """Labels of the nearest earlier/later periods of the same kind that have papers."""
        before = feed_store.neighbour_days(conn, period.start)[0]
        after = feed_store.neighbour_days(conn, period.end)[1]
        containing = {"day": day_period, "week": week_period, "month": month_period}[period.kind]
        return (
            containing(before).label if before else None,
            containing(after).label if after else None,
        )

    def _check_paging(self, page: int, limit: int | None) -> int:
        limit = self.settings.page_size if limit is None else limit
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        if page < 0:
            raise InvalidInput("page must be 0 or more")
        return limit

    # ------------------------------------------------------------ trending
    def _reference_for(self, rows: list[dict]):
        """Score a past period as of its newest entry, a current one as of now."""
        now = self.clock.now().replace(tzinfo=None)
        newest = max((r["featured_at"] for r in rows if r.get("featured_at")), default=None)
        return newest if newest and newest < now - timedelta(days=1) else now

    def _score(self, row: dict, reference) -> float:
        featured = row.get("featured_at") or reference
        return trending_score(
            row["upvotes"],
            featured,
            reference,
            gravity=self.settings.trending_gravity,
            offset_hours=self.settings.trending_offset_hours,
        )

    def trending(self, *, page: int = 0, limit: int | None = None) -> TrendingPage:
        """Papers featured in the trending window, by time-decayed score.

        When nothing was featured within the window (an instance that stopped harvesting, or the
        demo data set), the window ends at the newest feed entry instead of now, and ``stale`` is set.
        """
        limit = self._check_paging(page, limit)
        window = timedelta(days=self.settings.trending_window_days)
        reference = self.clock.now().replace(tzinfo=None)
        stale = False
        with self.engine.connect() as conn:
            rows = feed_store.featured_during(conn, reference - window, reference)
            if not rows:
                newest = feed_store.latest_featured_at(conn, reference)
                if newest is not None:
                    stale, reference = True, newest
                    rows = feed_store.featured_during(conn, reference - window, reference)
            for row in rows:
                row["score"] = self._score(row, reference)
            rows.sort(key=lambda r: (r["score"], r["upvotes"]), reverse=True)
            rows = rows[page * limit : (page + 1) * limit]
            papers = attach_people(conn, rows)
        for paper, row in zip(papers, rows, strict=True):
            paper.score = row["score"]
        return TrendingPage(papers, reference, self.settings.trending_window_days, stale)

    # ------------------------------------------------------------ papers
    def paper(self, raw_id: str) -> PaperDetail:
        """The paper page data for an id (versioned ids and URLs accepted); raises :class:`NotFound`."""
        arxiv_id = normalize_arxiv_id(raw_id)
        with self.engine.connect() as conn:
            row = feed_store.paper_by_arxiv_id(conn, arxiv_id)
            if row is None:
                raise NotFound(f"no paper {arxiv_id} on this instance")
            entries = feed_store.feed_entries_of(conn, row["id"])
            if entries:
                row.update(
                    feed_date=entries[0]["feed_date"],
                    featured_at=entries[0]["featured_at"],
                    submitted_by=entries[0]["submitted_by"],
                )
            item = attach_people(conn, [row])[0]
        extra = {
            k: row.get(k)
            for k in (
                "doi",
                "journal_ref",
                "comments",
                "license",
                "updated_at",
                "latest_version",
                "report_no",
            )
        }
        return PaperDetail(paper=item, feed_days=entries, extra=extra)

    def items_for(self, arxiv_ids: list[str]) -> dict[str, PaperItem]:
        """Listing items for ids (search results), keyed by arXiv id; unknown/hidden ids are absent."""
        with self.engine.connect() as conn:
            rows = feed_store.papers_by_arxiv_ids(conn, arxiv_ids)
            items = attach_people(conn, list(rows.values()))
        return {item.arxiv_id: item for item in items}

    def day_counts(self, start: date, end: date) -> dict[date, int]:
        """Featured papers per day between two days (calendar)."""
        with self.engine.connect() as conn:
            return feed_store.day_counts(conn, start, end)

    def feed_version(self) -> int:
        """A number that changes whenever any listing may have changed (cache key)."""
        with self.engine.connect() as conn:
            return read_counter(conn, FEED_VERSION)

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return feed_store.instance_counts(conn)
