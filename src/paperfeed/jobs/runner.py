"""Running scheduled jobs: :func:`run_job` (one job, once, under its lease) and :class:`Scheduler`.

Jobs:

* ``harvest`` — OAI-PMH harvest of every set in ``Settings.harvest_sets`` from the day before the
  last successful harvest (three days back the first time), then the index update;
* ``index`` — keyword index, then vectors (when semantic search is on);
* ``digest`` — :func:`paperfeed.mail.digests.send_digests` (daily + weekly; never sends twice).

A job runs only while this process holds its lease (``job_leases``), so several nodes may run the
scheduler (or cron) side by side: one of them runs each job, the others skip it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from paperfeed.clock import Clock, SystemClock
from paperfeed.config import Settings
from paperfeed.db import jobs_store
from paperfeed.errors import InvalidInput, PaperfeedError
from paperfeed.jobs.leases import Lease
from paperfeed.jobs.schedule import JOBS, PlannedRun, ScheduleConfig, next_run

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


@dataclass
class JobResult:
    """What one :func:`run_job` call did."""

    name: str
    ran: bool  # False: another holder has the lease, the job was skipped
    ok: bool
    lines: list[str] = field(default_factory=list)
    error: str | None = None
    holder: str | None = None
    seconds: float = 0.0


def update_indexes(settings: Settings, engine: Engine, *, vectors: bool = True) -> list[str]:
    """Bring the keyword index (and the vectors, when ``vectors`` and semantic search are on) up to date."""
    from paperfeed.search.indexer import update_keyword_index
    from paperfeed.search.keyword import TantivyKeywordIndex

    keyword = TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )
    result = update_keyword_index(
        engine, keyword, heap_mb=settings.index_writer_heap_mb, threads=settings.index_threads
    )
    lines = [
        f"keyword index: {result.indexed} papers indexed in {result.seconds:.1f}s, cursor {result.cursor}"
    ]
    if not vectors or not settings.semantic_search:
        return lines
    from paperfeed.search.embed_worker import Worker
    from paperfeed.search.semantic import configured_model_name, indexer_lock, load_embedder
    from paperfeed.search.vector_follower import follow_vectors
    from paperfeed.search.vectors import VectorIndex

    model = configured_model_name(settings)
    vector_index = VectorIndex(settings.index_dir)
    loaded = []

    def embedder():
        if not loaded:
            loaded.append(load_embedder(settings, bulk=True))
        return loaded[0]

    with indexer_lock(settings.index_dir) as held:
        if not held:
            lines.append("vector index: skipped (another process is embedding papers)")
            return lines
        worker = Worker(
            engine, model, embedder, claim_seconds=settings.embed_claim_seconds, reuse=vector_index
        )
        work = worker.run(until_done=True, wait_for_others=False)
        report = follow_vectors(engine, vector_index, model)
    lines.append(
        f"vector index: {work.embedded} embedded, {work.verified} unchanged, {work.reused} reused; "
        f"{report.added} added, {report.removed} removed in {work.seconds + report.seconds:.1f}s"
    )
    return lines


def harvest_sets(settings: Settings) -> list[str]:
    """The OAI sets of the harvest job (``harvest_sets``, comma-separated)."""
    return [s.strip() for s in settings.harvest_sets.split(",") if s.strip()]


def _harvest(settings: Settings, engine: Engine, clock: Clock, last_success: datetime | None) -> list[str]:
    from paperfeed.ingest.harvest import harvest_oai

    today = clock.now().astimezone(UTC).date()
    from_date: date = (last_success.date() if last_success else today - timedelta(days=2)) - timedelta(days=1)
    lines = []
    for set_spec in harvest_sets(settings) or [None]:
        report = harvest_oai(
            settings,
            engine,
            set_spec=set_spec,
            from_date=from_date,
            feature=settings.harvest_feature,
            clock=clock,
        )
        lines.append(
            f"harvest set={set_spec or '(all)'} from={from_date}: {report.pages} pages, "
            f"{report.records} records ({report.inserted} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.deleted} deleted skipped)"
        )
    return lines + update_indexes(settings, engine)


def _digest(settings: Settings, engine: Engine, clock: Clock) -> list[str]:
    from paperfeed.commands.digest import build_digest_service, send_lock
    from paperfeed.mail.digests import send_digests
    from paperfeed.mail.senders import close_sender, sender_from_settings

    service = build_digest_service(settings, engine, clock)
    sender = sender_from_settings(settings)
    with send_lock(settings):
        try:
            report = send_digests(service, sender)
        finally:
            close_sender(sender)
    lines = [
        f"{q.frequency}: {q.queued} digest(s) queued for {q.period or '(no period with papers)'}"
        for q in report.queued
    ]
    if report.delivery is not None:
        d = report.delivery
        lines.append(
            f"mail: {d.sent} sent, {d.retried} to retry later, {d.failed} failed, {d.skipped} skipped"
        )
    return lines


def run_job(
    name: str,
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock | None = None,
    holder: str | None = None,
    work: Callable[[], list[str]] | None = None,
) -> JobResult:
    """Run job ``name`` once now if this process can take its lease; records success or failure.

    ``work`` replaces the job's body (tests, ad-hoc jobs); domain errors are reported in the
    result (``ok=False``), anything else is recorded on the lease and re-raised.
    """
    if name not in JOBS:
        raise InvalidInput(f"unknown job {name!r} (jobs: {', '.join(JOBS)})")
    clock = clock or SystemClock()
    lease = Lease(engine, name, duration=settings.job_lease_seconds, holder=holder, clock=clock)
    started = time.perf_counter()
    with engine.connect() as conn:
        previous = jobs_store.get_lease(conn, name)
    if not lease.acquire():
        other = previous.holder if previous else "another process"
        return JobResult(name, ran=False, ok=True, lines=[f"{name}: skipped, lease held by {other}"])
    result = JobResult(name, ran=True, ok=False, holder=lease.holder)
    try:
        if work is not None:
            result.lines = work()
        elif name == "harvest":
            result.lines = _harvest(settings, engine, clock, previous.last_success_at if previous else None)
        elif name == "index":
            result.lines = update_indexes(settings, engine)
        else:
            result.lines = _digest(settings, engine, clock)
        result.ok = True
    except PaperfeedError as exc:
        result.error = exc.message
    except BaseException as exc:
        lease.release(success=False, error=f"{type(exc).__name__}: {exc}")
        raise
    result.seconds = time.perf_counter() - started
    lease.release(success=result.ok, error=result.error)
    log.info(
        "job %s %s in %.1fs", name, "succeeded" if result.ok else f"failed: {result.error}", result.seconds
    )
    return result


class Scheduler:
    """Runs the jobs when they are due (foreground loop; ``stop()`` from another thread ends it)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        clock: Clock | None = None,
        jobs: tuple[str, ...] = JOBS,
        echo: Echo | None = None,
        runner: Callable[[str], JobResult] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock or SystemClock()
        self.config = ScheduleConfig.from_settings(settings)
        self.jobs = jobs
        self.echo = echo or (lambda line: log.info("%s", line))
        self._runner = runner or (lambda job: run_job(job, settings, engine, clock=self.clock))
        self._stop = threading.Event()
        self._sleep = sleep or (lambda seconds: self._stop.wait(seconds))
        self.plan: dict[str, PlannedRun] = {}

    def stop(self) -> None:
        self._stop.set()

    def _plan_from(self, now: datetime) -> None:
        for job in self.jobs:
            planned = next_run(job, now, self.config)
            if planned is not None:
                self.plan[job] = planned

    def run(self, *, max_runs: int | None = None) -> int:
        """Loop until :meth:`stop` (or ``max_runs`` jobs ran); returns the number of runs."""
        self._plan_from(self.clock.now())
        runs = 0
        while not self._stop.is_set() and self.plan:
            planned = min(self.plan.values(), key=lambda p: (p.at, JOBS.index(p.job)))
            wait = (planned.at - self.clock.now()).total_seconds()
            if wait > 0:
                self._sleep(min(wait, 60.0))  # wake up regularly: clock jumps, stop requests
                continue
            try:
                result = self._runner(planned.job)
                for line in result.lines:
                    self.echo(f"{planned.job}: {line}" if result.ran else line)
                if result.error:
                    self.echo(f"{planned.job}: failed: {result.error}")
            except Exception as exc:  # keep the scheduler alive; the lease row has the error
                log.exception("job %s crashed", planned.job)
                self.echo(f"{planned.job}: crashed: {type(exc).__name__}: {exc}")
            runs += 1
            nxt = next_run(planned.job, max(planned.at, self.clock.now()), self.config)
            if nxt is None:
                self.plan.pop(planned.job, None)
            else:
                self.plan[planned.job] = nxt
            if max_runs is not None and runs >= max_runs:
                break
        return runs
