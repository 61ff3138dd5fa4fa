"""View models handed from the papers/search services to the web and CLI layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import orjson


@dataclass
class PaperItem:
    """A paper as listed in a feed, a search result or the paper page."""

    id: int
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published_at: datetime | None
    upvotes: int
    num_comments: int
    github_repo: str | None = None
    project_page: str | None = None
    ai_keywords: list[str] = field(default_factory=list)
    ai_summary: str | None = None
    feed_date: date | None = None
    featured_at: datetime | None = None
    submitted_by: str | None = None
    score: float | None = None
    highlighted_title: str | None = None
    highlighted_summary: str | None = None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @classmethod
    def from_row(cls, row: dict, authors: list[str], categories: list[str]) -> PaperItem:
        keywords = row.get("ai_keywords")
        return cls(
            id=row["id"],
            arxiv_id=row["arxiv_id"],
            title=row["title"],
            abstract=row["abstract"],
            authors=authors,
            categories=categories or ([row["primary_category"]] if row.get("primary_category") else []),
            published_at=row.get("published_at"),
            upvotes=row.get("upvotes") or 0,
            num_comments=row.get("num_comments") or 0,
            github_repo=row.get("github_repo"),
            project_page=row.get("project_page"),
            ai_keywords=orjson.loads(keywords) if keywords else [],
            ai_summary=row.get("ai_summary"),
            feed_date=row.get("feed_date"),
            featured_at=row.get("featured_at"),
            submitted_by=row.get("submitted_by"),
        )


@dataclass
class FeedPage:
    """One page of a period listing (day, week, month)."""

    kind: str
    label: str
    start: date
    end: date
    papers: list[PaperItem]
    total: int
    page: int
    page_size: int
    previous: str | None = None  # label of the previous period with papers (days) or calendar period
    next: str | None = None

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.page_size < self.total


@dataclass
class TrendingPage:
    """Trending papers with the reference instant the scores were computed at."""

    papers: list[PaperItem]
    reference: datetime
    window_days: int
    stale: bool  # True when nothing was featured recently and the window ends at the newest entry


@dataclass
class PaperDetail:
    """Everything the paper page shows."""

    paper: PaperItem
    feed_days: list[dict]
    extra: dict
