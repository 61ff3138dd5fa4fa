"""The job schedule: harvest after arXiv's announcement Sun–Thu, DST days, digests, index grid."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from paperfeed.jobs.schedule import ScheduleConfig, next_run, upcoming

NY = ZoneInfo("America/New_York")
CONFIG = ScheduleConfig()


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ny(2026, 11, 26, 20, 0), utc(2026, 11, 27, 1, 30)),  # Thursday before 20:30: tonight
        (ny(2026, 11, 26, 21, 0), utc(2026, 11, 30, 1, 30)),  # Thursday after: Sunday evening
        (ny(2026, 11, 26, 20, 30), utc(2026, 11, 30, 1, 30)),  # exactly at the time: the next one
        (ny(2026, 11, 27, 10, 0), utc(2026, 11, 30, 1, 30)),  # Friday: Sunday
        (ny(2026, 11, 28, 23, 59), utc(2026, 11, 30, 1, 30)),  # Saturday: Sunday
        (ny(2026, 11, 29, 21, 0), utc(2026, 12, 1, 1, 30)),  # Sunday after: Monday
    ],
)
def test_harvest_runs_after_the_announcement_sunday_to_thursday(now, expected):
    planned = next_run("harvest", now.astimezone(UTC), CONFIG)
    assert planned.at == expected
    assert planned.at.astimezone(NY).time() == time(20, 30)


def test_dst_switch_days_keep_the_local_time():
    spring = next_run("harvest", ny(2026, 3, 7, 12, 0).astimezone(UTC), CONFIG)  # Sat before DST starts
    assert spring.at == utc(2026, 3, 9, 0, 30)  # Sun 8 March 20:30 EDT (UTC-4)
    autumn = next_run("harvest", ny(2026, 10, 31, 12, 0).astimezone(UTC), CONFIG)  # Sat before DST ends
    assert autumn.at == utc(2026, 11, 2, 1, 30)  # Sun 1 November 20:30 EST (UTC-5)
    digest = next_run("digest", ny(2026, 3, 8, 1, 0).astimezone(UTC), CONFIG)
    assert digest.at == utc(2026, 3, 8, 11, 0)  # 07:00 EDT on the switch day itself


def test_digest_daily_and_weekly_on_mondays():
    sunday = next_run("digest", ny(2026, 11, 29, 8, 0).astimezone(UTC), CONFIG)
    assert sunday.at == utc(2026, 11, 30, 12, 0)
    assert sunday.detail == "daily + weekly"
    tuesday = next_run("digest", ny(2026, 12, 1, 6, 0).astimezone(UTC), CONFIG)
    assert (tuesday.at, tuesday.detail) == (utc(2026, 12, 1, 12, 0), "daily")


def test_index_grid_and_interval_zero():
    planned = next_run("index", ny(2026, 11, 26, 10, 17).astimezone(UTC), CONFIG)
    assert planned.at.astimezone(NY) == ny(2026, 11, 26, 11, 0)
    odd = ScheduleConfig(index_interval_minutes=45)
    late = next_run("index", ny(2026, 11, 26, 23, 40).astimezone(UTC), odd)
    assert late.at.astimezone(NY) == ny(2026, 11, 27, 0, 0)  # the grid restarts at midnight
    assert next_run("index", utc(2026, 11, 26, 12, 0), ScheduleConfig(index_interval_minutes=0)) is None


def test_upcoming_is_in_time_order_and_needs_an_aware_now():
    config = ScheduleConfig(index_interval_minutes=0)
    runs = upcoming(ny(2026, 11, 26, 19, 0).astimezone(UTC), config, count=5)
    assert [(r.job, r.at.astimezone(NY).strftime("%a %H:%M")) for r in runs] == [
        ("harvest", "Thu 20:30"),
        ("digest", "Fri 07:00"),
        ("digest", "Sat 07:00"),
        ("digest", "Sun 07:00"),
        ("harvest", "Sun 20:30"),
    ]
    with pytest.raises(ValueError, match="aware"):
        next_run("harvest", datetime(2026, 1, 1), CONFIG)
    with pytest.raises(ValueError, match="unknown job"):
        next_run("reboot", utc(2026, 1, 1), CONFIG)
