"""Drives one ingest: batches records into transactions, applies the bad-record policy,
checkpoints for resume, reports progress.

Every batch is stored in one transaction together with the run's checkpoint, so a crash loses
at most the batch in flight, never half a paper, and a re-run resumes after the last batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.db.ingest_runs import finish_run, save_progress, start_run
from paperfeed.db.ingest_store import BatchStats, store_batch
from paperfeed.errors import IngestAborted, PaperfeedError
from paperfeed.ingest.errors import BadRecord
from paperfeed.ingest.records import PaperRecord

log = logging.getLogger(__name__)

OnError = Literal["skip", "abort"]
MAX_REPORTED_ERRORS = 20


@dataclass
class IngestReport:
    """The outcome of an ingest run."""

    run_id: int
    source: str
    location: str
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    feed_entries: int = 0
    bad_records: int = 0
    resumed_from_line: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def counts(self) -> dict[str, int]:
        return {
            "records_read": self.records,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "feed_entries": self.feed_entries,
            "bad_records": self.bad_records,
        }


def run_ingest(
    engine: Engine,
    items: Iterable[tuple[int, PaperRecord | BadRecord]],
    *,
    source: str,
    location: str,
    clock: Clock,
    on_error: OnError = "skip",
    batch_size: int = 2000,
    checkpoint_extra: dict | None = None,
    resumed_from_line: int = 0,
    progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Store every record from ``items``; returns the report (raises :class:`IngestAborted`)."""
    started = time.perf_counter()
    with engine.begin() as conn:
        run_id = start_run(conn, source=source, location=location, now=_naive(clock))
    report = IngestReport(
        run_id=run_id, source=source, location=location, resumed_from_line=resumed_from_line
    )
    batch: list[PaperRecord] = []
    last_line = resumed_from_line  # line of the newest record handed to the current batch

    def flush() -> None:
        nonlocal batch
        checkpoint = dict(checkpoint_extra or {}, line=last_line) if last_line else None
        with engine.begin() as conn:
            stats = store_batch(conn, batch, source=source, now=_naive(clock)) if batch else BatchStats()
            report.inserted += stats.inserted
            report.updated += stats.updated
            report.unchanged += stats.unchanged
            report.feed_entries += stats.feed_entries
            save_progress(conn, run_id, checkpoint=checkpoint, counts=report.counts())
        batch = []
        report.seconds = time.perf_counter() - started
        if progress:
            progress(report)

    try:
        for line_no, item in items:
            if isinstance(item, BadRecord):
                report.bad_records += 1
                message = f"{item.position}: {item.reason}"
                if len(report.errors) < MAX_REPORTED_ERRORS:
                    report.errors.append(message)
                log.warning("bad record skipped=%s %s", on_error == "skip", message)
                if on_error == "abort":
                    # the checkpoint stays before this line, so a re-run meets it again
                    raise IngestAborted(
                        f"{location}: {message} (stopped: records before it are stored, none after it)"
                    )
                last_line = line_no or last_line
                continue
            last_line = line_no or last_line
            report.records += 1
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        flush()
    except PaperfeedError as exc:
        # bad input (abort policy, damaged gzip): keep every whole record read before it
        flush()
        with engine.begin() as conn:
            finish_run(conn, run_id, status="failed", now=_naive(clock), error=exc.message[:2000])
        raise
    except BaseException as exc:
        with engine.begin() as conn:
            save_progress(conn, run_id, checkpoint=None, counts=report.counts())
            finish_run(conn, run_id, status="failed", now=_naive(clock), error=str(exc)[:2000])
        raise
    with engine.begin() as conn:
        finish_run(conn, run_id, status="done", now=_naive(clock))
    report.seconds = time.perf_counter() - started
    return report


def _naive(clock: Clock):
    return clock.now().replace(tzinfo=None)
