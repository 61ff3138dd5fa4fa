"""Bookkeeping of ingest runs: start, checkpoint (in the batch's own transaction), finish, resume."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import Connection, select, update

from paperfeed.db.models import IngestRun

runs_t = IngestRun.__table__


def start_run(conn: Connection, *, source: str, location: str, now: datetime) -> int:
    """Record a new running ingest and return its id."""
    return conn.execute(
        runs_t.insert()
        .values(source=source, location=location, status="running", started_at=now)
        .returning(runs_t.c.id)
    ).scalar_one()


def save_progress(conn: Connection, run_id: int, *, checkpoint: dict | None, counts: dict[str, int]) -> None:
    """Store counts and the resume checkpoint; call inside the batch's transaction."""
    values: dict = dict(counts)
    if checkpoint is not None:
        values["checkpoint"] = orjson.dumps(checkpoint).decode()
    conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))


def finish_run(
    conn: Connection, run_id: int, *, status: str, now: datetime, error: str | None = None
) -> None:
    """Mark a run done or failed."""
    conn.execute(
        update(runs_t).where(runs_t.c.id == run_id).values(status=status, finished_at=now, error=error)
    )


def resumable_checkpoint(conn: Connection, *, source: str, location: str) -> dict | None:
    """Checkpoint of the latest run for this input if it did not finish, else ``None``.

    Older unfinished runs are marked ``interrupted`` so they are resumed only once.
    """
    row = conn.execute(
        select(runs_t.c.id, runs_t.c.status, runs_t.c.checkpoint)
        .where(runs_t.c.source == source, runs_t.c.location == location)
        .order_by(runs_t.c.id.desc())
        .limit(1)
    ).first()
    if row is None or row.status == "done" or not row.checkpoint:
        return None
    conn.execute(update(runs_t).where(runs_t.c.id == row.id).values(status="interrupted"))
    return orjson.loads(row.checkpoint)
