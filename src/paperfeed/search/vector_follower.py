"""Keeps a node's local vector index a replica of the database's vectors, without any model.

:func:`follow_vectors` reads two change logs after the cursors saved in the index's
``cursor.json``: vector rows of the model with ``vector_seq > vector_seq cursor`` (new or
re-embedded vectors, imports) and papers with ``change_seq > change_seq cursor`` (edits, hides).
For every paper touched it looks at the paper *now*: a visible paper whose stored vector was
computed from its current title+abstract (same content hash) gets that vector; a hidden paper,
or one whose vector is missing or stale (its text changed and no worker re-embedded it yet),
is removed, so a stale vector is never served. Generations are published with both cursors,
atomically, every ``commit_every`` changes (a crash repeats idempotent work only).

An index without the database cursor (built before vectors moved into the database) or of
another model is rebuilt: a fresh generation, filled from the vector log only (the paper
cursor starts at the change_seq read before), that becomes current at the end and resumes
from its checkpoint when interrupted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from paperfeed.db import vectors_store as store
from paperfeed.db.search_store import latest_change_seq
from paperfeed.search.embed import document_text
from paperfeed.search.vector_indexer import content_hash
from paperfeed.search.vectors import VectorIndex, VectorWriter

log = logging.getLogger(__name__)

READ_BATCH = 2048
COMMIT_EVERY = 16_384
VECTOR_CURSOR = "vector_seq"
DEFAULT_DIM = 384


@dataclass
class FollowReport:
    """What a follower run did."""

    added: int
    removed: int
    change_seq: int
    vector_seq: int
    rebuilt: bool
    seconds: float


def follower_state(index: VectorIndex) -> tuple[int, int] | None:
    """``(change_seq, vector_seq)`` cursors of the current generation, ``None`` when the index
    has no database cursor (missing, or built by the local embedder)."""
    state = index.cursor_state()
    if VECTOR_CURSOR not in state:
        return None
    return int(state.get("change_seq", 0)), int(state[VECTOR_CURSOR])


def follower_behind(engine: Engine, index: VectorIndex, model: str) -> bool:
    """Whether :func:`follow_vectors` has anything to do (cheap: two indexed max() reads)."""
    with engine.connect() as conn:
        latest_vector = store.latest_model_vector_seq(conn, model)
        latest_paper = latest_change_seq(conn)
    state = follower_state(index)
    if state is None:
        return latest_vector > 0 or (index.exists() and index.num_docs() > 0)
    stored = index.model()
    if stored is not None and stored != model:
        return True
    return latest_paper > state[0] or latest_vector > state[1]


def follow_vectors(
    engine: Engine,
    index: VectorIndex,
    model: str,
    *,
    rebuild: bool = False,
    batch: int = READ_BATCH,
    commit_every: int = COMMIT_EVERY,
    progress: Callable[[int, int], None] | None = None,
) -> FollowReport:
    """Bring ``index`` up to date with the database's ``model`` vectors (see the module doc).

    ``progress(done, total)`` is called after every read batch (``total`` is an upper bound).
    """
    started = time.perf_counter()
    state = follower_state(index)
    if state is None or (index.model() not in (None, model)):
        rebuild = True
    with engine.connect() as conn:
        dim = store.model_dim(conn, model)
        latest_paper = latest_change_seq(conn)
        latest_vector = store.latest_model_vector_seq(conn, model)
    if dim is None and not index.exists():
        return FollowReport(0, 0, 0, 0, False, time.perf_counter() - started)
    if dim is None and state is None and index.model() == model and index.num_docs():
        # vectors embedded here before they moved into the database: keep serving them until a
        # worker (``paperfeed index`` / ``embed work`` on this node) has copied them over
        log.warning(
            "the database holds no %s vectors yet; keeping this node's %d local ones (run "
            "`paperfeed embed work` or `paperfeed index` here to move them into the database)",
            model,
            index.num_docs(),
        )
        return FollowReport(0, 0, 0, 0, False, time.perf_counter() - started)
    dim = dim or (index.generation().dim if index.model() == model else None) or DEFAULT_DIM
    added = removed = done = since_commit = 0
    with index.writer(model=model, dim=dim, rebuild=rebuild) as writer:
        fresh = writer.rebuilding
        if fresh:
            resumed = writer.resumed and VECTOR_CURSOR in writer.cursor_extra
            vector_seq = int(writer.cursor_extra[VECTOR_CURSOR]) if resumed else 0
            change_seq = writer.cursor if resumed else latest_paper
        else:
            change_seq, vector_seq = state
        start = (change_seq, vector_seq)
        total = max(latest_vector - vector_seq, 0) + (0 if fresh else max(latest_paper - change_seq, 0))
        while True:
            with engine.connect() as conn:
                vector_ids, next_vector = store.vectors_changed(conn, model, vector_seq, batch)
                paper_ids, next_change = (
                    ([], change_seq) if fresh else store.papers_changed(conn, change_seq, batch)
                )
                if not vector_ids and not paper_ids:
                    break
                states = store.vector_states(conn, model, vector_ids + paper_ids)
            counts = _apply(writer, states, set(vector_ids), dim)
            added += counts[0]
            removed += counts[1]
            since_commit += counts[0] + counts[1]
            done += len(vector_ids) + len(paper_ids)
            vector_seq, change_seq = next_vector, next_change
            if since_commit >= commit_every:
                writer.checkpoint(change_seq, extra={VECTOR_CURSOR: vector_seq})
                since_commit = 0
            if progress is not None:
                progress(done, total)
        if fresh or writer.staged or (change_seq, vector_seq) != start:
            writer.commit(change_seq, extra={VECTOR_CURSOR: vector_seq})
    elapsed = time.perf_counter() - started
    log.info(
        "vector index followed the database added=%d removed=%d change_seq=%d vector_seq=%d rebuilt=%s "
        "seconds=%.2f",
        added,
        removed,
        change_seq,
        vector_seq,
        fresh,
        elapsed,
    )
    return FollowReport(added, removed, change_seq, vector_seq, fresh, elapsed)


def _apply(
    writer: VectorWriter, states: list[store.VectorState], new_vectors: set[int], dim: int
) -> tuple[int, int]:
    """Stage one batch: serve current vectors, drop hidden, missing and stale ones."""
    known = writer.known_hashes([s.arxiv_id for s in states])
    keep: dict[str, store.VectorState] = {}
    drop: list[str] = []
    for state in states:
        current = (
            not state.hidden
            and state.vector is not None
            and state.dim == dim
            and state.content_hash == content_hash(document_text(state.title, state.abstract))
        )
        if not current:
            if state.arxiv_id in known:
                drop.append(state.arxiv_id)
        elif state.paper_id in new_vectors or known.get(state.arxiv_id) != state.content_hash:
            keep[state.arxiv_id] = state
    writer.remove(drop)
    if keep:
        ids = list(keep)
        vectors = store.decode_vectors([keep[i].vector for i in ids], dim)
        writer.upsert(ids, vectors, [keep[i].content_hash for i in ids])
    return len(keep), len(drop)
