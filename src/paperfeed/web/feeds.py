"""Atom feeds: the latest day, trending, and any search (``/feeds/*.xml``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from paperfeed.web.atom import atom_feed
from paperfeed.web.deps import services

router = APIRouter(tags=["feeds"])
ATOM = "application/atom+xml; charset=utf-8"


def _newest(items):
    stamps = [i.featured_at or i.published_at for i in items if (i.featured_at or i.published_at)]
    return max(stamps) if stamps else None


@router.get("/feeds/daily.xml", summary="Atom feed of the latest day's papers")
def daily_feed(svc=Depends(services)) -> Response:
    base = svc.settings.base_url.rstrip("/")
    period = svc.papers.resolve_period()
    items = svc.papers.listing(period, limit=100).papers if period else []
    title = f"{svc.settings.site_name}: daily papers" + (f" — {period.label}" if period else "")
    body = atom_feed(
        title=title,
        feed_url=f"{base}/feeds/daily.xml",
        page_url=f"{base}/",
        base_url=base,
        items=items,
        updated=_newest(items),
    )
    return Response(body, media_type=ATOM)


@router.get("/feeds/trending.xml", summary="Atom feed of trending papers")
def trending_feed(svc=Depends(services)) -> Response:
    base = svc.settings.base_url.rstrip("/")
    trending = svc.papers.trending(limit=50)
    body = atom_feed(
        title=f"{svc.settings.site_name}: trending papers",
        feed_url=f"{base}/feeds/trending.xml",
        page_url=f"{base}/papers/trending",
        base_url=base,
        items=trending.papers,
        updated=trending.reference,
    )
    return Response(body, media_type=ATOM)


@router.get("/feeds/search.xml", summary="Atom feed of a search")
def search_feed(
    svc=Depends(services),
    q: Annotated[str, Query(max_length=1000)] = "",
    mode: Annotated[str, Query()] = "hybrid",
    sort: Annotated[str, Query()] = "date",
) -> Response:
    base = svc.settings.base_url.rstrip("/")
    results = svc.search.search(q, limit=50, mode=mode, sort=sort, highlight=False)
    query = urlencode({"q": q})
    body = atom_feed(
        title=f"{svc.settings.site_name}: search “{results.query}”",
        feed_url=f"{base}/feeds/search.xml?{query}",
        page_url=f"{base}/search?{query}",
        base_url=base,
        items=results.items,
        updated=_newest(results.items),
    )
    return Response(body, media_type=ATOM)
