"""Prometheus metrics at ``/metrics`` and readiness at ``/readyz``.

Request metrics come from a small ASGI middleware: a latency histogram and a counter per route
*template* (``/papers/{arxiv_id}``, never the raw path, so labels stay bounded), method and
status. They are per process; with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty,
writable folder shared by the workers) and every worker's numbers are summed at scrape time.
Instance gauges (papers, users, comments, index lag, mail outbox, vectors done / pending /
claimed) are read from the database at scrape time, so every worker reports the same values.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.db import ops_store
from paperfeed.ops.health import readiness
from paperfeed.search.semantic import configured_model_name
from paperfeed.search.vector_follower import follower_state
from paperfeed.web.deps import services
from paperfeed.web.responses import json_response

router = APIRouter()

REQUESTS = Counter("paperfeed_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "paperfeed_http_request_duration_seconds",
    "Time from request start to the end of the response body",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class MetricsMiddleware:
    """Times every HTTP request and counts it by route template, method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
            REQUESTS.labels(method, template, str(status)).inc()


class InstanceCollector:
    """Gauges read from the database and indexes when Prometheus scrapes."""

    def __init__(self, svc) -> None:
        self.svc = svc

    def collect(self):
        svc = self.svc
        model = configured_model_name(svc.settings)
        with svc.engine.connect() as conn:
            counts = ops_store.table_counts(conn)
            latest = ops_store.latest_change_seq(conn)
            outbox = ops_store.outbox_by_status(conn)
            vectors = ops_store.vector_progress(conn, model, now=datetime.now(UTC).replace(tzinfo=None))
        rows = GaugeMetricFamily("paperfeed_rows", "Rows per table", labels=["table"])
        for table, count in counts.items():
            rows.add_metric([table], count)
        yield rows
        lag = GaugeMetricFamily(
            "paperfeed_index_lag_changes",
            "Paper changes not yet in the index (database change_seq minus the index cursor)",
            labels=["index"],
        )
        keyword_cursor = _keyword_cursor(svc.keyword)
        if keyword_cursor is not None:
            lag.add_metric(["keyword"], max(latest - keyword_cursor, 0))
        try:
            vector_cursor = svc.vectors.cursor()
        except Exception:  # no vector index built yet
            vector_cursor = None
        if vector_cursor is not None:
            lag.add_metric(["vector"], max(latest - vector_cursor, 0))
        followed = _followed_vector_seq(svc.vectors)
        if followed is not None:
            lag.add_metric(["vector_db"], max(vectors["latest_vector_seq"] - followed, 0))
        yield lag
        embedding = GaugeMetricFamily(
            "paperfeed_vectors",
            "Visible papers by embedding state for the configured model: done (a vector computed or "
            "verified for the paper's latest change), pending, claimed by a live worker",
            labels=["state", "model"],
        )
        for state in ("done", "pending", "claimed"):
            embedding.add_metric([state, model], vectors[state])
        yield embedding
        mail = GaugeMetricFamily("paperfeed_mail_outbox", "Mail outbox rows per status", labels=["status"])
        for status in ("pending", "sent", "failed"):
            mail.add_metric([status], outbox.get(status, 0))
        yield mail


def _followed_vector_seq(vectors) -> int | None:
    try:
        return follower_state(vectors)[1]
    except Exception:  # no vector index, not following the database yet, or another index type
        return None


def _keyword_cursor(keyword) -> int | None:
    try:
        if not keyword.exists():
            return None
        return keyword.read_cursor(keyword.current_generation())
    except Exception:  # not a tantivy index (tests may inject others) or unreadable
        return None


@router.get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
def metrics(svc=Depends(services)) -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(InstanceCollector(svc))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz", tags=["ops"], summary="Readiness: database migrated and indexes readable")
def readyz(svc=Depends(services)) -> Response:
    state = readiness(svc.engine, svc.keyword)
    body = {"status": "ready" if state.ready else "not ready", "checks": state.checks}
    return json_response(body, status=200 if state.ready else 503)
