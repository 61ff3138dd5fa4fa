"""Streaming line readers for plain and gzip files, with clear errors for damaged input."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from paperfeed.errors import InvalidInput
from paperfeed.ingest.errors import BadRecord

if TYPE_CHECKING:
    from paperfeed.ingest.records import PaperRecord


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
        raise InvalidInput(f"{path}: damaged or truncated gzip data after line {line_no} ({exc})") from exc


def records_from_json_lines(
    path: Path, build: Callable[[dict, str], PaperRecord], *, skip: int = 0
) -> Iterator[tuple[int, PaperRecord | BadRecord]]:
    """Yield ``(line_no, record or BadRecord)`` for each non-blank JSON-object line of ``path``.

    ``build(obj, record_hash)`` turns one decoded object into a record; the hash is of the raw
    line, so an unchanged line always has an unchanged hash. Whatever ``build`` raises for bad
    data (``KeyError``, ``ValueError``, ``InvalidInput``, ...) becomes a :class:`BadRecord` naming
    the line. ``skip`` lines are passed over without parsing (resume after a checkpoint).
    """
    for line_no, line in open_lines(path, skip=skip):
        if not line.strip():
            continue
        where = f"line {line_no}"
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            yield line_no, build(obj, hashlib.blake2b(line, digest_size=12).hexdigest())
        except orjson.JSONDecodeError as exc:
            yield line_no, BadRecord(where, f"invalid JSON ({exc.msg})")
        except InvalidInput as exc:
            yield line_no, BadRecord(where, exc.message)
        except (KeyError, ValueError, TypeError, IndexError, SyntaxError, AttributeError) as exc:
            yield line_no, BadRecord(where, f"unusable record ({type(exc).__name__}: {exc})")
