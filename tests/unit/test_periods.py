"""Day, ISO week and month periods."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from paperfeed.errors import InvalidInput
from paperfeed.papers.periods import (
    day_period,
    local_day,
    month_period,
    parse_day,
    parse_month,
    parse_week,
    week_label,
    week_period,
)


def test_iso_week_boundaries_cross_years():
    week = parse_week("2025-W01")  # ISO week 1 of 2025 starts on Monday 2024-12-30
    assert (week.start, week.end) == (date(2024, 12, 30), date(2025, 1, 5))
    assert week_label(date(2024, 12, 31)) == "2025-W01"
    assert parse_week("2026-W53").start == date(2026, 12, 28)
    assert week_period(date(2025, 1, 5)).label == "2025-W01"  # Sunday closes the week
    assert week_period(date(2024, 12, 29)).label == "2024-W52"


def test_month_boundaries():
    feb = parse_month("2024-02")
    assert (feb.start, feb.end) == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_period(date(2025, 12, 31)).end == date(2025, 12, 31)
    assert month_period(date(2024, 12, 1)).label == "2024-12"
    assert month_period(date(2025, 3, 17)).label == "2025-03"


def test_day_period():
    period = day_period(date(2025, 3, 1))
    assert (period.start, period.end, period.label) == (date(2025, 3, 1), date(2025, 3, 1), "2025-03-01")


@pytest.mark.parametrize("text", ["2025-W54", "2025-W00", "2025W01", "25-W01", "", "2025-W1"])
def test_bad_weeks(text):
    with pytest.raises(InvalidInput):
        parse_week(text)


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "2025-1", "0000-01", "May 2025"])
def test_bad_months(text):
    with pytest.raises(InvalidInput):
        parse_month(text)


@pytest.mark.parametrize("text", ["2025-02-30", "2025-2-3", "20250203", "today", "2025-02-03T00:00"])
def test_bad_days(text):
    with pytest.raises(InvalidInput):
        parse_day(text)


def test_feed_day_uses_new_york_time():
    # 02:30 UTC on Jan 11 is still Jan 10 in New York (UTC-5)
    assert local_day(datetime(2025, 1, 11, 2, 30), "America/New_York") == date(2025, 1, 10)
    assert local_day(datetime(2025, 1, 11, 5, 30), "America/New_York") == date(2025, 1, 11)
