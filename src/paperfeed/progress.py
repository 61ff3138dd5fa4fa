"""Progress reporting for long CLI work: a rich bar on a terminal, log lines otherwise."""

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
        self._progress = None
        self._task = None

    def __enter__(self) -> Reporter:
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
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
        if now - self._last_log >= self.every_seconds:
            self._last_log = now
            log.info("%s progress done=%d%s %s", self.label, done, f" total={total}" if total else "", text)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def reporter(label: str) -> Iterator[Reporter]:
    """A :class:`Reporter` that draws on stderr when stderr is a terminal."""
    with Reporter(label, tty=sys.stderr.isatty()) as rep:
        yield rep
