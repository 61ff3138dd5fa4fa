"""JSON API (``/api/...``, ``/healthz``), shaped like Hugging Face's papers API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from paperfeed.papers.periods import parse_day
from paperfeed.search.interfaces import SearchFilters
from paperfeed.web.deps import services
from paperfeed.web.responses import json_response
from paperfeed.web.serialize import daily_item, paper_flat, search_item

router = APIRouter()


def _optional_day(value: str | None) -> date | None:
    return parse_day(value) if value else None


@router.get("/api/daily_papers", tags=["papers"], summary="Papers featured on a day, week or month")
async def daily_papers(
    request: Request,
    svc=Depends(services),
    date: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(description="YYYY-Www")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
    sort: Annotated[str, Query(description="upvotes | publishedAt | trending")] = "upvotes",
    p: Annotated[int, Query(ge=0, description="page number, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    submitter: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    version = svc.papers.feed_version()
    key: tuple = ("daily_papers", date, week, month, sort, p, limit, submitter)
    if sort == "trending":  # scores age with the clock: recompute at most once a minute
        key += (int(svc.clock.now().timestamp() // 60),)

    def render() -> bytes:
        period = svc.papers.resolve_period(day=date, week=week, month=month)
        if period is None:
            return b"[]"
        page = svc.papers.listing(period, sort=sort, page=p, limit=limit, submitter=submitter)
        return orjson.dumps([daily_item(item) for item in page.papers])

    # a cache hit is answered on the event loop; building the page runs in the thread pool
    cached = svc.response_cache.get(version, key)
    if cached is None:
        cached = svc.response_cache.put(version, key, await run_in_threadpool(render))
    headers = {"ETag": cached.etag, "Cache-Control": "public, max-age=60"}
    if request.headers.get("if-none-match") == cached.etag:
        return Response(status_code=304, headers=headers)
    return Response(cached.body, media_type="application/json", headers=headers)


@router.get("/api/papers/search", tags=["search"], summary="Search papers")
def search_papers(
    svc=Depends(services),
    q: Annotated[str, Query(max_length=1000)] = "",
    limit: Annotated[int, Query(ge=1, le=120)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    mode: Annotated[str, Query(description="keyword | semantic | hybrid")] = "hybrid",
    sort: Annotated[str, Query(description="relevance | date")] = "relevance",
    category: Annotated[list[str] | None, Query(max_length=64)] = None,
    published_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    published_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD")] = None,
) -> Response:
    filters = SearchFilters(
        published_from=_optional_day(published_from),
        published_to=_optional_day(published_to),
        categories=tuple(category or ()),
    )
    results = svc.search.search(q, limit=limit, offset=offset, mode=mode, filters=filters, sort=sort)
    return json_response(
        [search_item(item) for item in results.items], headers={"X-Search-Mode": results.mode}
    )


@router.get(
    "/api/papers/{arxiv_id:path}/similar",
    tags=["search"],
    summary="Papers similar to a paper (vector neighbours)",
)
def similar_papers(
    arxiv_id: str,
    svc=Depends(services),
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """Listed like search results; ``score`` is the cosine similarity. Empty without vectors."""
    items = svc.search.similar(arxiv_id, limit)
    return json_response([search_item(item) for item in items])


@router.get("/api/papers/{arxiv_id:path}", tags=["papers"], summary="One paper")
def paper(arxiv_id: str, svc=Depends(services)) -> Response:
    detail = svc.papers.paper(arxiv_id)
    return json_response(paper_flat(detail.paper, detail.feed_days, detail.extra))


@router.get("/healthz", tags=["ops"], summary="Liveness: database and index readable")
def healthz(svc=Depends(services)) -> Response:
    checks = {}
    try:
        checks["papers"] = svc.papers.counts()["papers"]
        checks["database"] = "ok"
    except Exception as exc:  # health must report, not raise
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["keyword_index_docs"] = svc.keyword.num_docs()
        checks["keyword_index"] = "ok"
    except Exception as exc:
        checks["keyword_index"] = f"error: {type(exc).__name__}"
    try:
        checks["vector_index_docs"] = svc.vectors.num_docs()
    except Exception as exc:  # semantic search degrades to keyword search: not unhealthy
        checks["vector_index"] = f"error: {type(exc).__name__}"
    healthy = checks["database"] == "ok" and checks["keyword_index"] == "ok"
    return json_response({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
