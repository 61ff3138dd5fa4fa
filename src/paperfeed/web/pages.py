"""HTML pages: daily / weekly / monthly listings, trending, the paper page and search.

Server-rendered with Jinja2 (``web/templates``); every page works without JavaScript (KaTeX only
prettifies math). User errors on pages (a bad date, an unknown paper) render ``error.html`` with a
4xx status, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.errors import InvalidInput, NotFound, PaperfeedError
from paperfeed.papers.models import FeedPage
from paperfeed.papers.periods import Period, day_period, parse_day, parse_month, parse_week, week_label
from paperfeed.search.service import MODES
from paperfeed.web.auth import SESSION_COOKIE
from paperfeed.web.comments import discussion_context
from paperfeed.web.deps import services
from paperfeed.web.errors import error_response
from paperfeed.web.serialize import paper_markdown
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)

SEARCH_PAGE_SIZE = 20
SIMILAR_ON_PAGE = 6
LISTING_CACHE = "public, max-age=60"
PAST_CACHE = "public, max-age=600"
PAPER_CACHE = "public, max-age=300"
PageNumber = Annotated[int, Query(ge=0, le=10_000, description="page number, from 0")]


@dataclass
class StripCell:
    """One cell of the strip of days (or weeks) shown above a listing."""

    label: str
    sub: str
    href: str | None
    count: int
    current: bool


def _bad_request(request: Request, exc: PaperfeedError) -> Response:
    return error_response(request, 400, exc.code, exc.message)


def _not_found(request: Request, message: str) -> Response:
    return error_response(request, 404, "not_found", message)


def _day_href(day: date | str) -> str:
    return f"/papers?date={day if isinstance(day, str) else day.isoformat()}"


def _week_href(label: str) -> str:
    return f"/papers/week/{label}"


def _month_href(label: str) -> str:
    return f"/papers/month/{label}"


def _period_href(kind: str, label: str) -> str:
    return {"day": _day_href, "week": _week_href, "month": _month_href}[kind](label)


def _page_href(kind: str, label: str, page: int) -> str:
    base = _period_href(kind, label)
    if page <= 0:
        return base
    return base + ("&" if "?" in base else "?") + f"p={page}"


def _week_strip(counts: dict[date, int], day: date, current_day: date | None) -> list[StripCell]:
    """Monday..Sunday of ``day``'s ISO week with paper counts; empty days are not links."""
    monday = day - timedelta(days=day.weekday())
    cells = []
    for offset in range(7):
        d = monday + timedelta(days=offset)
        count = counts.get(d, 0)
        cells.append(
            StripCell(f"{d:%a}", f"{d:%b} {d.day}", _day_href(d) if count else None, count, d == current_day)
        )
    return cells


def _month_strip(counts: dict[date, int], period: Period) -> list[StripCell]:
    """The ISO weeks overlapping a month with the month's paper counts in each."""
    cells = []
    monday = period.start - timedelta(days=period.start.weekday())
    while monday <= period.end:
        sunday = monday + timedelta(days=6)
        count = sum(n for d, n in counts.items() if monday <= d <= sunday)
        label = week_label(monday)
        first, last = max(monday, period.start), min(sunday, period.end)
        sub = f"{first:%b} {first.day}–{last.day}" if first != last else f"{first:%b} {first.day}"
        cells.append(StripCell(f"W{label[-2:]}", sub, _week_href(label) if count else None, count, False))
        monday += timedelta(days=7)
    return cells


def _period_title(period: Period) -> tuple[str, str]:
    """Heading and sub-heading of a listing page."""
    if period.kind == "day":
        return f"{period.start:%A}, {period.start:%B} {period.start.day}, {period.start.year}", "Daily papers"
    if period.kind == "week":
        year, week, _ = period.start.isocalendar()
        end = period.end
        span = f"{period.start:%b} {period.start.day} – {end:%b} {end.day}, {end.year}"
        return f"Week {week}, {year}", f"Papers of the week · {span}"
    return f"{period.start:%B %Y}", "Papers of the month"


def _nav_label(kind: str, label: str) -> str:
    if kind == "day":
        d = date.fromisoformat(label)
        return f"{d:%b} {d.day}, {d.year}"
    if kind == "week":
        monday = parse_week(label).start
        return f"Week {label[-2:].lstrip('0')}, {monday.isocalendar()[0]}"
    return f"{parse_month(label).start:%B %Y}"


def _neighbour_link(kind: str, label: str | None) -> tuple[str, str] | None:
    """(href, text) of the previous/next period with papers, or ``None``."""
    if label is None:
        return None
    return _period_href(kind, label), _nav_label(kind, label)


def _listing_page(
    request: Request, svc, period: Period, page: int, *, home: bool = False, latest: Period | None = None
) -> Response:
    feed: FeedPage = svc.papers.listing(period, page=page)
    title, subtitle = _period_title(period)
    if period.kind == "month":
        counts = svc.papers.day_counts(period.start, period.end)
        strip = _month_strip(counts, period)
    else:
        monday = period.start - timedelta(days=period.start.weekday())
        counts = svc.papers.day_counts(monday, monday + timedelta(days=6))
        strip = _week_strip(counts, period.start, period.start if period.kind == "day" else None)
    in_period = [d for d in counts if period.start <= d <= period.end]
    day_link = period.start if period.kind == "day" else max(in_period, default=period.start)
    latest = latest or svc.papers.resolve_period()
    latest_day = latest.start if latest else None
    past = latest_day is not None and period.end < latest_day
    context = {
        "active": period.kind if not home else "day",
        "period": period,
        "feed": feed,
        "title": title,
        "subtitle": subtitle,
        "strip": strip,
        "rank_offset": feed.page * feed.page_size,
        "previous": _neighbour_link(period.kind, feed.previous),
        "next": _neighbour_link(period.kind, feed.next),
        "previous_page": _page_href(period.kind, period.label, feed.page - 1) if feed.page > 0 else None,
        "next_page": _page_href(period.kind, period.label, feed.page + 1) if feed.has_more else None,
        "day_href": _day_href(day_link),
        "first_page": _period_href(period.kind, period.label),
        "week_href": _week_href(week_label(period.start)),
        "month_href": _month_href(period.start.strftime("%Y-%m")),
        "canonical": svc.settings.base_url.rstrip("/") + _page_href(period.kind, period.label, feed.page),
        "feed_url": "/feeds/daily.xml",
        "feed_title": "Daily papers (Atom)",
    }
    cache = PAST_CACHE if past else LISTING_CACHE
    return render(request, "listing.html", context, headers={"Cache-Control": cache})


def _empty_instance(request: Request, svc) -> Response:
    counts = svc.papers.counts()
    return render(
        request,
        "empty.html",
        {
            "active": "day",
            "counts": counts,
            "feed_url": "/feeds/daily.xml",
            "feed_title": "Daily papers (Atom)",
        },
        headers={"Cache-Control": "no-cache"},
    )


_REPLAYED_HEADERS = ("cache-control", "vary", "content-type")


async def _anonymous_cached(
    request: Request, svc, build: Callable[[], Response], *, per_minute: bool = False
) -> Response:
    """Serve signed-out visitors a stored copy of a page while ``feed_version`` is unchanged.

    Signed-in pages (votes, CSRF tokens) and anything that sets a cookie or is not a 200 are
    never stored. ``per_minute`` pages (trending) also expire every minute, as scores age.
    A hit is answered on the event loop (one indexed read of the version); building a page
    runs in the thread pool.
    """
    if SESSION_COOKIE in request.cookies:
        return await run_in_threadpool(build)
    key: tuple = ("page", request.url.path, request.url.query)
    if per_minute:
        key += (int(svc.clock.now().timestamp() // 60),)
    version = svc.papers.feed_version()
    entry = svc.response_cache.get(version, key)
    if entry is None:
        response = await run_in_threadpool(build)
        if response.status_code != 200 or "set-cookie" in response.headers:
            return response
        kept = {k: v for k, v in response.headers.items() if k in _REPLAYED_HEADERS}
        entry = svc.response_cache.put(version, key, bytes(response.body), kept)
    headers = dict(entry.headers)
    headers["etag"] = entry.etag
    if request.headers.get("if-none-match") == entry.etag:
        headers.pop("content-type", None)
        return Response(status_code=304, headers=headers)
    return Response(entry.body, headers=headers)


@router.get("/")
async def home(request: Request, svc=Depends(services), p: PageNumber = 0) -> Response:
    def build() -> Response:
        period = svc.papers.resolve_period()
        if period is None:
            return _empty_instance(request, svc)
        return _listing_page(request, svc, period, p, home=True, latest=period)

    return await _anonymous_cached(request, svc, build)


@router.get("/papers")
async def daily(
    request: Request, svc=Depends(services), date: str | None = None, p: PageNumber = 0
) -> Response:
    try:
        day = day_period(parse_day(date.strip())) if date and date.strip() else None
    except InvalidInput as exc:
        return _bad_request(request, exc)

    def build() -> Response:
        period = day or svc.papers.resolve_period()
        if period is None:
            return _empty_instance(request, svc)
        return _listing_page(request, svc, period, p)

    return await _anonymous_cached(request, svc, build)


def _latest_day(svc) -> date | None:
    period = svc.papers.resolve_period()
    return period.start if period else None


@router.get("/papers/week")
def latest_week(request: Request, svc=Depends(services)) -> Response:
    day = _latest_day(svc)
    if day is None:
        return _empty_instance(request, svc)
    return RedirectResponse(_week_href(week_label(day)), status_code=302)


@router.get("/papers/month")
def latest_month(request: Request, svc=Depends(services)) -> Response:
    day = _latest_day(svc)
    if day is None:
        return _empty_instance(request, svc)
    return RedirectResponse(_month_href(day.strftime("%Y-%m")), status_code=302)


@router.get("/papers/week/{label}")
async def weekly(request: Request, label: str, svc=Depends(services), p: PageNumber = 0) -> Response:
    try:
        period = parse_week(label)
    except InvalidInput as exc:
        return _bad_request(request, exc)
    return await _anonymous_cached(request, svc, lambda: _listing_page(request, svc, period, p))


@router.get("/papers/month/{label}")
async def monthly(request: Request, label: str, svc=Depends(services), p: PageNumber = 0) -> Response:
    try:
        period = parse_month(label)
    except InvalidInput as exc:
        return _bad_request(request, exc)
    return await _anonymous_cached(request, svc, lambda: _listing_page(request, svc, period, p))


@router.get("/papers/trending")
async def trending(request: Request, svc=Depends(services), p: PageNumber = 0) -> Response:
    return await _anonymous_cached(request, svc, lambda: _trending_page(request, svc, p), per_minute=True)


def _trending_page(request: Request, svc, p: int) -> Response:
    settings = svc.settings
    page_size = settings.page_size
    result = svc.papers.trending(page=p, limit=page_size)
    context = {
        "active": "trending",
        "trending": result,
        "gravity": settings.trending_gravity,
        "offset_hours": settings.trending_offset_hours,
        "window_days": settings.trending_window_days,
        "rank_offset": p * page_size,
        "previous_page": ("/papers/trending" + (f"?p={p - 1}" if p > 1 else "")) if p > 0 else None,
        "next_page": f"/papers/trending?p={p + 1}" if len(result.papers) == page_size else None,
        "feed_url": "/feeds/trending.xml",
        "feed_title": "Trending papers (Atom)",
    }
    return render(request, "trending.html", context, headers={"Cache-Control": LISTING_CACHE})


@router.get("/search")
def search(
    request: Request,
    svc=Depends(services),
    q: str = "",
    mode: str | None = None,
    sort: str = "relevance",
    p: PageNumber = 0,
) -> Response:
    q = q[:1000]
    requested = (mode or "hybrid").strip().lower()
    feed_url = "/feeds/search.xml?" + urlencode({"q": q.strip()}) if q.strip() else None
    context = {
        "active": "search",
        "q": q,
        "mode": requested,
        "explicit_mode": bool(mode),
        "modes": MODES,
        "sort": sort,
        "results": None,
        "feed_url": feed_url,
        "feed_title": "This search (Atom)",
        "search_q": q,
    }
    try:
        if requested not in MODES:
            raise InvalidInput(f"invalid mode {mode!r}: expected keyword, semantic or hybrid")
        if q.strip():
            results = svc.search.search(
                q, limit=SEARCH_PAGE_SIZE + 1, offset=p * SEARCH_PAGE_SIZE, mode=requested, sort=sort
            )
            items = results.items[:SEARCH_PAGE_SIZE]
            params = {"q": q, "mode": mode, "sort": sort if sort != "relevance" else None}
            context.update(
                results=results,
                items=items,
                first=p * SEARCH_PAGE_SIZE + 1,
                has_more=len(results.items) > SEARCH_PAGE_SIZE,
                page=p,
                previous_page="/search" + _qs({**params, "p": p - 1 if p > 1 else None}) if p > 0 else None,
                next_page="/search" + _qs({**params, "p": p + 1}),
            )
    except InvalidInput as exc:
        return _bad_request(request, exc)
    return render(request, "search.html", context, headers={"Cache-Control": LISTING_CACHE})


def _qs(params: dict) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(clean) if clean else ""


@router.get("/papers/{arxiv_id:path}")
def paper(request: Request, arxiv_id: str, svc=Depends(services)) -> Response:
    raw = arxiv_id
    markdown = raw.endswith(".md")
    if markdown:
        raw = raw[: -len(".md")]
    try:
        canonical = normalize_arxiv_id(raw)
    except InvalidInput:
        return _not_found(request, f"{raw[:80]!r} is not an arXiv id")
    if canonical != raw:
        target = f"/papers/{quote(canonical, safe='/')}" + (".md" if markdown else "")
        return RedirectResponse(target, status_code=301)
    try:
        detail = svc.papers.paper(canonical)
    except NotFound as exc:
        return _not_found(request, exc.message)
    item = detail.paper
    if markdown:
        body = paper_markdown(item, detail.feed_days, svc.settings.base_url)
        return Response(
            body, media_type="text/markdown; charset=utf-8", headers={"Cache-Control": PAPER_CACHE}
        )
    try:
        similar = svc.search.similar(canonical, SIMILAR_ON_PAGE)
    except PaperfeedError:
        similar = []
    context = {
        "active": None,
        "paper": item,
        "similar": similar,
        "feed_days": detail.feed_days,
        "extra": detail.extra,
        "md_url": f"/papers/{canonical}.md",
        **discussion_context(request, svc, canonical),
    }
    if request.query_params.get("submitted"):  # back from /submit
        context["notice"] = "Thanks! The paper is on today's feed."
    return render(request, "paper.html", context, headers={"Cache-Control": PAPER_CACHE})
