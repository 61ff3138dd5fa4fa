"""The job schedule as pure functions: given ``now``, when does each job run next?

* ``harvest``: daily at ``harvest_time`` (default 20:30) in ``schedule_timezone`` (default
  America/New_York), Sunday to Thursday: arXiv announces new papers at 20:00 ET on those days.
  The harvest job updates the keyword/vector indexes itself when it finishes.
* ``index``: every ``index_interval_minutes`` on a grid aligned to midnight (local), 0 = never
  on its own (then only after harvests).
* ``digest``: daily at ``digest_time``; on Mondays that run also sends the weekly digests (the
  digest job sends whatever is due, daily and weekly, and never sends twice).

Times are computed in the local zone and returned as aware UTC datetimes, so DST switch days keep
the local wall-clock time. arXiv holidays (no announcement) are out of scope: the harvest runs and
finds nothing new, which costs one cheap request per set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from paperfeed.config import Settings

JOBS = ("harvest", "index", "digest")
HARVEST_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # Sun, Mon, Tue, Wed, Thu (datetime.weekday())
WEEKLY_DIGEST_WEEKDAY = 0  # Monday


@dataclass(frozen=True)
class ScheduleConfig:
    """The schedule's knobs (see ``Settings``)."""

    timezone: str = "America/New_York"
    harvest_time: time = time(20, 30)
    harvest_weekdays: frozenset[int] = HARVEST_WEEKDAYS
    index_interval_minutes: int = 60
    digest_time: time = time(7, 0)

    @classmethod
    def from_settings(cls, settings: Settings) -> ScheduleConfig:
        return cls(
            timezone=settings.schedule_timezone,
            harvest_time=_parse_time(settings.harvest_time),
            index_interval_minutes=settings.index_interval_minutes,
            digest_time=_parse_time(settings.digest_time),
        )


@dataclass(frozen=True)
class PlannedRun:
    """One future run: the job, when (aware UTC) and what it will do."""

    job: str
    at: datetime
    detail: str = ""


def _parse_time(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes))


def _daily(now: datetime, tz: ZoneInfo, at: time, weekdays: frozenset[int] | None = None) -> datetime:
    local_day = now.astimezone(tz).date()
    for offset in range(9):
        day = local_day + timedelta(days=offset)
        if weekdays is not None and day.weekday() not in weekdays:
            continue
        candidate = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if candidate > now:
            return candidate
    raise ValueError("no weekday selected")  # pragma: no cover - weekdays is never empty


def next_run(job: str, now: datetime, config: ScheduleConfig) -> PlannedRun | None:
    """The first run of ``job`` strictly after ``now`` (aware); ``None`` when it never runs alone."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = ZoneInfo(config.timezone)
    if job == "harvest":
        return PlannedRun("harvest", _daily(now, tz, config.harvest_time, config.harvest_weekdays))
    if job == "digest":
        at = _daily(now, tz, config.digest_time)
        weekly = at.astimezone(tz).weekday() == WEEKLY_DIGEST_WEEKDAY
        return PlannedRun("digest", at, "daily + weekly" if weekly else "daily")
    if job == "index":
        step = config.index_interval_minutes
        if step <= 0:
            return None
        local = now.astimezone(tz)
        midnight = datetime.combine(local.date(), time(0, 0), tzinfo=tz).astimezone(UTC)
        elapsed = (now - midnight).total_seconds() // 60
        at = midnight + timedelta(minutes=(elapsed // step + 1) * step)
        # the grid restarts at each local midnight (a step need not divide 24 h)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=tz)
        return PlannedRun("index", min(at, next_midnight.astimezone(UTC)))
    raise ValueError(f"unknown job {job!r}")


def upcoming(now: datetime, config: ScheduleConfig, *, count: int = 10) -> list[PlannedRun]:
    """The next ``count`` runs of every job, in time order."""
    runs: list[PlannedRun] = []
    for job in JOBS:
        moment = now
        for _ in range(count):
            planned = next_run(job, moment, config)
            if planned is None:
                break
            runs.append(planned)
            moment = planned.at
    runs.sort(key=lambda r: (r.at, JOBS.index(r.job)))
    return runs[:count]
