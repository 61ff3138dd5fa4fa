"""Semantic-search plumbing: the lazily loaded embedder, a query-vector cache and the
background vector indexer.

* :class:`EmbedderProvider` builds the configured embedder on first use (never at import time),
  once per process and thread-safely (:func:`shared_embedder_provider`). When the model cannot be
  loaded it remembers the error and answers ``None``, so search falls back to keyword search.
* :class:`QueryVectorCache` keeps the vectors of recent queries (a small LRU).
* :class:`BackgroundVectorIndexer` is the thread ``paperfeed serve`` starts: every
  ``interval`` seconds it embeds papers that need a vector as one more embedding worker
  (``search.embed_worker``: claims in the database) and brings the local vector index up to
  date from the database (``search.vector_follower``). An exclusive lock file
  (``<index_dir>/vector-indexer.lock``) makes sure only one such thread runs per data directory,
  whatever the number of server processes or a ``paperfeed index`` from cron.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.db.vectors_store import has_work
from paperfeed.search.embed import DEFAULT_MODEL_ID, Embedder, OnnxEmbedder
from paperfeed.search.vectors import VectorIndex

log = logging.getLogger(__name__)

LOCK_NAME = "vector-indexer.lock"
DEFAULT_MODEL_DIM = 384


def configured_model_name(settings: Settings) -> str:
    """The name the configured model's vectors carry, without loading the model."""
    if settings.embedding_model_dir is None:
        return DEFAULT_MODEL_ID
    return f"onnx:{Path(settings.embedding_model_dir).expanduser().resolve().name}"


def load_embedder(settings: Settings, *, device: str | None = None, bulk: bool = False) -> Embedder:
    """Build the configured embedder now (raises :class:`EmbedderError` when it cannot).

    ``device`` (``cpu`` or ``cuda``) overrides ``settings.embedding_device``. ``bulk`` is for
    embedding many papers (``embed work``, ``index``, the ``index`` job): it runs on
    :func:`bulk_threads` threads; otherwise the embedder serves queries beside web requests
    (``embedding_threads``). Idle threads never busy-wait: letting them spin measured no faster
    for bulk work (bench/embed_bench.py, docs/benchmarks.md). See :func:`runtime_for`.
    """
    return OnnxEmbedder(
        settings.embedding_model_dir,
        max_length=settings.embedding_max_tokens,
        threads=bulk_threads(settings) if bulk else settings.embedding_threads,
        device=device or settings.embedding_device,
        runtime=runtime_for(settings, bulk=bulk),
    )


def runtime_for(settings: Settings, *, bulk: bool) -> str:
    """``PAPERFEED_EMBEDDING_RUNTIME=auto`` means OpenVINO for bulk embedding (3× the documents
    per core) and onnxruntime for queries, where OpenVINO is no faster (one short query, one
    thread: p50 4.0 vs 3.8 ms, p99 8.6 vs 5.4 ms; docs/search.md). An explicit runtime is used
    for both."""
    if settings.embedding_runtime == "auto" and not bulk:
        return "onnxruntime"
    return settings.embedding_runtime


def bulk_threads(settings: Settings) -> int:
    """Threads of a bulk embedder: ``embedding_bulk_threads``, 0 = every core."""
    return settings.embedding_bulk_threads or len(os.sched_getaffinity(0)) or 1


class EmbedderProvider:
    """Builds an embedder on the first :meth:`get` and then returns the same one.

    ``get()`` answers ``None`` when semantic search is off or the model failed to load (the
    error is logged once and kept in :attr:`error`).
    """

    def __init__(self, factory: Callable[[], Embedder] | None, *, enabled: bool = True) -> None:
        self._factory = factory
        self.enabled = enabled and factory is not None
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()
        self._tried = False
        self.error: str | None = None

    @classmethod
    def of(cls, embedder: Embedder) -> EmbedderProvider:
        """A provider around an already built embedder (tests, benchmarks)."""
        provider = cls(lambda: embedder)
        provider._embedder, provider._tried = embedder, True
        return provider

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def get(self) -> Embedder | None:
        if not self.enabled:
            return None
        if self._tried:
            return self._embedder
        with self._lock:
            if not self._tried:
                try:
                    self._embedder = self._factory()
                except Exception as exc:  # any load failure means "no semantic search"
                    self.error = str(exc)
                    log.warning("embedding model unavailable, semantic search falls back to keyword: %s", exc)
                self._tried = True
        return self._embedder


_PROVIDERS: dict[tuple, EmbedderProvider] = {}
_PROVIDERS_LOCK = threading.Lock()


def shared_embedder_provider(settings: Settings) -> EmbedderProvider:
    """The process-wide provider for ``settings``' model (one model in memory per process)."""
    key = (
        str(settings.embedding_model_dir),
        settings.embedding_max_tokens,
        settings.embedding_threads,
        settings.embedding_runtime,
        settings.semantic_search,
    )
    with _PROVIDERS_LOCK:
        provider = _PROVIDERS.get(key)
        if provider is None:
            provider = EmbedderProvider(lambda: load_embedder(settings), enabled=settings.semantic_search)
            _PROVIDERS[key] = provider
        return provider


class QueryVectorCache:
    """A small thread-safe LRU of query vectors, keyed by (model, query text)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, embedder: Embedder, query: str) -> np.ndarray:
        key = (embedder.name, query)
        with self._lock:
            vector = self._items.get(key)
            if vector is not None:
                self._items.move_to_end(key)
                return vector
        vector = embedder.embed_query(query)
        vector.setflags(write=False)
        with self._lock:
            self._items[key] = vector
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return vector

    def __len__(self) -> int:
        return len(self._items)


@contextlib.contextmanager
def indexer_lock(index_dir: Path):
    """Yield ``True`` holding the instance-wide embedder lock, ``False`` if another holds it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / LOCK_NAME, "a+")  # noqa: SIM115 - closed below
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def vectors_behind(engine: Engine, vector_index: VectorIndex, model: str | None = None) -> bool:
    """Whether a paper needs a ``model`` vector (work for an embedding worker) or the local index
    is behind the database's vectors (work for the follower); cheap, and needs no model."""
    from paperfeed.search.vector_follower import follower_behind

    model = model or DEFAULT_MODEL_ID
    with engine.connect() as conn:
        work = has_work(conn, model, now=datetime.now(UTC).replace(tzinfo=None))
    return work or follower_behind(engine, vector_index, model)


class BackgroundVectorIndexer:
    """A daemon thread that keeps vectors up to date (see the module doc): each round embeds
    what needs a vector as one more worker (claims in the database, so it shares the work with
    ``paperfeed embed work`` processes on any machine) and brings the local index up to date
    from the database every ``follow_every`` papers and at the end."""

    def __init__(
        self,
        engine: Engine,
        vector_index: VectorIndex,
        provider: EmbedderProvider,
        index_dir: Path,
        *,
        interval: float = 60.0,
        model: str | None = None,
        claim_seconds: float = 300.0,
        follow_every: int = 1024,
    ) -> None:
        self.engine = engine
        self.model = model or DEFAULT_MODEL_ID
        self.vector_index = vector_index
        self.provider = provider
        self.index_dir = Path(index_dir)
        self.interval = interval
        self.claim_seconds = claim_seconds
        self.follow_every = follow_every
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One round; returns whether it did anything (False: nothing to do, or locked)."""
        from paperfeed.search.embed_worker import Worker
        from paperfeed.search.keyword import IndexBusy
        from paperfeed.search.vector_follower import follow_vectors

        if not vectors_behind(self.engine, self.vector_index, self.model):
            return False
        with indexer_lock(self.index_dir) as held:
            if not held:
                log.debug("another process is embedding; skipping this round")
                return False
            worker = Worker(
                self.engine,
                self.model,
                self.provider.get,
                claim_seconds=self.claim_seconds,
                reuse=self.vector_index,
            )
            try:
                while not self._stop.is_set():
                    report = worker.run(
                        until_done=True, wait_for_others=False, stop=self._stop, max_papers=self.follow_every
                    )
                    follow_vectors(self.engine, self.vector_index, self.model)
                    if report.stopped or report.claimed < self.follow_every:
                        break
            except IndexBusy:
                return False
        self.runs += 1
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep serving; try again next round
                log.exception("background vector indexing failed")
            self._stop.wait(self.interval)

    def start(self) -> BackgroundVectorIndexer:
        self._thread = threading.Thread(target=self._loop, name="vector-indexer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
