"""Live harvesting from arXiv: OAI-PMH (``paperfeed ingest oai``) and the Atom API (``ingest arxiv``).

:func:`harvest_oai` follows resumption tokens page by page. Each page is stored with
``store_batch`` **in one transaction together with the run's checkpoint** (the next token and the
page count) in ``ingest_runs``, so a killed harvest loses at most the page in flight and a re-run
of the same harvest (same URL, format, set, from, until) continues with the stored token instead
of requesting the stored pages again.

Harvested papers become searchable but are not featured on the daily feed, unless ``feature`` is
set: then papers in their first version are featured on their announcement day (the record's OAI
datestamp, the day arXiv published it).

:func:`ingest_arxiv_search` pages through an Atom API ``search_query`` (newest submissions first)
and stops at ``since``; it stores through the file ingest runner (one transaction per page).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from paperfeed.clock import Clock, SystemClock
from paperfeed.config import Settings
from paperfeed.db.ingest_runs import finish_run, resumable_checkpoint, save_progress, start_run
from paperfeed.db.ingest_store import store_batch
from paperfeed.errors import InvalidInput
from paperfeed.ingest.arxiv_api import ArxivClient
from paperfeed.ingest.oai_pmh import METADATA_PREFIXES, OaiClient, OaiError, OaiProtocolError, OaiRecord
from paperfeed.ingest.records import FeedRecord, PaperRecord
from paperfeed.ingest.runner import IngestReport, run_ingest

log = logging.getLogger(__name__)
OAI_SOURCE = "oai"
ARXIV_SEARCH_SOURCE = "arxiv_api"


@dataclass
class HarvestReport:
    """The outcome of one OAI-PMH harvest (one set)."""

    run_id: int
    location: str
    pages: int = 0
    records: int = 0
    deleted: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    feed_entries: int = 0
    resumed_from_page: int = 0
    complete_list_size: int | None = None
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "records_read": self.records,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "feed_entries": self.feed_entries,
            "bad_records": 0,
        }


def oai_client(settings: Settings) -> OaiClient:
    """An :class:`OaiClient` for ``settings.oai_url`` with the configured politeness."""
    return OaiClient(
        settings.oai_url,
        min_interval=settings.oai_min_interval_seconds,
        timeout=settings.oai_timeout_seconds,
        retries=settings.oai_retries,
        backoff=settings.oai_backoff_seconds,
        max_retry_after=settings.oai_max_retry_after_seconds,
    )


def harvest_location(
    base_url: str, metadata_prefix: str, set_spec: str | None, from_date: date | None, until_date: date | None
) -> str:
    """The identity of a harvest in ``ingest_runs.location`` (what a re-run must match to resume)."""
    params = {"metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if from_date:
        params["from"] = from_date.isoformat()
    if until_date:
        params["until"] = until_date.isoformat()
    return f"{base_url}?{urlencode(params)}"


def _featured(item: OaiRecord, tz: ZoneInfo) -> PaperRecord:
    record = item.record
    if item.is_new and item.datestamp is not None:
        start = datetime.combine(item.datestamp, dtime(0, 0), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
        record.feed = FeedRecord(feed_date=item.datestamp, featured_at=start)
    return record


def harvest_oai(
    settings: Settings,
    engine: Engine,
    *,
    set_spec: str | None = None,
    from_date: date | None = None,
    until_date: date | None = None,
    metadata_prefix: str | None = None,
    feature: bool = False,
    resume: bool = True,
    clock: Clock | None = None,
    client: OaiClient | None = None,
    progress: Callable[[HarvestReport], None] | None = None,
) -> HarvestReport:
    """Harvest ``ListRecords`` into the database, checkpointing after every page."""
    prefix = metadata_prefix or settings.oai_metadata_prefix
    if prefix not in METADATA_PREFIXES:
        raise InvalidInput(f"unsupported metadata format {prefix!r} (use {' or '.join(METADATA_PREFIXES)})")
    if from_date and until_date and from_date > until_date:
        raise InvalidInput(f"--from {from_date} is after --until {until_date}")
    clock = clock or SystemClock()
    tz = ZoneInfo(settings.timezone)
    own_client = client is None
    client = client or oai_client(settings)
    location = harvest_location(client.base_url, prefix, set_spec, from_date, until_date)
    started = time.perf_counter()
    token: str | None = None
    pages_done = 0
    with engine.begin() as conn:
        checkpoint = resumable_checkpoint(conn, source=OAI_SOURCE, location=location) if resume else None
        if checkpoint and checkpoint.get("token"):
            token, pages_done = str(checkpoint["token"]), int(checkpoint.get("pages", 0))
        run_id = start_run(conn, source=OAI_SOURCE, location=location, now=_naive(clock))
        if token:  # carried over at once, so a run killed before its first page still resumes
            save_progress(conn, run_id, checkpoint=checkpoint, counts={})
    report = HarvestReport(run_id=run_id, location=location, pages=pages_done, resumed_from_page=pages_done)
    if token:
        log.info("resuming harvest %s after page %d", location, pages_done)
    try:
        arguments = {"metadata_prefix": prefix, "set_spec": set_spec, "from_date": from_date}
        for page in client.pages(token=token, until_date=until_date, **arguments):
            records = [_featured(item, tz) if feature else item.record for item in page.records]
            report.pages += 1
            report.records += len(records)
            report.deleted += page.deleted
            report.complete_list_size = page.complete_list_size or report.complete_list_size
            checkpoint = {"token": page.token, "pages": report.pages, "deleted": report.deleted}
            with engine.begin() as conn:
                stats = store_batch(conn, records, source=OAI_SOURCE, now=_naive(clock))
                report.inserted += stats.inserted
                report.updated += stats.updated
                report.unchanged += stats.unchanged
                report.feed_entries += stats.feed_entries
                save_progress(conn, run_id, checkpoint=checkpoint, counts=report.counts())
            report.seconds = time.perf_counter() - started
            if progress:
                progress(report)
    except OaiError as exc:
        with engine.begin() as conn:
            if isinstance(exc, OaiProtocolError) and exc.oai_code == "badResumptionToken":
                # the stored token is dead: forget it, so the next run starts the harvest over
                forget = {"token": None, "pages": 0, "expired_token": checkpoint and checkpoint.get("token")}
                save_progress(conn, run_id, checkpoint=forget, counts=report.counts())
            finish_run(conn, run_id, status="failed", now=_naive(clock), error=exc.message[:2000])
        raise
    finally:
        if own_client:
            client.close()
    with engine.begin() as conn:
        finish_run(conn, run_id, status="done", now=_naive(clock))
    report.seconds = time.perf_counter() - started
    return report


def arxiv_client(settings: Settings) -> ArxivClient:
    """An :class:`ArxivClient` for ``settings.arxiv_api_url`` with the configured politeness."""
    return ArxivClient(
        settings.arxiv_api_url,
        min_interval=settings.arxiv_min_interval_seconds,
        timeout=settings.arxiv_timeout_seconds,
        retries=settings.arxiv_retries,
        backoff=settings.arxiv_backoff_seconds,
    )


def ingest_arxiv_search(
    settings: Settings,
    engine: Engine,
    *,
    query: str | None = None,
    category: str | None = None,
    since: date | None = None,
    max_results: int | None = None,
    page_size: int = 100,
    clock: Clock | None = None,
    client: ArxivClient | None = None,
    progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Store the papers an Atom API search finds, newest first, down to ``since`` / ``max_results``."""
    if (query is None) == (category is None):
        raise InvalidInput("give exactly one of --query or --category")
    search_query = query if query is not None else f"cat:{category}"
    if not search_query.strip():
        raise InvalidInput("the search query is empty")
    if max_results is not None and max_results < 1:
        raise InvalidInput("--max must be at least 1")
    page_size = max(1, min(page_size, max_results or page_size))
    own_client = client is None
    client = client or arxiv_client(settings)

    def items() -> Iterator[tuple[int, PaperRecord]]:
        start, taken = 0, 0
        while True:
            feed = client.search(search_query, start=start, max_results=page_size)
            older_seen = False
            for entry in feed.entries:
                published = entry.record.published_at
                if since is not None and published is not None and published.date() < since:
                    older_seen = True  # sorted newest first: everything after this is older too
                    continue
                taken += 1
                yield taken, entry.record
                if max_results is not None and taken >= max_results:
                    return
            start += len(feed.entries)
            total = feed.total_results
            if older_seen or not feed.entries or (total is not None and start >= total):
                return

    try:
        return run_ingest(
            engine,
            items(),
            source=ARXIV_SEARCH_SOURCE,
            location=f"{client.base_url}?{urlencode({'search_query': search_query})}",
            clock=clock or SystemClock(),
            batch_size=page_size,
            progress=progress,
        )
    finally:
        if own_client:
            client.close()


def _naive(clock: Clock) -> datetime:
    return clock.now().astimezone(UTC).replace(tzinfo=None)
