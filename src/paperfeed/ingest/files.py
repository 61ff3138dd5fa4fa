"""Streaming line readers for plain and gzip files, with clear errors for damaged input."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from paperfeed.errors import InvalidInput


def is_gzip(path: Path) -> bool:
    """True when ``path`` starts with the gzip magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def open_lines(path: Path, *, skip: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, raw_line)`` from a plain or gzip file, 1-based, streaming.

    The first ``skip`` lines are read past (counted, not yielded). A truncated or corrupt gzip
    stream raises :class:`InvalidInput` naming the last good line.
    """
    if not path.exists():
        raise InvalidInput(f"no such file: {path}")
    if path.is_dir():
        raise InvalidInput(f"expected a file, got a directory: {path}")
    opener = gzip.open if is_gzip(path) else open
    line_no = 0
    try:
        with opener(path, "rb") as handle:
            for line_no, line in enumerate(handle, start=1):  # line_no is used after the loop
                if line_no <= skip:
                    continue
                yield line_no, line
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InvalidInput(
            f"{path}: damaged or truncated gzip data after line {line_no} ({exc})"
        ) from exc
