"""Keeps the vector index in step with the database by following ``papers.change_seq``.

``update_vector_index`` reads papers changed after the vector index's own cursor, embeds only
those whose title+abstract changed (a 64-bit content hash is stored with every vector, so
papers whose upvotes or flags changed, or whose vectors were imported from a GPU box, are not
re-embedded), removes hidden papers, and publishes a new generation every ``commit_every``
papers together with the cursor: a crash only repeats idempotent work.

``rebuild=True`` (or a changed model) builds a fresh generation that only becomes current at
the end; it checkpoints its progress, so an interrupted rebuild resumes where it stopped, and
it reuses the current generation's vectors for papers whose text is unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from paperfeed.db.search_store import changed_papers, latest_change_seq
from paperfeed.search.embed import DEFAULT_BATCH_SIZE, Embedder, document_text
from paperfeed.search.interfaces import IndexDocument
from paperfeed.search.vectors import Generation, VectorIndex, load_generation

log = logging.getLogger(__name__)

READ_BATCH = 512
COMMIT_EVERY = 4096


@dataclass
class VectorIndexReport:
    """What a vector index update did."""

    embedded: int
    reused: int
    removed: int
    cursor: int
    rebuilt: bool
    seconds: float

    @property
    def docs_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


def content_hash(text: str) -> int:
    """A stable 64-bit hash of the embedded text (decides whether a paper must be re-embedded)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def update_vector_index(
    engine: Engine,
    vector_index: VectorIndex,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    batch: int = READ_BATCH,
    embed_batch_size: int = DEFAULT_BATCH_SIZE,
    commit_every: int = COMMIT_EVERY,
    progress: Callable[[int, int], None] | None = None,
) -> VectorIndexReport:
    """Bring ``vector_index`` up to date with the database; returns counts and the new cursor.

    ``progress(done, total)`` is called after every read batch (``total`` counts change-log
    entries still to read, so it is an upper bound).
    """
    started = time.perf_counter()
    current = vector_index.current_path()
    previous: Generation | None = load_generation(current) if current is not None else None
    if previous is not None and previous.segments and previous.model != embedder.name:
        log.info("vector index model changed from %s to %s: rebuilding", previous.model, embedder.name)
        rebuild, previous = True, None
    if current is not None and vector_index.read_cursor(current) < 0:
        rebuild = True
    embedded = reused = removed = done = since_commit = 0
    with vector_index.writer(model=embedder.name, dim=embedder.dim, rebuild=rebuild) as writer:
        fresh = writer.rebuilding
        cursor = writer.cursor
        with engine.connect() as conn:
            total = max(latest_change_seq(conn) - cursor, 0)
        while True:
            with engine.connect() as conn:
                docs, last_seq = changed_papers(conn, cursor, batch)
            if not docs:
                break
            counts = _apply(writer, docs, embedder, previous if fresh else None, embed_batch_size)
            embedded += counts[0]
            reused += counts[1]
            removed += counts[2]
            done += len(docs)
            since_commit += counts[0] + counts[1] + counts[2]
            cursor = last_seq
            if since_commit >= commit_every:
                writer.checkpoint(cursor)  # publishes unless rebuilding
                since_commit = 0
            if progress is not None:
                progress(done, total)
        if fresh or writer.staged or cursor != writer.cursor or current is None:
            writer.commit(cursor)
    elapsed = time.perf_counter() - started
    log.info(
        "vector index updated embedded=%d reused=%d removed=%d cursor=%d rebuilt=%s seconds=%.2f",
        embedded,
        reused,
        removed,
        cursor,
        fresh,
        elapsed,
    )
    return VectorIndexReport(
        embedded=embedded, reused=reused, removed=removed, cursor=cursor, rebuilt=fresh, seconds=elapsed
    )


def _apply(
    writer,
    docs: list[IndexDocument],
    embedder: Embedder,
    previous: Generation | None,
    embed_batch_size: int,
) -> tuple[int, int, int]:
    """Stage one batch: removals for hidden papers, vectors for new or changed text."""
    hidden = [d.arxiv_id for d in docs if d.hidden]
    visible = [d for d in docs if not d.hidden]
    known = writer.known_hashes([d.arxiv_id for d in docs])
    gone = [i for i in hidden if i in known]
    writer.remove(gone)
    texts = {d.arxiv_id: document_text(d.title, d.abstract) for d in visible}
    hashes = {i: content_hash(t) for i, t in texts.items()}
    todo = [i for i in texts if known.get(i) != hashes[i]]
    reuse_ids: list[str] = []
    reuse_vectors: list[np.ndarray] = []
    if previous is not None and todo:
        for arxiv_id, (seg, row) in previous.lookup(todo).items():
            if int(seg.hashes[row]) == hashes[arxiv_id]:
                reuse_ids.append(arxiv_id)
                reuse_vectors.append(np.asarray(seg.vectors[row], dtype=np.float32))
    if reuse_ids:
        writer.upsert(reuse_ids, np.stack(reuse_vectors), [hashes[i] for i in reuse_ids])
    reused_set = set(reuse_ids)
    embed_ids = [i for i in todo if i not in reused_set]
    if embed_ids:
        vectors = embedder.embed_documents([texts[i] for i in embed_ids], batch_size=embed_batch_size)
        writer.upsert(embed_ids, vectors, [hashes[i] for i in embed_ids])
    return len(embed_ids), len(reuse_ids), len(gone)
