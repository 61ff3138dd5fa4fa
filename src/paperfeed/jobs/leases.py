"""Job leases: only one process (on any node) runs a given job at a time.

:class:`Lease` acquires the ``job_leases`` row atomically (``db.jobs_store.try_acquire``), renews
it from a background thread every third of its duration while the job runs, and releases it with
the outcome (``last_success_at`` / ``last_error``). A holder that dies stops renewing, so its lease
expires after ``duration`` seconds and another node may take the job over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from paperfeed.clock import Clock, SystemClock
from paperfeed.db import jobs_store
from paperfeed.db.engine import write_lock

log = logging.getLogger(__name__)


def default_holder() -> str:
    """A holder id unique to this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


class Lease:
    """One attempt to hold job ``name``; use :meth:`acquire` then :meth:`release` (or ``with``)."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        *,
        duration: float = 900.0,
        holder: str | None = None,
        clock: Clock | None = None,
        renew: bool = True,
    ) -> None:
        self.engine = engine
        self.name = name
        self.duration = duration
        self.holder = holder or default_holder()
        self.clock = clock or SystemClock()
        self.held = False
        self.lost = False
        self._renew = renew
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _expiry(self) -> datetime:
        return _naive(self.clock.now() + timedelta(seconds=self.duration))

    def acquire(self) -> bool:
        """Take the lease if nobody holds it (or theirs expired); starts renewing when taken."""
        with write_lock(self.engine), self.engine.begin() as conn:
            self.held = jobs_store.try_acquire(
                conn, self.name, self.holder, now=_naive(self.clock.now()), expires_at=self._expiry()
            )
        if self.held and self._renew:
            self._thread = threading.Thread(target=self._keep_alive, name=f"lease-{self.name}", daemon=True)
            self._thread.start()
        return self.held

    def renew(self) -> bool:
        """Push the expiry; ``False`` (and :attr:`lost`) when another holder took the lease over."""
        with write_lock(self.engine), self.engine.begin() as conn:
            still = jobs_store.renew(conn, self.name, self.holder, expires_at=self._expiry())
        if not still:
            self.lost = True
            log.warning("lease %s of %s was taken over by another holder", self.name, self.holder)
        return still

    def _keep_alive(self) -> None:
        while not self._stop.wait(max(0.05, self.duration / 3)):
            try:
                if not self.renew():
                    return
            except Exception:  # a database hiccup: try again next period
                log.exception("renewing lease %s failed", self.name)

    def release(self, *, success: bool, error: str | None = None) -> None:
        """Stop renewing and give the lease up, recording the job's outcome."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self.held:
            return
        with write_lock(self.engine), self.engine.begin() as conn:
            jobs_store.release(
                conn, self.name, self.holder, now=_naive(self.clock.now()), success=success, error=error
            )
        self.held = False
