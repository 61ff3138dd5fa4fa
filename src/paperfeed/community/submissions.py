"""Submitting a paper by arXiv id: normalise, check the rules, fetch from arXiv, feature it today.

Rules (``Settings``, shown on ``/submit``): the paper is at most ``submission_max_age_days`` old
(by its first version's date), a user submits at most ``submissions_per_day`` papers per feed
day, a paper already featured on any day is not featured again (the caller gets the existing
entry), and with ``submission_no_weekend`` nothing is accepted on Saturdays and Sundays. Days are
feed days in ``Settings.timezone``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.clock import Clock
from paperfeed.community.accounts import Account
from paperfeed.community.errors import RateLimited
from paperfeed.config import Settings
from paperfeed.db import submissions_store
from paperfeed.errors import InvalidInput, PaperfeedError
from paperfeed.ingest.arxiv_api import ArxivInvalidId
from paperfeed.ingest.records import FeedRecord, PaperRecord
from paperfeed.papers.models import PaperItem
from paperfeed.papers.service import PaperService

log = logging.getLogger(__name__)


class ArxivFetcher(Protocol):
    """What the service needs from an arXiv client (``ArxivClient`` or a test double server)."""

    def fetch_one(self, arxiv_id: str) -> PaperRecord: ...


# --------------------------------------------------------------------------- errors
class AlreadyFeatured(PaperfeedError):
    """The paper is already on a feed; ``item`` is its existing entry (``None`` if hidden)."""

    code = "already_featured"
    http_status = 409

    def __init__(self, arxiv_id: str, item: PaperItem | None) -> None:
        day = f" on {item.feed_date.isoformat()}" if item is not None and item.feed_date else ""
        super().__init__(f"{arxiv_id} is already featured{day}.")
        self.arxiv_id = arxiv_id
        self.item = item


class PaperTooOld(PaperfeedError):
    """The paper's first version is older than the submission window."""

    code = "paper_too_old"
    http_status = 422


class SubmissionsClosed(PaperfeedError):
    """Submissions are not accepted right now (the no-weekend rule)."""

    code = "submissions_closed"
    http_status = 403

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class SubmissionCapReached(RateLimited):
    """The user has used up today's submissions; ``retry_after`` lasts until the next feed day."""

    code = "submission_limit"

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(retry_after, "submissions")
        self.message = (
            f"You can submit {limit} paper{'s' * (limit != 1)} per day; "
            "you have used them all today. Try again tomorrow."
        )
        self.args = (self.message,)


@dataclass(frozen=True)
class SubmissionRules:
    """The rules as shown to users."""

    max_age_days: int
    per_day: int
    no_weekend: bool
    timezone: str


# --------------------------------------------------------------------------- service
class SubmissionService:
    """Feature papers that users submit by arXiv id."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        papers: PaperService,
        arxiv: ArxivFetcher,
        *,
        after_store: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.papers = papers
        self.arxiv = arxiv
        self.after_store = after_store
        self.zone = ZoneInfo(settings.timezone)

    @property
    def rules(self) -> SubmissionRules:
        s = self.settings
        return SubmissionRules(
            s.submission_max_age_days, s.submissions_per_day, s.submission_no_weekend, s.timezone
        )

    def today(self) -> date:
        """The current feed day (in ``Settings.timezone``)."""
        return self.clock.now().astimezone(self.zone).date()

    def _seconds_until(self, day: date) -> int:
        start = datetime.combine(day, time(0, 0), tzinfo=self.zone)
        return max(1, int((start - self.clock.now()).total_seconds()) + 1)

    def used_today(self, account: Account) -> int:
        """How many papers the user submitted for today's feed."""
        with self.engine.connect() as conn:
            return submissions_store.submissions_on(conn, account.username, self.today())

    def submit(self, account: Account, raw_id: str) -> PaperItem:
        """Feature the paper ``raw_id`` today on behalf of ``account``; return its feed item.

        Raises :class:`ArxivInvalidId` (bad id), :class:`AlreadyFeatured`, :class:`SubmissionsClosed`,
        :class:`SubmissionCapReached`, :class:`PaperTooOld`, or an arXiv error (unknown id, arXiv
        down, malformed answer).
        """
        try:
            arxiv_id = normalize_arxiv_id(raw_id)
        except InvalidInput as exc:
            raise ArxivInvalidId(exc.message) from None
        today = self.today()
        with self.engine.connect() as conn:
            featured = submissions_store.is_featured(conn, arxiv_id)
            stored = submissions_store.stored_paper(conn, arxiv_id)
            used = submissions_store.submissions_on(conn, account.username, today)
        if featured:
            raise AlreadyFeatured(arxiv_id, self._item(arxiv_id))
        if self.settings.submission_no_weekend and today.weekday() >= 5:
            monday = today + timedelta(days=7 - today.weekday())
            raise SubmissionsClosed(
                "Submissions are closed on weekends; come back on Monday.", self._seconds_until(monday)
            )
        limit = self.settings.submissions_per_day
        if used >= limit:
            raise SubmissionCapReached(limit, self._seconds_until(today + timedelta(days=1)))
        if stored is not None and stored["hidden"]:
            raise SubmissionsClosed(f"{arxiv_id} cannot be submitted.", 86400)

        if self._complete(stored):
            record = PaperRecord(arxiv_id=arxiv_id, title="")  # store_batch keeps the stored fields
            published = stored["published_at"]
        else:
            record = self.arxiv.fetch_one(arxiv_id)
            published = record.published_at
        self._check_age(arxiv_id, published, today)

        now = self.clock.now().astimezone(UTC).replace(tzinfo=None)
        record.feed = FeedRecord(feed_date=today, featured_at=now, submitted_by=account.username)
        key = f"{arxiv_id}|{today.isoformat()}|{account.username}|{record.record_hash}"
        record.record_hash = hashlib.sha256(key.encode()).hexdigest()[:32]
        outcome = submissions_store.store_submission(
            self.engine, record, username=account.username, day_limit=limit, now=now
        )
        if outcome == "featured":
            raise AlreadyFeatured(arxiv_id, self._item(arxiv_id))
        if outcome == "capped":
            raise SubmissionCapReached(limit, self._seconds_until(today + timedelta(days=1)))
        log.info("paper %s submitted by %s for %s", arxiv_id, account.username, today)
        if self.after_store is not None:
            try:
                self.after_store()
            except Exception:  # the paper is stored; the index catches up on the next update
                log.exception("index update after submitting %s failed", arxiv_id)
        item = self._item(arxiv_id)
        assert item is not None
        return item

    # ------------------------------------------------------------ helpers
    def _item(self, arxiv_id: str) -> PaperItem | None:
        return self.papers.items_for([arxiv_id]).get(arxiv_id)

    @staticmethod
    def _complete(stored: dict | None) -> bool:
        """A stored paper with everything a submission needs (no arXiv call then)."""
        return bool(
            stored
            and stored["title"]
            and stored["abstract"]
            and stored["published_at"] is not None
            and stored["n_authors"] > 0
        )

    def _check_age(self, arxiv_id: str, published: datetime | None, today: date) -> None:
        max_age = self.settings.submission_max_age_days
        if published is None:
            raise PaperTooOld(f"arXiv gives no date for {arxiv_id}; it cannot be submitted.")
        first_day = published.replace(tzinfo=UTC).astimezone(self.zone).date()
        age = (today - first_day).days
        if age > max_age:
            raise PaperTooOld(
                f"{arxiv_id} was first published on {first_day.isoformat()}, {age} days ago; "
                f"only papers at most {max_age} days old can be submitted."
            )
