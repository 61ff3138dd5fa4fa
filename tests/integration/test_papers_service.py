"""PaperService over a real database: days, navigation, trending with a pinned clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from paperfeed.clock import FixedClock
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.papers.periods import day_period, parse_month
from paperfeed.papers.service import PaperService


@pytest.fixture
def service(loaded, engine, settings, clock):
    return PaperService(engine, settings, clock)


def test_latest_day_and_navigation_skip_empty_days(service):
    period = service.resolve_period()
    assert period.start == date(2025, 6, 20)
    page = service.listing(day_period(date(2025, 1, 10)))
    assert page.previous == "2025-01-02"  # Jan 3..9 have no papers
    assert page.next == "2025-06-20"
    assert page.total == 9


def test_listing_on_an_empty_day_still_navigates(service):
    page = service.listing(day_period(date(2025, 3, 1)))
    assert page.papers == [] and page.total == 0
    assert (page.previous, page.next) == ("2025-01-10", "2025-06-20")


def test_month_listing_and_paging_totals(service):
    page = service.listing(parse_month("2025-01"), limit=5, page=1)
    assert page.total == 12 and len(page.papers) == 5 and page.has_more
    last = service.listing(parse_month("2025-01"), limit=5, page=2)
    assert len(last.papers) == 2 and not last.has_more


def test_paper_detail(service):
    detail = service.paper("https://arxiv.org/abs/2501.05441v2")
    assert detail.paper.arxiv_id == "2501.05441"
    assert detail.paper.upvotes == 51
    assert [d["feed_date"] for d in detail.feed_days] == [date(2025, 1, 10)]
    with pytest.raises(NotFound):
        service.paper("2501.00000")
    with pytest.raises(InvalidInput):
        service.paper("nonsense")


def test_trending_recent_window(loaded, engine, settings):
    clock = FixedClock(datetime(2025, 1, 11, 12, 0, tzinfo=UTC))
    page = PaperService(engine, settings, clock).trending(limit=20)
    assert not page.stale
    ids = [p.arxiv_id for p in page.papers]
    assert ids[0] == "2501.05441"  # 51 votes, featured a day earlier
    assert len(ids) == 9  # the Jan 2 papers are outside the 7-day window, June's are in the future
    assert {p.feed_date for p in page.papers} == {date(2025, 1, 10)}
    scores = [p.score for p in page.papers]
    assert scores == sorted(scores, reverse=True)


def test_trending_falls_back_to_the_newest_window_when_stale(service):
    page = service.trending()
    assert page.stale
    assert {p.arxiv_id for p in page.papers} == {"2506.15154", "2506.14837"}
    assert page.reference.date() == date(2025, 6, 20)


def test_bad_paging(service):
    with pytest.raises(InvalidInput):
        service.listing(day_period(date(2025, 1, 10)), limit=101)
    with pytest.raises(InvalidInput):
        service.listing(day_period(date(2025, 1, 10)), page=-1)


def test_week_and_month_navigation_skip_empty_periods(service):
    from paperfeed.papers.periods import parse_week

    week = service.listing(parse_week("2025-W02"))  # Jan 10, 2025
    assert (week.previous, week.next) == ("2025-W01", "2025-W25")  # Jan 2 / Jun 20
    month = service.listing(parse_month("2025-01"))
    assert (month.previous, month.next) == (None, "2025-06")
