"""Writing a whole instance (or its papers as citations) to a portable file, streamed.

:func:`export_instance` writes the JSON Lines format of :mod:`paperfeed.portability.format` from
one consistent read snapshot, in id-ordered chunks (bounded memory at any size).
:func:`export_citations` writes BibTeX or RIS through :mod:`paperfeed.papers.citations`.
:func:`open_output` opens a path (``.gz`` compresses) so a failed export never leaves a
half-written file behind: it writes ``PATH.partial`` and renames it at the end.
"""

from __future__ import annotations

import gzip
import io
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

import orjson
from sqlalchemy import Engine

from paperfeed.clock import Clock, SystemClock
from paperfeed.db import portability_store as store
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.portability import format as fmt

CHUNK = 1000


@dataclass
class ExportReport:
    """What an export wrote: records per type and the time it took."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return fmt.encode_time(value)
    if isinstance(value, date):
        return fmt.encode_date(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _encode(obj: dict) -> bytes:
    # datetimes go through ``_default`` (naive ISO text, no ``+00:00``) rather than orjson's own
    return orjson.dumps(obj, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME) + b"\n"


class _Writer:
    """Writes encoded lines to a binary or text stream."""

    def __init__(self, out: IO) -> None:
        self.out = out
        self.text = isinstance(out, io.TextIOBase)

    def write(self, data: bytes) -> None:
        self.out.write(data.decode() if self.text else data)


def export_instance(
    engine: Engine,
    out: BinaryIO | TextIO,
    *,
    include_password_hashes: bool = False,
    clock: Clock | None = None,
    chunk_size: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write every portable record of the instance to ``out``; see :mod:`paperfeed.portability.format`.

    Password hashes are left out unless ``include_password_hashes``. ``progress(done, total)`` is
    called after every chunk.
    """
    started = time.perf_counter()
    writer = _Writer(out)
    report = ExportReport(counts=dict.fromkeys(fmt.RECORD_TYPES, 0))
    now = (clock or SystemClock()).now()
    with store.snapshot(engine) as conn:
        total = sum(store.table_counts(conn).values())
        writer.write(_encode(fmt.header(now, store.schema_revision(conn))))
        sources: dict[str, Iterator[list[dict]]] = {
            fmt.USER: store.iter_users(conn, chunk_size, with_password_hash=include_password_hashes),
            fmt.PAPER: store.iter_papers(conn, chunk_size),
            fmt.VOTE: store.iter_votes(conn, chunk_size),
            fmt.COMMENT: store.iter_comments(conn, chunk_size),
            fmt.COMMENT_REPORT: store.iter_comment_reports(conn, chunk_size),
            fmt.LIBRARY_ITEM: store.iter_library_items(conn, chunk_size),
            fmt.FOLLOW: store.iter_follows(conn, chunk_size),
            fmt.SUBSCRIPTION: store.iter_subscriptions(conn, chunk_size),
        }
        done = 0
        for kind, chunks in sources.items():
            for rows in chunks:
                writer.write(b"".join(_encode({"type": kind} | row) for row in rows))
                report.counts[kind] += len(rows)
                done += len(rows)
                if progress:
                    progress(done, total)
    writer.write(_encode({"type": fmt.END, "counts": report.counts}))
    report.seconds = time.perf_counter() - started
    return report


def export_citations(
    engine: Engine,
    out: BinaryIO | TextIO,
    *,
    style: str,
    library_user: str | None = None,
    chunk_size: int = CHUNK,
) -> ExportReport:
    """Write visible papers (all, or ``library_user``'s library) as ``bibtex`` or ``ris`` citations."""
    from paperfeed.papers.citations import Citation, to_bibtex, to_ris

    if style not in ("bibtex", "ris"):
        raise InvalidInput(f"unknown citation format {style!r} (use bibtex or ris)")
    started = time.perf_counter()
    writer = _Writer(out)
    count = 0

    def citations(conn) -> Iterator[Citation]:
        nonlocal count
        for rows in store.iter_citation_rows(conn, chunk_size, library_user=library_user):
            count += len(rows)
            for r in rows:
                yield Citation(
                    arxiv_id=r["arxiv_id"],
                    title=r["title"],
                    authors=r["authors"],
                    published_at=r["published_at"],
                    abstract=r["abstract"] if style == "ris" else "",  # BibTeX does not use it
                    primary_category=r["primary_category"],
                    doi=r["doi"],
                    journal_ref=r["journal_ref"],
                )

    with store.snapshot(engine) as conn:
        if library_user is not None and not store.user_exists(conn, library_user):
            raise NotFound(f"no user {library_user!r} on this instance")
        if style == "bibtex":
            # one call: citation keys must be unique across the whole file
            writer.write(to_bibtex(citations(conn)).encode())
        else:  # RIS records are independent: stream them a chunk at a time
            batch: list[Citation] = []
            first = True
            for citation in citations(conn):
                batch.append(citation)
                if len(batch) >= chunk_size:
                    writer.write(("" if first else "\r\n").encode() + to_ris(batch).encode())
                    batch, first = [], False
            if batch:
                writer.write(("" if first else "\r\n").encode() + to_ris(batch).encode())
    return ExportReport(counts={"paper": count}, seconds=time.perf_counter() - started)


@contextmanager
def open_output(path: Path | None, stdout: BinaryIO) -> Iterator[BinaryIO]:
    """A binary stream for ``path`` (gzip when it ends in ``.gz``), or ``stdout`` when ``None``.

    The file is written as ``PATH.partial`` and renamed into place only when the block succeeds.
    """
    if path is None:
        yield stdout
        stdout.flush()
        return
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"expected a file path, got a directory: {path}")
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb", buffering=1 << 20) as raw:
            if path.name.endswith(".gz"):
                with gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=raw, mtime=0) as handle:
                    yield handle
            else:
                yield raw
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
