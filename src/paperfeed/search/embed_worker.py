"""Embedding workers: claim papers that lack a current vector, embed them, store the vectors.

The database is the source of truth for vectors (``paper_vectors``, see ``db.vectors_store``);
any number of workers on any number of machines share the work through claims:

* :func:`work_once` claims a batch (``claim_seconds`` lease), computes each paper's content hash
  (``content_hash(document_text(title, abstract))``), and
  - papers whose stored vector has that hash are only marked verified (upvotes, flags...);
  - papers found with that hash in a local vector index (``reuse``, e.g. a node's index from
    before vectors moved into the database) are copied without embedding;
  - the rest are embedded with the injected embedder (loaded only when a batch needs it);
  then writes the results and releases the claims in one transaction. While a batch is being
  computed a thread renews its claims every third of ``claim_seconds``; a worker killed
  mid-batch loses that batch only: its claims expire and another worker takes the papers.
* :func:`run_worker` loops ``work_once``; with ``until_done`` it returns once no paper needs a
  vector and no live claim is left (it waits for other workers' claims to finish or expire),
  otherwise it polls.
* :func:`embed_status`, :func:`export_vectors` and :func:`import_vectors` are the ``embed status``
  and ``embed --export/--import`` operations on the database (the ``.npz`` format of
  ``search.vectors``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from paperfeed.clock import Clock, SystemClock
from paperfeed.db import vectors_store as store
from paperfeed.db.engine import write_lock
from paperfeed.search.embed import DEFAULT_BATCH_SIZE, Embedder, EmbedderError, document_text
from paperfeed.search.vector_indexer import content_hash
from paperfeed.search.vectors import SCHEMA_VERSION, VectorIndex, VectorIndexError, read_vector_file

log = logging.getLogger(__name__)

DEFAULT_CLAIM_BATCH = 64
EmbedderSource = Callable[[], Embedder | None]


def worker_id() -> str:
    """A worker id unique to this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass
class WorkReport:
    """What one or more worker rounds did."""

    claimed: int = 0
    embedded: int = 0
    verified: int = 0
    reused: int = 0
    batches: int = 0
    seconds: float = 0.0
    stopped: bool = False  # the embedder could not be loaded

    def add(self, other: WorkReport) -> None:
        self.claimed += other.claimed
        self.embedded += other.embedded
        self.verified += other.verified
        self.reused += other.reused
        self.batches += other.batches
        self.stopped = self.stopped or other.stopped

    @property
    def docs_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


@dataclass
class Worker:
    """One embedding worker: which model it fills, how it gets an embedder, and its settings."""

    engine: Engine
    model: str
    embedder: EmbedderSource
    batch: int = DEFAULT_CLAIM_BATCH
    claim_seconds: float = 300.0
    embed_batch_size: int = DEFAULT_BATCH_SIZE
    reuse: VectorIndex | None = None
    clock: Clock = field(default_factory=SystemClock)
    name: str = field(default_factory=worker_id)
    _after: int = field(default=0, init=False, repr=False)

    def _now(self) -> datetime:
        return _naive(self.clock.now())

    def work_once(self) -> WorkReport:
        """Claim one batch, embed what needs it and store the results (see the module doc)."""
        started = time.perf_counter()
        claimed = self._claim()
        report = WorkReport(claimed=len(claimed), batches=1 if claimed else 0)
        if not claimed:
            return report
        try:
            with self._keeping_claims([p.paper_id for p in claimed]):
                results = self._compute(claimed, report)
            if results is None:
                self._release([p.paper_id for p in claimed])
                report.stopped = True
                return report
            with write_lock(self.engine), self.engine.begin() as conn:
                store.complete_batch(conn, self.model, self.name, results, now=self._now())
        except BaseException:
            self._release([p.paper_id for p in claimed])
            raise
        report.seconds = time.perf_counter() - started
        log.debug(
            "embed batch worker=%s claimed=%d embedded=%d verified=%d reused=%d",
            self.name,
            report.claimed,
            report.embedded,
            report.verified,
            report.reused,
        )
        return report

    @contextlib.contextmanager
    def _keeping_claims(self, paper_ids: list[int]) -> Iterator[None]:
        """Renew the batch's claims every third of ``claim_seconds`` while the body runs, so a
        slow batch keeps its papers and a dead worker's claims still expire quickly."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.claim_seconds / 3):
                now = self._now()
                try:
                    with write_lock(self.engine), self.engine.begin() as conn:
                        store.renew_claims(
                            conn,
                            self.model,
                            self.name,
                            paper_ids,
                            until=now + timedelta(seconds=self.claim_seconds),
                        )
                except Exception:  # the claims may expire; completing still stores the results
                    log.warning("could not renew the embedding claims of %s", self.name, exc_info=True)

        thread = threading.Thread(target=renew, name="embed-claims", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _claim(self) -> list[store.ClaimedPaper]:
        """Claim the next batch after the last paper this worker claimed, wrapping around to the
        start once nothing is left after it."""
        now = self._now()
        for after in (self._after, 0) if self._after else (0,):
            with write_lock(self.engine), self.engine.begin() as conn:
                claimed = store.claim_batch(
                    conn,
                    self.model,
                    self.name,
                    self.batch,
                    now=now,
                    until=now + timedelta(seconds=self.claim_seconds),
                    after_id=after,
                )
            if claimed:
                self._after = max(p.paper_id for p in claimed)
                return claimed
        self._after = 0
        return []

    def _compute(
        self, claimed: list[store.ClaimedPaper], report: WorkReport
    ) -> list[store.VectorResult] | None:
        results: list[store.VectorResult] = []
        todo: list[tuple[store.ClaimedPaper, str, int]] = []
        for paper in claimed:
            text = document_text(paper.title, paper.abstract)
            digest = content_hash(text)
            if paper.stored_hash == digest:
                results.append(store.VectorResult(paper.paper_id, paper.change_seq, digest, None, 0))
            else:
                todo.append((paper, text, digest))
        report.verified = len(results)
        todo = self._reuse(todo, results, report)
        if todo:
            embedder = self.embedder()
            if embedder is None:
                return None
            if embedder.name != self.model:
                raise VectorIndexError(f"the embedder makes {embedder.name!r} vectors, not {self.model!r}")
            vectors = embedder.embed_documents([t for _, t, _ in todo], batch_size=self.embed_batch_size)
            for (paper, _text, digest), vector in zip(todo, vectors, strict=True):
                results.append(
                    store.VectorResult(
                        paper.paper_id, paper.change_seq, digest, store.encode_vector(vector), embedder.dim
                    )
                )
            report.embedded = len(todo)
        return results

    def _reuse(
        self,
        todo: list[tuple[store.ClaimedPaper, str, int]],
        results: list[store.VectorResult],
        report: WorkReport,
    ) -> list[tuple[store.ClaimedPaper, str, int]]:
        """Take vectors with the right hash from the local index instead of embedding them."""
        if self.reuse is None or not todo:
            return todo
        generation = self.reuse.generation()
        if generation is None or generation.model != self.model:
            return todo
        found = generation.lookup([paper.arxiv_id for paper, _, _ in todo])
        rest = []
        for paper, text, digest in todo:
            hit = found.get(paper.arxiv_id)
            if hit is not None and int(hit[0].hashes[hit[1]]) == digest:
                vector = np.asarray(hit[0].vectors[hit[1]], dtype=np.float32)
                results.append(
                    store.VectorResult(
                        paper.paper_id, paper.change_seq, digest, store.encode_vector(vector), vector.shape[0]
                    )
                )
                report.reused += 1
            else:
                rest.append((paper, text, digest))
        return rest

    def _release(self, paper_ids: list[int]) -> None:
        try:
            with write_lock(self.engine), self.engine.begin() as conn:
                store.release_claims(conn, self.model, self.name, paper_ids)
        except Exception:  # the claims expire anyway
            log.warning("could not release embedding claims of %s", self.name, exc_info=True)

    def finished(self) -> bool:
        """Whether no paper needs a vector and no live claim is left (any worker's)."""
        with self.engine.connect() as conn:
            counts = self.counts(conn)
        return counts.pending == 0 and counts.claimed == 0

    def counts(self, conn) -> store.EmbedCounts:
        now = self._now()
        return store.embed_counts(conn, self.model, now=now, recent_since=now)

    def has_work(self) -> bool:
        """Whether a paper needs a vector and is not held by a live claim (cheap)."""
        with self.engine.connect() as conn:
            return store.has_work(conn, self.model, now=self._now())

    def run(
        self,
        *,
        until_done: bool = True,
        wait_for_others: bool = True,
        poll_seconds: float = 5.0,
        stop: threading.Event | None = None,
        max_papers: int | None = None,
        progress: Callable[[WorkReport], None] | None = None,
    ) -> WorkReport:
        """Work until ``stop`` is set, ``max_papers`` papers were handled, or (``until_done``)
        nothing is left: with ``wait_for_others`` that means no paper pending and no live claim
        of any worker, otherwise no paper left to claim. Without ``until_done`` an empty queue is
        polled every ``poll_seconds``."""
        total = WorkReport()
        started = time.perf_counter()
        stop = stop or threading.Event()
        while not stop.is_set():
            round_report = self.work_once()
            total.add(round_report)
            total.seconds = time.perf_counter() - started
            if progress is not None and round_report.claimed:
                progress(total)
            if round_report.stopped or (max_papers is not None and total.claimed >= max_papers):
                break
            if round_report.claimed:
                continue
            if until_done:
                if not wait_for_others or self.finished():
                    break
                stop.wait(min(poll_seconds, 1.0))  # other workers hold claims: wait for them
            else:
                stop.wait(poll_seconds)
        total.seconds = time.perf_counter() - started
        return total


# --------------------------------------------------------------------------- status
@dataclass(frozen=True)
class EmbedStatus:
    """``paperfeed embed status``: counts for the configured model and the recent rate."""

    model: str
    done: int
    pending: int
    claimed: int
    vectors: int
    rate_per_second: float
    window_seconds: float

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "done": self.done,
            "pending": self.pending,
            "claimed": self.claimed,
            "vectors": self.vectors,
            "rate_per_second": round(self.rate_per_second, 3),
            "rate_window_seconds": self.window_seconds,
        }


def embed_status(
    engine: Engine, model: str, *, clock: Clock | None = None, window_seconds: float = 600.0
) -> EmbedStatus:
    """Done / pending / claimed for ``model``; the rate counts vectors written in the window."""
    now = _naive((clock or SystemClock()).now())
    with engine.connect() as conn:
        counts = store.embed_counts(
            conn, model, now=now, recent_since=now - timedelta(seconds=window_seconds)
        )
    return EmbedStatus(
        model=model,
        done=counts.done,
        pending=counts.pending,
        claimed=counts.claimed,
        vectors=counts.vectors,
        rate_per_second=counts.recent / window_seconds,
        window_seconds=window_seconds,
    )


# --------------------------------------------------------------------------- export / import
def export_vectors(engine: Engine, model: str, path: Path) -> int:
    """Write every vector of ``model`` to an ``.npz`` (the ``VectorIndex.export_vectors`` format:
    ``ids``, float32 ``vectors``, uint64 ``hashes``, ``model``, ``dim``); returns the count."""
    ids: list[str] = []
    hashes: list[int] = []
    blobs: list[bytes] = []
    with engine.connect() as conn:
        dim = store.model_dim(conn, model) or 0
        for batch in store.iter_vectors(conn, model):
            ids.extend(row.arxiv_id for row in batch)
            hashes.extend(row.content_hash for row in batch)
            blobs.extend(row.vector for row in batch)
    vectors = store.decode_vectors(blobs, dim) if blobs else np.zeros((0, dim), np.float32)
    with open(path, "wb") as handle:
        np.savez(
            handle,
            ids=np.array(ids, dtype=str) if ids else np.array([], dtype="U1"),
            vectors=vectors,
            hashes=np.array(hashes, dtype=np.uint64),
            model=np.array(model),
            dim=np.array(dim, dtype=np.int64),
            schema=np.array(SCHEMA_VERSION, dtype=np.int64),
        )
        handle.flush()
        os.fsync(handle.fileno())
    return len(ids)


@dataclass(frozen=True)
class ImportReport:
    """What an import stored: vectors whose hash matches the paper's text (``current``), others
    (``stale``: stored, but workers embed those papers again), and unknown papers (skipped)."""

    current: int
    stale: int
    unknown: int


def import_vectors(
    engine: Engine,
    path: Path,
    *,
    expected_model: str,
    expected_dim: int | None = None,
    clock: Clock | None = None,
    batch: int = 5_000,
) -> ImportReport:
    """Load an export file into the database (same papers' rows of the model are replaced)."""
    ids, vectors, hashes, model, dim = read_vector_file(
        path, expected_model=expected_model, expected_dim=expected_dim
    )
    now = _naive((clock or SystemClock()).now())
    current = stale = unknown = 0
    for start in range(0, len(ids), batch):
        chunk = [str(i) for i in ids[start : start + batch]]
        with write_lock(engine), engine.begin() as conn:
            papers = store.papers_by_arxiv_id(conn, chunk)
            results = []
            for offset, arxiv_id in enumerate(chunk):
                paper = papers.get(arxiv_id)
                if paper is None:
                    unknown += 1
                    continue
                digest = int(hashes[start + offset])
                matches = content_hash(document_text(paper.title, paper.abstract)) == digest
                current += matches
                stale += not matches
                vector = np.asarray(vectors[start + offset], dtype=np.float32)
                vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
                results.append(
                    store.VectorResult(
                        paper.paper_id,
                        paper.change_seq if matches else 0,
                        digest,
                        store.encode_vector(vector),
                        dim,
                    )
                )
            store.import_vectors(conn, model, results, now=now)
    return ImportReport(current=current, stale=stale, unknown=unknown)


__all__ = [
    "EmbedStatus",
    "EmbedderError",
    "ImportReport",
    "WorkReport",
    "Worker",
    "embed_status",
    "export_vectors",
    "import_vectors",
    "worker_id",
]
