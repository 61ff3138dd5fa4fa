"""``create_app(settings, ...)``: builds the ASGI app and wires its collaborators.

Collaborators (clock, database engine, keyword and vector indexes, embedder, arXiv client) are
injected so tests and benchmarks pass real local implementations instead of patching internals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from paperfeed import __version__
from paperfeed.clock import Clock, SystemClock
from paperfeed.community.accounts import AccountService
from paperfeed.community.comments import CommentService
from paperfeed.community.follows import FollowService
from paperfeed.community.library import LibraryService
from paperfeed.community.moderation import ModerationService
from paperfeed.community.profiles import ProfileService
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.community.submissions import SubmissionService
from paperfeed.community.votes import VoteService
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine
from paperfeed.ingest.arxiv_api import ArxivClient
from paperfeed.mail.digests import DigestService
from paperfeed.mail.interfaces import EmailSender
from paperfeed.mail.senders import sender_from_settings
from paperfeed.mail.subscriptions import SubscriptionService
from paperfeed.papers.service import PaperService
from paperfeed.personal.feed_tokens import FeedTokenService
from paperfeed.personal.recommend import RecommendationService
from paperfeed.search.embed import Embedder
from paperfeed.search.indexer import update_keyword_index
from paperfeed.search.interfaces import KeywordIndex
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.semantic import EmbedderProvider, shared_embedder_provider
from paperfeed.search.service import SearchService
from paperfeed.search.vectors import VectorIndex
from paperfeed.web import api, auth, errors, feeds, library, metrics, pages, personal, profiles, submit
from paperfeed.web import calendar as calendar_web
from paperfeed.web import comments as comments_web
from paperfeed.web import moderation as moderation_web
from paperfeed.web import speed as speed_web
from paperfeed.web import subscriptions as subscriptions_web
from paperfeed.web import suggest as suggest_web
from paperfeed.web.cache import ResponseCache
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
    vectors: VectorIndex
    embedder: EmbedderProvider
    accounts: AccountService
    votes: VoteService
    limiter: RateLimiter
    submissions: SubmissionService
    comments: CommentService
    moderation: ModerationService
    library: LibraryService
    profiles: ProfileService
    follows: FollowService
    recommendations: RecommendationService
    feed_tokens: FeedTokenService
    mailer: EmailSender
    subscriptions: SubscriptionService
    digests: DigestService
    response_cache: ResponseCache = field(default_factory=ResponseCache)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    keyword_index: KeywordIndex | None = None,
    arxiv_client: ArxivClient | None = None,
    vector_index: VectorIndex | None = None,
    embedder: Embedder | EmbedderProvider | None = None,
    mailer: EmailSender | None = None,
) -> FastAPI:
    """Build the web application for ``settings`` (read from the environment when omitted).

    ``embedder`` may be a built :class:`Embedder` or a provider; by default the configured model
    is loaded lazily, once per process, the first time a semantic or hybrid search needs it.
    """
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = engine or get_engine(settings)
    keyword = keyword_index or TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )
    vectors = vector_index or VectorIndex(settings.index_dir)
    if embedder is None:
        provider = shared_embedder_provider(settings)
    elif isinstance(embedder, EmbedderProvider):
        provider = embedder
    else:
        provider = EmbedderProvider.of(embedder)
    if not settings.semantic_search:
        provider = EmbedderProvider(None, enabled=False)
    papers = PaperService(engine, settings, clock)
    limiter = RateLimiter(engine, settings, clock)
    arxiv = arxiv_client or ArxivClient(
        settings.arxiv_api_url,
        min_interval=settings.arxiv_min_interval_seconds,
        timeout=settings.arxiv_timeout_seconds,
        retries=settings.arxiv_retries,
        backoff=settings.arxiv_backoff_seconds,
    )
    search = SearchService.from_settings(settings, keyword, papers, vectors=vectors, embedder=provider)
    recommendations = RecommendationService(engine, settings, clock, papers, search, vectors)
    mailer = mailer or sender_from_settings(settings)
    subscriptions = SubscriptionService(engine, settings, clock, limiter, mailer)
    services = Services(
        settings=settings,
        engine=engine,
        clock=clock,
        papers=papers,
        search=search,
        keyword=keyword,
        vectors=vectors,
        embedder=provider,
        accounts=AccountService(engine, settings, clock, limiter),
        votes=VoteService(engine, clock, limiter),
        limiter=limiter,
        submissions=SubmissionService(
            engine, settings, clock, papers, arxiv, after_store=_keyword_updater(engine, keyword, settings)
        ),
        comments=CommentService(engine, settings, clock, limiter),
        moderation=ModerationService(engine, clock, limiter),
        library=LibraryService(engine, clock),
        profiles=ProfileService(engine),
        follows=FollowService(engine, settings, clock),
        recommendations=recommendations,
        feed_tokens=FeedTokenService(engine, clock),
        mailer=mailer,
        subscriptions=subscriptions,
        digests=DigestService(engine, settings, clock, papers, subscriptions, recommendations),
    )
    app = FastAPI(
        title=f"{settings.site_name} API",
        version=__version__,
        description="Daily research papers: feeds, trending, search (Hugging Face papers API shapes).",
    )
    app.state.services = services
    errors.install(app)
    speed_web.install(app)  # gzip, immutable caching of versioned static files
    app.include_router(suggest_web.router)  # before api.router: /api/papers/suggest is no paper id
    app.include_router(comments_web.api_router)  # before api.router: /api/papers/{id}/comments
    app.include_router(comments_web.router)
    app.include_router(moderation_web.router)
    app.add_middleware(metrics.MetricsMiddleware)
    app.include_router(metrics.router)
    app.include_router(auth.api_router)
    app.include_router(submit.api_router)
    app.include_router(library.api_router)
    app.include_router(profiles.api_router)
    app.include_router(api.router)
    app.include_router(auth.router)
    app.include_router(submit.router)
    app.include_router(library.router)
    app.include_router(profiles.router)
    app.include_router(feeds.router)
    app.include_router(personal.api_router)
    app.include_router(personal.router)
    app.include_router(subscriptions_web.api_router)
    app.include_router(subscriptions_web.router)
    app.include_router(calendar_web.router)  # before pages.router: /papers/calendar is no paper id
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _keyword_updater(engine: Engine, keyword: KeywordIndex, settings: Settings) -> Callable[[], None] | None:
    """A callable that brings the keyword index up to date (one writer at a time in-process)."""
    if not isinstance(keyword, TantivyKeywordIndex):
        return None
    lock = threading.Lock()

    def update() -> None:
        with lock:
            update_keyword_index(engine, keyword, heap_mb=min(settings.index_writer_heap_mb, 64), threads=1)

    return update


def asgi_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory paperfeed.app:asgi_factory`` (settings from env)."""
    return create_app()
