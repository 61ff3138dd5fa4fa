"""SQL for paper vectors in the database (``paper_vectors``) and the embedding work queue
(``embed_claims``).

* **Work.** A paper needs embedding for a model when it is visible and has no vector row for
  that model, or its row was computed/verified for an older ``papers.change_seq``
  (``paper_vectors.paper_seq < papers.change_seq``). :func:`claim_batch` takes up to ``limit``
  such papers that no live claim holds: on PostgreSQL the candidate papers are locked with
  ``FOR NO KEY UPDATE SKIP LOCKED`` (concurrent workers skip each other's candidates without
  blocking votes or ingest for long), and the claims are written with a conditional upsert
  (``ON CONFLICT ... DO UPDATE ... WHERE claimed_until <= now``) that only returns the papers this
  worker won; a claim whose ``claimed_until`` passed (a dead worker) is taken over (live workers
  renew theirs with :func:`renew_claims` while they embed). On SQLite the
  transaction starts with a write (expired claims are deleted), so it holds the single writer
  lock from its first statement and the select + insert cannot race.
* **Results.** :func:`complete_batch` writes new vectors (each with the next ``vector_change``
  counter value, so nodes follow them by a cursor), bumps ``paper_seq`` of rows whose text hash
  was unchanged (no re-embedding), and deletes the worker's claims, all in the caller's one
  transaction. A row is never overwritten by a result computed for an older ``change_seq``.
* **Followers** read vector rows changed after a ``vector_seq`` cursor and papers changed after a
  ``change_seq`` cursor, then the current state of those papers (:func:`vector_states`).

Content hashes are unsigned 64-bit values in Python and stored as signed ``BIGINT``
(:func:`to_signed` / :func:`to_unsigned`). Vectors are ``dim`` little-endian float16 values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, and_, bindparam, case, delete, false, func, or_, select, update

from paperfeed.db.models import EmbedClaim, Paper, PaperVector
from paperfeed.db.sequences import current_value, next_change_seqs
from paperfeed.db.upsert import insert_for

papers_t = Paper.__table__
vectors_t = PaperVector.__table__
claims_t = EmbedClaim.__table__
VECTOR_CHANGE = "vector_change"
_CHUNK = 900  # ids per IN (...) list


# --------------------------------------------------------------------------- encoding
def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed value a ``BIGINT`` column can hold."""
    value = int(value)
    return value - (1 << 64) if value >= (1 << 63) else value


def to_unsigned(value: int) -> int:
    """The inverse of :func:`to_signed`."""
    value = int(value)
    return value + (1 << 64) if value < 0 else value


def encode_vector(vector: np.ndarray) -> bytes:
    """A vector as little-endian float16 bytes (half the size of float32, cosine error ~1e-3)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def decode_vectors(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """A ``(len(blobs), dim)`` float32 matrix from float16 blobs."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    raw = np.frombuffer(b"".join(bytes(b) for b in blobs), dtype="<f2")
    return raw.reshape(len(blobs), dim).astype(np.float32)


# --------------------------------------------------------------------------- work queue
@dataclass(frozen=True, slots=True)
class ClaimedPaper:
    """A paper a worker claimed: its text, the ``change_seq`` it was read at, and the content
    hash of the vector already stored for the model (``None`` when there is none)."""

    paper_id: int
    arxiv_id: str
    title: str
    abstract: str
    change_seq: int
    stored_hash: int | None


@dataclass(frozen=True, slots=True)
class VectorResult:
    """What a worker computed for one claimed paper: ``vector`` is ``None`` when the stored
    vector's hash matched (only its verified ``change_seq`` moves)."""

    paper_id: int
    paper_seq: int
    content_hash: int
    vector: bytes | None
    dim: int


def _needs_vector():
    return and_(
        papers_t.c.hidden == false(),
        or_(vectors_t.c.paper_id.is_(None), vectors_t.c.paper_seq < papers_t.c.change_seq),
    )


def _work_join(model: str):
    return papers_t.outerjoin(
        vectors_t, and_(vectors_t.c.paper_id == papers_t.c.id, vectors_t.c.model == model)
    ).outerjoin(claims_t, and_(claims_t.c.paper_id == papers_t.c.id, claims_t.c.model == model))


def claim_batch(
    conn: Connection,
    model: str,
    worker: str,
    limit: int,
    *,
    now: datetime,
    until: datetime,
    after_id: int = 0,
) -> list[ClaimedPaper]:
    """Claim up to ``limit`` papers that need a vector for ``model`` (see the module doc), in
    paper id order from ``after_id`` on (a worker continues where its last claim ended instead of
    walking past every paper that already has a vector)."""
    if conn.dialect.name == "sqlite":
        # the first statement writes: SQLite's writer lock is held from here to the commit
        conn.execute(delete(claims_t).where(claims_t.c.model == model, claims_t.c.claimed_until <= now))
    query = (
        select(
            papers_t.c.id,
            papers_t.c.arxiv_id,
            papers_t.c.title,
            papers_t.c.abstract,
            papers_t.c.change_seq,
            vectors_t.c.content_hash,
        )
        .select_from(_work_join(model))
        .where(
            papers_t.c.id > after_id,
            _needs_vector(),
            or_(claims_t.c.paper_id.is_(None), claims_t.c.claimed_until <= now),
        )
        .order_by(papers_t.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=papers_t, skip_locked=True, key_share=True)
    rows = conn.execute(query).all()
    if not rows:
        return []
    insert = insert_for(conn)
    stmt = insert(claims_t).values(
        [{"paper_id": r.id, "model": model, "worker": worker, "claimed_until": until} for r in rows]
    )
    won = set(
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["paper_id", "model"],
                set_={"worker": stmt.excluded.worker, "claimed_until": stmt.excluded.claimed_until},
                where=claims_t.c.claimed_until <= now,
            ).returning(claims_t.c.paper_id)
        ).scalars()
    )
    return [
        ClaimedPaper(
            paper_id=r.id,
            arxiv_id=r.arxiv_id,
            title=r.title,
            abstract=r.abstract,
            change_seq=r.change_seq,
            stored_hash=None if r.content_hash is None else to_unsigned(r.content_hash),
        )
        for r in rows
        if r.id in won
    ]


def complete_batch(
    conn: Connection, model: str, worker: str, results: Sequence[VectorResult], *, now: datetime
) -> int:
    """Store a batch's vectors, mark unchanged ones verified and release the worker's claims
    on these papers; returns how many vectors were written. Call inside one transaction."""
    results = sorted(results, key=lambda r: r.paper_id)
    fresh = [r for r in results if r.vector is not None]
    verified = [r for r in results if r.vector is None]
    if fresh:
        _write_rows(conn, model, fresh, now=now, only_newer=True)
    if verified:
        conn.execute(
            update(vectors_t)
            .where(
                vectors_t.c.paper_id == bindparam("b_paper"),
                vectors_t.c.model == model,
                vectors_t.c.content_hash == bindparam("b_hash"),
                vectors_t.c.paper_seq < bindparam("b_seq"),
            )
            .values(paper_seq=bindparam("b_seq")),
            [
                {"b_paper": r.paper_id, "b_hash": to_signed(r.content_hash), "b_seq": r.paper_seq}
                for r in verified
            ],
        )
    release_claims(conn, model, worker, [r.paper_id for r in results])
    return len(fresh)


def _write_rows(
    conn: Connection, model: str, results: Sequence[VectorResult], *, now: datetime, only_newer: bool
) -> None:
    """Upsert vector rows, each with the next ``vector_change`` value; ``only_newer`` keeps a row
    computed for a later ``change_seq`` than the one offered."""
    seqs = next_change_seqs(conn, len(results), VECTOR_CHANGE)
    insert = insert_for(conn)
    stmt = insert(vectors_t).values(
        [
            {
                "paper_id": r.paper_id,
                "model": model,
                "content_hash": to_signed(r.content_hash),
                "dim": r.dim,
                "vector": r.vector,
                "paper_seq": r.paper_seq,
                "vector_seq": seq,
                "updated_at": now,
            }
            for r, seq in zip(results, seqs, strict=True)
        ]
    )
    columns = ("content_hash", "dim", "vector", "paper_seq", "vector_seq", "updated_at")
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["paper_id", "model"],
            set_={name: getattr(stmt.excluded, name) for name in columns},
            where=(vectors_t.c.paper_seq <= stmt.excluded.paper_seq) if only_newer else None,
        )
    )


def release_claims(conn: Connection, model: str, worker: str, paper_ids: Sequence[int] | None = None) -> None:
    """Delete ``worker``'s claims (all of them, or those on ``paper_ids``)."""
    base = delete(claims_t).where(claims_t.c.model == model, claims_t.c.worker == worker)
    if paper_ids is None:
        conn.execute(base)
        return
    for start in range(0, len(paper_ids), _CHUNK):
        conn.execute(base.where(claims_t.c.paper_id.in_(list(paper_ids[start : start + _CHUNK]))))


def renew_claims(
    conn: Connection, model: str, worker: str, paper_ids: Sequence[int], *, until: datetime
) -> int:
    """Push the expiry of ``worker``'s claims on ``paper_ids``; returns how many it still holds."""
    held = 0
    for start in range(0, len(paper_ids), _CHUNK):
        result = conn.execute(
            update(claims_t)
            .where(
                claims_t.c.model == model,
                claims_t.c.worker == worker,
                claims_t.c.paper_id.in_(list(paper_ids[start : start + _CHUNK])),
            )
            .values(claimed_until=until)
        )
        held += result.rowcount
    return held


def has_work(conn: Connection, model: str, *, now: datetime) -> bool:
    """Whether any visible paper needs a vector for ``model`` and is not claimed."""
    query = (
        select(papers_t.c.id)
        .select_from(_work_join(model))
        .where(_needs_vector(), or_(claims_t.c.paper_id.is_(None), claims_t.c.claimed_until <= now))
        .order_by(papers_t.c.id)
        .limit(1)
    )
    return conn.execute(query).first() is not None


@dataclass(frozen=True, slots=True)
class EmbedCounts:
    """Embedding progress for one model: visible papers with a vector verified for their latest
    change (``done``), waiting (``pending``), held by a live claim (``claimed``), all vector rows
    of the model (``vectors``) and rows written since the ``recent`` cut-off."""

    done: int
    pending: int
    claimed: int
    vectors: int
    recent: int

    @property
    def total(self) -> int:
        return self.done + self.pending + self.claimed


def embed_counts(conn: Connection, model: str, *, now: datetime, recent_since: datetime) -> EmbedCounts:
    """Status counts for ``model`` (full scans: meant for status commands and scrapes)."""
    visible = conn.execute(
        select(func.count()).select_from(papers_t).where(papers_t.c.hidden == false())
    ).scalar_one()
    done = conn.execute(
        select(func.count())
        .select_from(papers_t.join(vectors_t, vectors_t.c.paper_id == papers_t.c.id))
        .where(
            vectors_t.c.model == model,
            papers_t.c.hidden == false(),
            vectors_t.c.paper_seq >= papers_t.c.change_seq,
        )
    ).scalar_one()
    claimed = conn.execute(
        select(func.count())
        .select_from(claims_t.join(papers_t, papers_t.c.id == claims_t.c.paper_id))
        .where(claims_t.c.model == model, claims_t.c.claimed_until > now, papers_t.c.hidden == false())
    ).scalar_one()
    vectors, recent = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((vectors_t.c.updated_at >= recent_since, 1), else_=0)), 0),
        ).where(vectors_t.c.model == model)
    ).one()
    claimed = min(claimed, max(visible - done, 0))
    return EmbedCounts(
        done=done,
        pending=max(visible - done - claimed, 0),
        claimed=claimed,
        vectors=vectors,
        recent=int(recent),
    )


# --------------------------------------------------------------------------- followers
def latest_vector_seq(conn: Connection) -> int:
    """The newest ``vector_change`` value handed out (0 before the first vector)."""
    return current_value(conn, VECTOR_CHANGE)


def latest_model_vector_seq(conn: Connection, model: str) -> int:
    """The highest ``vector_seq`` of ``model``'s rows (0 when none; uses the model/seq index)."""
    query = select(func.max(vectors_t.c.vector_seq)).where(vectors_t.c.model == model)
    return conn.execute(query).scalar() or 0


def vectors_changed(conn: Connection, model: str, after_seq: int, limit: int) -> tuple[list[int], int]:
    """Paper ids of up to ``limit`` vector rows of ``model`` with ``vector_seq > after_seq``, in
    sequence order, and the last sequence read (``after_seq`` when none)."""
    rows = conn.execute(
        select(vectors_t.c.paper_id, vectors_t.c.vector_seq)
        .where(vectors_t.c.model == model, vectors_t.c.vector_seq > after_seq)
        .order_by(vectors_t.c.vector_seq)
        .limit(limit)
    ).all()
    return [r.paper_id for r in rows], (rows[-1].vector_seq if rows else after_seq)


def papers_changed(conn: Connection, after_seq: int, limit: int) -> tuple[list[int], int]:
    """Ids of up to ``limit`` papers with ``change_seq > after_seq`` in order, and the last seq."""
    rows = conn.execute(
        select(papers_t.c.id, papers_t.c.change_seq)
        .where(papers_t.c.change_seq > after_seq)
        .order_by(papers_t.c.change_seq)
        .limit(limit)
    ).all()
    return [r.id for r in rows], (rows[-1].change_seq if rows else after_seq)


@dataclass(frozen=True, slots=True)
class VectorState:
    """A paper as a follower needs it: visibility, text, and the stored vector (if any)."""

    paper_id: int
    arxiv_id: str
    title: str
    abstract: str
    hidden: bool
    content_hash: int | None
    dim: int | None
    vector: bytes | None


def vector_states(conn: Connection, model: str, paper_ids: Sequence[int]) -> list[VectorState]:
    """The current state of these papers and of their ``model`` vectors (unknown ids omitted)."""
    out: list[VectorState] = []
    ids = sorted(set(paper_ids))
    join = papers_t.outerjoin(
        vectors_t, and_(vectors_t.c.paper_id == papers_t.c.id, vectors_t.c.model == model)
    )
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(
                papers_t.c.id,
                papers_t.c.arxiv_id,
                papers_t.c.title,
                papers_t.c.abstract,
                papers_t.c.hidden,
                vectors_t.c.content_hash,
                vectors_t.c.dim,
                vectors_t.c.vector,
            )
            .select_from(join)
            .where(papers_t.c.id.in_(ids[start : start + _CHUNK]))
        ).all()
        out.extend(
            VectorState(
                paper_id=r.id,
                arxiv_id=r.arxiv_id,
                title=r.title,
                abstract=r.abstract,
                hidden=bool(r.hidden),
                content_hash=None if r.content_hash is None else to_unsigned(r.content_hash),
                dim=r.dim,
                vector=None if r.vector is None else bytes(r.vector),
            )
            for r in rows
        )
    return out


def model_dim(conn: Connection, model: str) -> int | None:
    """The dimension of ``model``'s stored vectors (``None`` while there are none)."""
    return conn.execute(select(vectors_t.c.dim).where(vectors_t.c.model == model).limit(1)).scalar()


# --------------------------------------------------------------------------- export / import
@dataclass(frozen=True, slots=True)
class StoredVector:
    """One exported row: the paper's arXiv id, the content hash and the float16 vector."""

    arxiv_id: str
    content_hash: int
    vector: bytes


def iter_vectors(conn: Connection, model: str, batch: int = 10_000) -> Iterator[list[StoredVector]]:
    """Every vector row of ``model``, in batches (keyset pagination by paper id)."""
    after = -1
    while True:
        rows = conn.execute(
            select(papers_t.c.id, papers_t.c.arxiv_id, vectors_t.c.content_hash, vectors_t.c.vector)
            .select_from(vectors_t.join(papers_t, papers_t.c.id == vectors_t.c.paper_id))
            .where(vectors_t.c.model == model, vectors_t.c.paper_id > after)
            .order_by(vectors_t.c.paper_id)
            .limit(batch)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        yield [StoredVector(r.arxiv_id, to_unsigned(r.content_hash), bytes(r.vector)) for r in rows]


@dataclass(frozen=True, slots=True)
class PaperText:
    """What an import needs to know about a paper to judge a vector's hash."""

    paper_id: int
    title: str
    abstract: str
    change_seq: int


def papers_by_arxiv_id(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, PaperText]:
    """Id, text and ``change_seq`` of the papers with these arXiv ids (unknown ones omitted)."""
    out: dict[str, PaperText] = {}
    for start in range(0, len(arxiv_ids), _CHUNK):
        rows = conn.execute(
            select(
                papers_t.c.id,
                papers_t.c.arxiv_id,
                papers_t.c.title,
                papers_t.c.abstract,
                papers_t.c.change_seq,
            ).where(papers_t.c.arxiv_id.in_(list(arxiv_ids[start : start + _CHUNK])))
        ).all()
        out.update({r.arxiv_id: PaperText(r.id, r.title, r.abstract, r.change_seq) for r in rows})
    return out


def import_vectors(conn: Connection, model: str, results: Sequence[VectorResult], *, now: datetime) -> int:
    """Store imported vectors (replacing the model's rows of the same papers, whatever they were
    computed for); each gets a new ``vector_seq``. Returns the count."""
    results = sorted(results, key=lambda r: r.paper_id)
    if not results:
        return 0
    _write_rows(conn, model, results, now=now, only_newer=False)
    return len(results)
