"""The month calendar: ``/papers/calendar`` (the latest month with papers) and
``/papers/calendar/YYYY-MM`` — a server-rendered table of the month's days (weeks as rows, Monday
first), each with its count of featured papers and, when it has any, a link to that day; the row
header links to the ISO week; previous/next month links. Works without JavaScript. Must be
included before ``web.pages`` (whose ``/papers/{arxiv_id:path}`` would take ``calendar``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from paperfeed.errors import InvalidInput
from paperfeed.papers.periods import Period, parse_day, parse_month, week_label
from paperfeed.web.deps import services
from paperfeed.web.errors import error_response
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)
CALENDAR_CACHE = "public, max-age=60"
WEEKDAYS = [("Mon", "Monday"), ("Tue", "Tuesday"), ("Wed", "Wednesday"), ("Thu", "Thursday"),
            ("Fri", "Friday"), ("Sat", "Saturday"), ("Sun", "Sunday")]  # fmt: skip


@dataclass(frozen=True)
class CalendarDay:
    """One cell: a day of the month (``in_month``) or padding from the neighbouring months."""

    day: date
    count: int
    in_month: bool
    selected: bool


@dataclass(frozen=True)
class CalendarWeek:
    """One row: the ISO week label (``2026-W34``), its papers in this month, its seven days."""

    label: str
    count: int
    days: list[CalendarDay]


def calendar_weeks(
    period: Period, counts: dict[date, int], selected: date | None = None
) -> list[CalendarWeek]:
    """The month's rows, Monday to Sunday, from the week of the 1st to the week of the last day."""
    weeks = []
    monday = period.start - timedelta(days=period.start.weekday())
    while monday <= period.end:
        days = []
        for offset in range(7):
            d = monday + timedelta(days=offset)
            inside = period.start <= d <= period.end
            days.append(CalendarDay(d, counts.get(d, 0) if inside else 0, inside, inside and d == selected))
        weeks.append(CalendarWeek(week_label(monday), sum(c.count for c in days), days))
        monday += timedelta(days=7)
    return weeks


def _neighbour(period: Period, step: int) -> str | None:
    """``YYYY-MM`` of the month before (``-1``) or after (``+1``), ``None`` past year 1 / 9999."""
    year, month = period.start.year, period.start.month + step
    if month == 0:
        year, month = year - 1, 12
    elif month == 13:
        year, month = year + 1, 1
    if not 1 <= year <= 9999:
        return None
    return f"{year:04d}-{month:02d}"


def _month_title(label: str) -> str:
    start = parse_month(label).start
    return f"{start:%B} {start.year}"


@router.get("/papers/calendar")
def latest_calendar(request: Request, svc=Depends(services)) -> Response:
    """The calendar of the month of the latest day with papers (this month on an empty instance)."""
    latest = svc.papers.resolve_period()
    day = latest.start if latest else svc.clock.now().date()
    return RedirectResponse(f"/papers/calendar/{day:%Y-%m}", status_code=302)


@router.get("/papers/calendar/{label}")
def month_calendar(request: Request, label: str, svc=Depends(services), date: str | None = None) -> Response:
    """``date=YYYY-MM-DD`` (optional) marks that day as the current one."""
    try:
        period = parse_month(label)
        selected = parse_day(date.strip()) if date and date.strip() else None
    except InvalidInput as exc:
        return error_response(request, 400, exc.code, exc.message)
    counts = svc.papers.day_counts(period.start, period.end)
    previous, following = _neighbour(period, -1), _neighbour(period, 1)
    context = {
        "active": "calendar",
        "period": period,
        "title": _month_title(period.label),
        "weekdays": WEEKDAYS,
        "weeks": calendar_weeks(period, counts, selected),
        "total": sum(counts.get(d, 0) for d in counts if period.start <= d <= period.end),
        "previous": (f"/papers/calendar/{previous}", _month_title(previous)) if previous else None,
        "next": (f"/papers/calendar/{following}", _month_title(following)) if following else None,
        "month_href": f"/papers/month/{period.label}",
        "canonical": svc.settings.base_url.rstrip("/") + f"/papers/calendar/{period.label}",
    }
    return render(request, "calendar.html", context, headers={"Cache-Control": CALENDAR_CACHE})
