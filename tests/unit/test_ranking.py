"""The trending formula."""

from __future__ import annotations

from datetime import datetime, timedelta

from paperfeed.papers.ranking import trending_score

NOW = datetime(2026, 8, 22, 12, 0)


def score(votes, hours_ago, gravity=1.8, offset=2.0):
    return trending_score(votes, NOW - timedelta(hours=hours_ago), NOW, gravity=gravity, offset_hours=offset)


def test_documented_example():
    assert round(score(40, 24), 2) == 0.11
    assert round(score(10, 3), 2) == 0.55
    assert score(10, 3) > score(40, 24)


def test_more_votes_and_fresher_rank_higher():
    assert score(20, 10) > score(10, 10)
    assert score(10, 5) > score(10, 50)


def test_gravity_controls_decay():
    assert score(40, 48, gravity=1.0) / score(10, 1, gravity=1.0) > score(40, 48) / score(10, 1)


def test_zero_votes_and_future_entries():
    assert score(0, 5) == 0
    assert score(5, -3) == score(5, 0)  # featured "in the future" counts as brand new
