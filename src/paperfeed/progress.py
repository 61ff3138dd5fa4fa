"""Progress reporting for long CLI work: a rich bar on a terminal (with rate and time left when
the total is known), log lines otherwise (with the same rate and ETA)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("paperfeed.progress")


class Reporter:
    """``update(done, total=None, **info)`` — draws a bar on a TTY, logs every few seconds otherwise."""

    def __init__(self, label: str, *, tty: bool, every_seconds: float = 5.0) -> None:
        self.label = label
        self.tty = tty
        self.every_seconds = every_seconds
        self._last_log = 0.0
        self._started: float | None = None
        self._progress = None
        self._task = None

    def __enter__(self) -> Reporter:
        self._started = time.monotonic()
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None, info="")
        return self

    def update(self, done: int, total: int | None = None, **info: object) -> None:
        text = " ".join(f"{k}={v}" for k, v in info.items())
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total, info=text)
            return
        now = time.monotonic()
        if self._started is None:
            self._started = now
        if now - self._last_log >= self.every_seconds:
            self._last_log = now
            log.info(
                "%s progress done=%d%s%s %s",
                self.label,
                done,
                f" total={total}" if total else "",
                self._rate_eta(done, total, now),
                text,
            )

    def _rate_eta(self, done: int, total: int | None, now: float) -> str:
        elapsed = now - (self._started or now)
        if done <= 0 or elapsed <= 0:
            return ""
        rate = done / elapsed
        eta = f" eta={(total - done) / rate:.0f}s" if total and total > done else ""
        return f" rate={rate:.1f}/s{eta}"

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def reporter(label: str) -> Iterator[Reporter]:
    """A :class:`Reporter` that draws on stderr when stderr is a terminal."""
    with Reporter(label, tty=sys.stderr.isatty()) as rep:
        yield rep
