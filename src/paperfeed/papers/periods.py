"""Feed periods: a day ``YYYY-MM-DD``, an ISO week ``YYYY-Www``, a month ``YYYY-MM`` — parsing, navigation."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from paperfeed.errors import InvalidInput

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    """An inclusive range of feed days with a label and a kind (day, week or month)."""

    kind: str
    start: date
    end: date
    label: str


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` → date, or :class:`InvalidInput`."""
    if not _DAY.match(text or ""):
        raise InvalidInput(f"invalid date {text!r}: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"invalid date {text!r}: {exc}") from exc


def day_period(day: date) -> Period:
    return Period("day", day, day, day.isoformat())


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_period(day: date) -> Period:
    """The ISO week (Monday to Sunday) containing ``day``."""
    monday = day - timedelta(days=day.weekday())
    return Period("week", monday, monday + timedelta(days=6), week_label(monday))


def parse_week(text: str) -> Period:
    """``YYYY-Www`` → the ISO week's days, or :class:`InvalidInput`."""
    match = _WEEK.match(text or "")
    if not match:
        raise InvalidInput(f"invalid week {text!r}: expected YYYY-Www, e.g. 2025-W09")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise InvalidInput(f"invalid week {text!r}: {exc}") from exc
    return week_period(monday)


def month_period(day: date) -> Period:
    """The calendar month containing ``day``."""
    last = calendar.monthrange(day.year, day.month)[1]
    first = day.replace(day=1)
    return Period("month", first, first.replace(day=last), first.strftime("%Y-%m"))


def parse_month(text: str) -> Period:
    """``YYYY-MM`` → the month's days, or :class:`InvalidInput`."""
    match = _MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise InvalidInput(f"invalid month {text!r}: expected YYYY-MM")
    return month_period(date(int(match.group(1)), int(match.group(2)), 1))


def local_day(moment: datetime, tz: str) -> date:
    """The feed day (in time zone ``tz``) of an aware or naive-UTC instant."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(tz)).date()
