"""Entry points for ingesting files: pick the parser, resume an interrupted run, then index.

These are what the CLI verbs ``paperfeed ingest arxiv-snapshot|hf-daily`` and ``paperfeed demo``
call; they are plain functions so scripts and tests can use them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from paperfeed.clock import Clock, SystemClock
from paperfeed.config import Settings
from paperfeed.db.ingest_runs import resumable_checkpoint
from paperfeed.errors import InvalidInput
from paperfeed.ingest.hf_daily import read_hf_daily
from paperfeed.ingest.runner import IngestReport, OnError, run_ingest
from paperfeed.ingest.snapshot import read_snapshot

FileKind = Literal["arxiv-snapshot", "hf-daily"]
SOURCES: dict[str, str] = {"arxiv-snapshot": "snapshot", "hf-daily": "hf"}


def _file_identity(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def ingest_file(
    settings: Settings,
    engine: Engine,
    kind: FileKind,
    path: Path,
    *,
    clock: Clock | None = None,
    on_error: OnError = "skip",
    resume: bool = True,
    progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest ``path`` as ``kind`` into the database (the caller updates the indexes)."""
    if kind not in SOURCES:
        raise InvalidInput(f"unknown ingest source {kind!r}")
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"no such file or directory: {path}")
    source = SOURCES[kind]
    location = str(path.resolve())
    identity = _file_identity(path) if path.is_file() else {}
    skip = 0
    if resume and identity:
        with engine.begin() as conn:
            checkpoint = resumable_checkpoint(conn, source=source, location=location)
        if checkpoint and all(checkpoint.get(k) == v for k, v in identity.items()):
            skip = int(checkpoint.get("line", 0))
    if kind == "arxiv-snapshot":
        items = read_snapshot(path, skip=skip)
    else:
        items = read_hf_daily(path, ZoneInfo(settings.timezone), skip=skip)
    return run_ingest(
        engine,
        items,
        source=source,
        location=location,
        clock=clock or SystemClock(),
        on_error=on_error,
        batch_size=settings.ingest_batch_size,
        checkpoint_extra=identity,
        resumed_from_line=skip,
        progress=progress,
    )
