"""``create_app(settings, ...)``: builds the ASGI app and wires its collaborators.

Collaborators (clock, database engine, keyword index) are injected so tests and benchmarks
pass real local implementations instead of patching internals.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from paperfeed import __version__
from paperfeed.clock import Clock, SystemClock
from paperfeed.community.accounts import AccountService
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.community.votes import VoteService
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine
from paperfeed.papers.service import PaperService
from paperfeed.search.interfaces import KeywordIndex
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.service import SearchService
from paperfeed.web import api, auth, errors, feeds, pages
from paperfeed.web.templating import STATIC_DIR


@dataclass
class Services:
    """Everything a request handler may use, built once per app."""

    settings: Settings
    engine: Engine
    clock: Clock
    papers: PaperService
    search: SearchService
    keyword: KeywordIndex
    accounts: AccountService
    votes: VoteService
    limiter: RateLimiter


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    keyword_index: KeywordIndex | None = None,
) -> FastAPI:
    """Build the web application for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = engine or get_engine(settings)
    keyword = keyword_index or TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )
    papers = PaperService(engine, settings, clock)
    limiter = RateLimiter(engine, settings, clock)
    services = Services(
        settings=settings,
        engine=engine,
        clock=clock,
        papers=papers,
        search=SearchService(keyword, papers, max_query_chars=settings.search_max_query_chars),
        keyword=keyword,
        accounts=AccountService(engine, settings, clock, limiter),
        votes=VoteService(engine, clock, limiter),
        limiter=limiter,
    )
    app = FastAPI(
        title=f"{settings.site_name} API",
        version=__version__,
        description="Daily research papers: feeds, trending, search (Hugging Face papers API shapes).",
    )
    app.state.services = services
    errors.install(app)
    app.include_router(auth.api_router)
    app.include_router(api.router)
    app.include_router(auth.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def asgi_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory paperfeed.app:asgi_factory`` (settings from env)."""
    return create_app()
