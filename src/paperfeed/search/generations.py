"""Generation folders with an atomically swapped ``current`` symlink (shared by the indexes).

An index lives in ``<root>/gen-N`` folders. Writers build or update a generation, then
``publish`` points ``<root>/current`` at it with an atomic rename of a fresh symlink, so a reader
sees either the old or the new generation, never a half-written one. Older generations are
deleted after the swap (readers holding open files keep working on Linux).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (renames, new files) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def generation_number(path: Path) -> int | None:
    """``N`` of a ``gen-N`` folder, ``None`` for anything else."""
    suffix = path.name[4:]
    return int(suffix) if path.name.startswith("gen-") and suffix.isdigit() else None


class GenerationFolders:
    """The ``gen-N`` folders under ``root`` and the ``current`` link between them.

    ``keep_newer(folder)`` may spare generations newer than the one being published from
    deletion (e.g. an interrupted rebuild that can be resumed).
    """

    def __init__(self, root: Path, *, keep_newer: Callable[[Path], bool] | None = None) -> None:
        self.root = Path(root)
        self.keep_newer = keep_newer

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def exists(self) -> bool:
        """True when a published generation is in place."""
        return self.current_link.exists()

    def current_path(self) -> Path | None:
        """The folder ``current`` points at, or ``None``."""
        return self.root / os.readlink(self.current_link) if self.exists() else None

    def new_dir(self) -> Path:
        """Create and return the next, empty ``gen-N`` folder (not yet current)."""
        self.root.mkdir(parents=True, exist_ok=True)
        numbers = [n for p in self.root.glob("gen-*") if (n := generation_number(p)) is not None]
        path = self.root / f"gen-{max(numbers, default=0) + 1}"
        path.mkdir()
        return path

    def publish(self, path: Path) -> None:
        """Atomically make ``path`` current, then delete the other generations."""
        fsync_dir(path)
        tmp_link = self.root / f".current-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        tmp_link.symlink_to(path.name)
        os.replace(tmp_link, self.current_link)
        fsync_dir(self.root)
        published = generation_number(path) or 0
        for old in self.root.glob("gen-*"):
            number = generation_number(old)
            if old.name == path.name or number is None:
                continue
            if number > published and self.keep_newer is not None and self.keep_newer(old):
                continue
            shutil.rmtree(old, ignore_errors=True)


class CurrentReader(Generic[T]):
    """What ``load(folder)`` makes of the current generation, for readers in any process.

    The ``current`` link is re-checked at most every ``refresh_seconds``: when it moved, the new
    generation is loaded; otherwise ``refresh(obj)`` (if given) lets the object catch up with
    commits made in place. A generation swapped in and deleted between reading the link and
    loading it is retried, so a reader never fails because a rebuild finished under it.
    """

    def __init__(
        self,
        folders: GenerationFolders,
        load: Callable[[Path], T],
        *,
        refresh: Callable[[T], None] | None = None,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.folders = folders
        self.load = load
        self.refresh = refresh
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._value: T | None = None
        self._name: str | None = None
        self._checked_at = 0.0

    def get(self) -> T | None:
        """The loaded current generation, or ``None`` when none is published."""
        now = time.monotonic()
        with self._lock:
            if self._value is not None and now - self._checked_at < self.refresh_seconds:
                return self._value
            self._checked_at = now
            for _attempt in range(3):
                if not self.folders.exists():
                    self._value = self._name = None
                    return None
                name = os.readlink(self.folders.current_link)
                if name == self._name and self._value is not None:
                    if self.refresh is not None:
                        self.refresh(self._value)
                    return self._value
                folder = self.folders.root / name
                try:
                    value = self.load(folder)
                except Exception:
                    if folder.exists():
                        raise
                    continue  # swapped and deleted while we read: look again
                self._value, self._name = value, name
                return value
            return self._value
