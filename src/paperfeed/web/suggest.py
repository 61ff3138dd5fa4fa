"""``GET /api/papers/suggest?q=``: search-as-you-type suggestions for the header search box.

Keyword (BM25) index only — no embedding, so it answers in a few milliseconds — and only what a
suggestion list shows: id, one-line title, first authors. Must be registered before the
``/api/papers/{arxiv_id}`` route so ``suggest`` is not taken for a paper id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from paperfeed.web.deps import services
from paperfeed.web.responses import json_response

router = APIRouter()

MIN_CHARS = 2
DEFAULT_LIMIT = 8
SUGGEST_CACHE = "public, max-age=60"


def suggestions(svc, q: str, limit: int) -> list[dict]:
    """Top keyword hits for ``q`` as ``{id, title, authors}`` (empty for fewer than 2 characters)."""
    q = " ".join(q.split())
    if len(q) < MIN_CHARS:
        return []
    results = svc.search.search(q, limit=limit, mode="keyword", highlight=False)
    return [
        {"id": p.arxiv_id, "title": " ".join(p.title.split()), "authors": p.authors[:3]}
        for p in results.items
    ]


@router.get("/api/papers/suggest", tags=["search"], summary="Title suggestions while typing (keyword index)")
async def suggest(
    svc=Depends(services),
    q: Annotated[str, Query(max_length=1000, description="what has been typed so far")] = "",
    limit: Annotated[int, Query(ge=1, le=20)] = DEFAULT_LIMIT,
) -> Response:
    items = await run_in_threadpool(suggestions, svc, q, limit)
    return json_response(items, headers={"Cache-Control": SUGGEST_CACHE})
