"""The vector index: paper embeddings on disk, searched by cosine similarity.

On disk, like the keyword index: ``<index_dir>/vectors/current`` is a symlink to a generation
folder ``gen-<n>``. A generation is a list of immutable *segments* plus what is generation
specific (``manifest.json``, ``cursor.json`` and per-segment ``<seg>.dead.npy``, the rows that a
newer segment or a removal superseded). A segment is ``<seg>.vectors.npy`` (float32, rows
L2-normalised), ``<seg>.ids.npy`` (ASCII ids), ``<seg>.order.npy`` (argsort of the ids, for
binary-search lookups), ``<seg>.hashes.npy`` (uint64 content hashes, so unchanged papers are
never re-embedded) and, for big segments, ``<seg>.hnsw.faiss`` (a faiss ``IndexHNSWFlat``).

Every commit writes a new generation: unchanged segment files are hard-linked (no copy), new
rows go to a new small segment, then manifest + cursor are fsynced and the ``current`` link is
swapped with an atomic rename. Readers memory-map the files (``np.load(mmap_mode="r")``, faiss
``IO_FLAG_MMAP_IFC``), so several server processes share one copy in the page cache, and they
re-check the link at most once per ``refresh_seconds``.

Segments below ``hnsw_threshold`` rows are searched exactly (matrix × vector via einsum + argpartition);
bigger ones through their HNSW graph (inner product; ``ef_search`` trades recall for time).
Exact segments are merged into one HNSW segment once together they reach the threshold, so a
query never scans more than that many rows linearly; past ``max_segments`` the smaller half is
merged (size-tiered); everything is merged on a rebuild or when superseded rows pass
``dead_max_fraction``. Measured figures: ``docs/search.md`` ("Semantic search").
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson

from paperfeed.errors import InvalidInput, PaperfeedError
from paperfeed.search.generations import CurrentReader, GenerationFolders, write_bytes_atomically
from paperfeed.search.keyword import IndexBusy

SCHEMA_VERSION = 1
SEGMENT_FILES = ("vectors", "ids", "order", "hashes")
BUILDING_MARK = "BUILDING"


class VectorIndexError(PaperfeedError):
    """The vector index and the embedder or an import file disagree (model, dimension)."""

    code = "vector_index_mismatch"
    http_status = 409


class VectorHit(NamedTuple):
    """One neighbour: the paper id and the cosine similarity to the query."""

    arxiv_id: str
    score: float


# --------------------------------------------------------------------------- files
def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _encode_ids(ids: Iterable[str]) -> np.ndarray:
    encoded = [i.encode("utf-8") for i in ids]
    width = max((len(b) for b in encoded), default=1) or 1
    return np.array(encoded, dtype=f"S{width}")


# --------------------------------------------------------------------------- segments
@dataclass
class Segment:
    """One immutable block of rows, memory-mapped; ``dead`` marks superseded rows."""

    name: str
    vectors: np.ndarray
    ids: np.ndarray
    order: np.ndarray
    hashes: np.ndarray
    dead: np.ndarray  # bool mask, in memory (one byte per row)
    hnsw: object | None = None
    _live_selector: object | None = None
    _dead_count: int = -1

    @property
    def rows(self) -> int:
        return int(self.ids.shape[0])

    @property
    def dead_count(self) -> int:
        if self._dead_count < 0:
            self._dead_count = int(self.dead.sum())
        return self._dead_count

    @property
    def live(self) -> int:
        return self.rows - self.dead_count

    def mark_dead(self, rows: np.ndarray) -> None:
        """Mark rows superseded (writer side)."""
        self.dead[rows] = True
        self._dead_count = -1
        self._live_selector = None

    def find(self, keys: Sequence[str]) -> np.ndarray:
        """Row of each id in this segment (dead or not), -1 when absent."""
        out = np.full(len(keys), -1, dtype=np.int64)
        if not keys or not self.rows:
            return out
        width = self.ids.dtype.itemsize
        encoded = [k.encode("utf-8") for k in keys]
        fits = np.array([len(b) <= width for b in encoded])
        if not fits.any():
            return out
        wanted = np.array([b for b, ok in zip(encoded, fits, strict=True) if ok], dtype=self.ids.dtype)
        pos = np.searchsorted(self.ids, wanted, sorter=self.order)
        pos = np.minimum(pos, self.rows - 1)
        rows = np.asarray(self.order[pos], dtype=np.int64)
        found = np.asarray(self.ids[rows]) == wanted
        out[np.flatnonzero(fits)] = np.where(found, rows, -1)
        return out

    def live_selector(self):
        """A faiss selector accepting the rows that are not dead (built once per load)."""
        if self._live_selector is None:
            import faiss

            bits = np.packbits(~self.dead, bitorder="little")
            self._live_selector = (faiss.IDSelectorBitmap(self.rows, faiss.swig_ptr(bits)), bits)
        return self._live_selector[0]


def _load_segment(folder: Path, name: str) -> Segment:
    arrays = {part: np.load(folder / f"{name}.{part}.npy", mmap_mode="r") for part in SEGMENT_FILES}
    dead = np.zeros(arrays["ids"].shape[0], dtype=bool)
    dead_path = folder / f"{name}.dead.npy"
    if dead_path.exists():
        dead[np.load(dead_path)] = True
    hnsw = None
    hnsw_path = folder / f"{name}.hnsw.faiss"
    if hnsw_path.exists():
        import faiss

        hnsw = faiss.read_index(str(hnsw_path), faiss.IO_FLAG_MMAP_IFC)
    return Segment(name=name, dead=dead, hnsw=hnsw, **arrays)


@dataclass
class Generation:
    """A loaded generation: its folder, manifest and segments (oldest first)."""

    path: Path
    manifest: dict
    segments: list[Segment]

    @property
    def model(self) -> str | None:
        return self.manifest.get("model")

    @property
    def dim(self) -> int | None:
        return self.manifest.get("dim")

    def num_docs(self) -> int:
        return sum(s.live for s in self.segments)

    def lookup(self, ids: Sequence[str]) -> dict[str, tuple[Segment, int]]:
        """Segment and row of each id that has a live vector here."""
        out: dict[str, tuple[Segment, int]] = {}
        rest = list(ids)
        for seg in reversed(self.segments):
            if not rest:
                break
            still = []
            for arxiv_id, row in zip(rest, seg.find(rest).tolist(), strict=True):
                if row >= 0 and not seg.dead[row]:
                    out[arxiv_id] = (seg, row)
                else:
                    still.append(arxiv_id)
            rest = still
        return out


def load_generation(path: Path) -> Generation:
    manifest = orjson.loads((path / "manifest.json").read_bytes())
    segments = [_load_segment(path, entry["name"]) for entry in manifest.get("segments", [])]
    return Generation(path=path, manifest=manifest, segments=segments)


# --------------------------------------------------------------------------- index
class VectorIndex:
    """Cosine-similarity search over paper vectors, with atomic generations (see module doc)."""

    def __init__(
        self,
        root: Path,
        *,
        hnsw_threshold: int = 50_000,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 512,
        max_segments: int = 8,
        dead_max_fraction: float = 0.25,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.root = Path(root) / "vectors"
        # an interrupted, newer rebuild is kept when an older generation is published
        self.folders = GenerationFolders(
            self.root, keep_newer=lambda folder: (folder / BUILDING_MARK).exists()
        )
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.max_segments = max_segments
        self.dead_max_fraction = dead_max_fraction
        self.refresh_seconds = refresh_seconds
        self._current = CurrentReader(self.folders, load_generation, refresh_seconds=refresh_seconds)

    # ----------------------------------------------------------------- layout
    @property
    def current_link(self) -> Path:
        return self.folders.current_link

    def exists(self) -> bool:
        return self.folders.exists()

    def new_generation_dir(self) -> Path:
        return self.folders.new_dir()

    def publish_generation(self, path: Path) -> None:
        """Atomically make ``path`` current; delete older generations (not newer rebuilds)."""
        self.folders.publish(path)

    def current_path(self) -> Path | None:
        return self.folders.current_path()

    def pending_rebuild(self) -> Path | None:
        """The newest unfinished rebuild folder, if one was interrupted."""
        if not self.root.exists():
            return None
        current = self.current_path()
        floor = int(current.name[4:]) if current is not None else 0
        candidates = [
            p
            for p in self.root.glob("gen-*")
            if p.name[4:].isdigit() and int(p.name[4:]) > floor and (p / BUILDING_MARK).exists()
        ]
        return max(candidates, key=lambda p: int(p.name[4:]), default=None)

    # ----------------------------------------------------------------- cursor
    @staticmethod
    def read_cursor(generation: Path) -> int:
        try:
            data = orjson.loads((generation / "cursor.json").read_bytes())
        except FileNotFoundError:
            return 0
        if data.get("schema") != SCHEMA_VERSION:
            return -1
        return int(data.get("change_seq", 0))

    @staticmethod
    def read_cursor_state(generation: Path) -> dict:
        """Everything ``cursor.json`` holds (``change_seq`` plus what a writer added, e.g. the
        database follower's ``vector_seq``); ``{}`` when missing or of another schema."""
        try:
            data = orjson.loads((generation / "cursor.json").read_bytes())
        except FileNotFoundError:
            return {}
        return data if data.get("schema") == SCHEMA_VERSION else {}

    def cursor_state(self) -> dict:
        """:meth:`read_cursor_state` of the current generation."""
        path = self.current_path()
        return self.read_cursor_state(path) if path is not None else {}

    # ----------------------------------------------------------------- reading
    def generation(self) -> Generation | None:
        """The current generation, reloaded when the ``current`` link moved."""
        return self._current.get()

    def model(self) -> str | None:
        gen = self.generation()
        return gen.model if gen else None

    def num_docs(self) -> int:
        gen = self.generation()
        return gen.num_docs() if gen else 0

    def cursor(self) -> int:
        path = self.current_path()
        return self.read_cursor(path) if path is not None else 0

    def _locate(self, gen: Generation, arxiv_id: str) -> tuple[Segment, int] | None:
        return gen.lookup([arxiv_id]).get(arxiv_id)

    def vector_of(self, arxiv_id: str) -> np.ndarray | None:
        """The stored vector of a paper, or ``None`` when it is not indexed."""
        gen = self.generation()
        found = self._locate(gen, arxiv_id) if gen else None
        return np.array(found[0].vectors[found[1]], dtype=np.float32) if found else None

    def vectors_of(self, arxiv_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Stored vectors of many papers in one pass: ``(ids found, matrix)`` with one float32
        row per found id, in the order given; ids without a vector are left out."""
        gen = self.generation()
        found = gen.lookup(list(dict.fromkeys(arxiv_ids))) if gen else {}
        ids = [i for i in dict.fromkeys(arxiv_ids) if i in found]
        if not ids:
            return [], np.zeros((0, gen.dim or 0) if gen else (0, 0), dtype=np.float32)
        matrix = np.stack([np.asarray(found[i][0].vectors[found[i][1]], dtype=np.float32) for i in ids])
        return ids, matrix

    def cosines(self, query_vec: np.ndarray, arxiv_ids: Sequence[str]) -> dict[str, float]:
        """Exact cosine between ``query_vec`` and each paper's stored vector (papers without one
        are left out): how hybrid search scores keyword hits the vector search did not return."""
        found, matrix = self.vectors_of(arxiv_ids)
        if not found:
            return {}
        # einsum, not ``@``: no BLAS thread pool woken for a ~100-row product (see _search_exact)
        scores = np.einsum("ij,j->i", matrix, np.asarray(query_vec, dtype=np.float32))
        return dict(zip(found, scores.tolist(), strict=True))

    def search(self, query_vec: np.ndarray, k: int, *, exclude_ids: Iterable[str] = ()) -> list[VectorHit]:
        """The ``k`` nearest papers to ``query_vec`` by cosine similarity, best first."""
        gen = self.generation()
        if gen is None or k <= 0:
            return []
        exclude = list(dict.fromkeys(exclude_ids))
        return [
            VectorHit(_decode(seg.ids[row]), score)
            for seg, row, score in self._search(gen, query_vec, k, exclude)
        ]

    def similar(self, arxiv_id: str, k: int, *, duplicate_score: float = 0.9999) -> list[VectorHit]:
        """Nearest neighbours of a paper, without itself and without exact duplicates
        (same title+abstract hash, or cosine ≥ ``duplicate_score``)."""
        gen = self.generation()
        found = self._locate(gen, arxiv_id) if gen else None
        if found is None or k <= 0:
            return []
        seg, row = found
        own_hash = int(seg.hashes[row])
        query = np.array(seg.vectors[row], dtype=np.float32)
        hits = self._search(gen, query, k + 8, [arxiv_id])
        out = [
            VectorHit(_decode(s.ids[r]), score)
            for s, r, score in hits
            if score < duplicate_score and int(s.hashes[r]) != own_hash
        ]
        return out[:k]

    def _search(
        self, gen: Generation, query_vec: np.ndarray, k: int, exclude: list[str]
    ) -> list[tuple[Segment, int, float]]:
        query = np.ascontiguousarray(query_vec, dtype=np.float32).reshape(-1)
        if gen.dim is not None and query.shape[0] != gen.dim:
            raise VectorIndexError(f"query vector has {query.shape[0]} dimensions, the index {gen.dim}")
        candidates: list[tuple[float, int, int]] = []
        for seg_no, seg in enumerate(gen.segments):
            if not seg.live:
                continue
            excluded = seg.find(exclude)
            excluded = excluded[excluded >= 0]
            if seg.hnsw is not None:
                scores, rows = self._search_hnsw(seg, query, k, excluded)
            else:
                scores, rows = _search_exact(seg, query, k, excluded)
            candidates.extend(zip(scores.tolist(), [seg_no] * len(rows), rows.tolist(), strict=True))
        candidates.sort(key=lambda c: -c[0])
        return [(gen.segments[s], r, score) for score, s, r in candidates[:k]]

    def _search_hnsw(
        self, seg: Segment, query: np.ndarray, k: int, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        kk = min(k, seg.live)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, kk)
        keep = []
        if seg.dead_count or len(excluded):
            selector = seg.live_selector()
            if len(excluded):
                batch = faiss.IDSelectorBatch(len(excluded), faiss.swig_ptr(excluded.astype(np.int64)))
                not_batch = faiss.IDSelectorNot(batch)
                selector = faiss.IDSelectorAnd(selector, not_batch)
                keep = [batch, not_batch]
            params.sel = selector
        scores, rows = seg.hnsw.search(query.reshape(1, -1), kk, params=params)
        del keep
        valid = rows[0] >= 0
        return scores[0][valid], rows[0][valid]

    # ----------------------------------------------------------------- writing
    def writer(self, *, model: str, dim: int, rebuild: bool = False) -> VectorWriter:
        """A writer (one process at a time) on a new generation based on the current one.

        ``rebuild=True`` starts an empty generation (or resumes an interrupted rebuild of the
        same model) that only becomes current on :meth:`VectorWriter.commit`.
        """
        return VectorWriter(self, model=model, dim=dim, rebuild=rebuild)

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, *, model: str, hashes=None) -> None:
        """Add or replace vectors by id and publish at once (convenience for small changes)."""
        with self.writer(model=model, dim=int(np.asarray(vectors).shape[1])) as w:
            w.upsert(ids, vectors, hashes)
            w.commit()

    def remove(self, ids: Iterable[str]) -> None:
        """Remove papers by id and publish at once."""
        gen = self.generation()
        if gen is None:
            return
        with self.writer(model=gen.model or "", dim=gen.dim or 0) as w:
            w.remove(ids)
            w.commit()

    # ----------------------------------------------------------------- export / import
    def export_vectors(self, path: Path) -> int:
        """Write every live vector to ``path`` (.npz: ids, vectors, hashes, model, dim)."""
        gen = self.generation()
        if gen is None:
            raise InvalidInput("the vector index is empty: nothing to export")
        ids, vectors, hashes = [], [], []
        for seg in gen.segments:
            live = np.flatnonzero(~seg.dead)
            ids.append(np.asarray(seg.ids[live]).astype(str))
            vectors.append(np.asarray(seg.vectors[live], dtype=np.float32))
            hashes.append(np.asarray(seg.hashes[live], dtype=np.uint64))
        all_ids = np.concatenate(ids) if ids else np.array([], dtype=str)
        with open(path, "wb") as handle:
            np.savez(
                handle,
                ids=all_ids,
                vectors=np.concatenate(vectors) if vectors else np.zeros((0, gen.dim), np.float32),
                hashes=np.concatenate(hashes) if hashes else np.zeros(0, np.uint64),
                model=np.array(gen.model or ""),
                dim=np.array(gen.dim, dtype=np.int64),
                schema=np.array(SCHEMA_VERSION, dtype=np.int64),
            )
            handle.flush()
            os.fsync(handle.fileno())
        return len(all_ids)

    def import_vectors(
        self, path: Path, *, expected_model: str | None = None, expected_dim: int | None = None
    ) -> int:
        """Add the vectors of an export file (replacing same ids) and publish; returns the count.

        The model must match ``expected_model`` (the configured embedder) and the index's model.
        The change cursor is left alone: papers whose text hash matches are not re-embedded.
        """
        ids, vectors, hashes, model, dim = read_vector_file(
            path, expected_model=expected_model, expected_dim=expected_dim
        )
        with self.writer(model=model, dim=dim) as w:
            for start in range(0, len(ids), 100_000):
                stop = start + 100_000
                w.upsert([str(i) for i in ids[start:stop]], vectors[start:stop], hashes[start:stop])
            w.commit()
        return len(ids)


def read_vector_file(
    path: Path, *, expected_model: str | None = None, expected_dim: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, int]:
    """``(ids, vectors, hashes, model, dim)`` of an export file (``export_vectors``' ``.npz``),
    checked: ``InvalidInput`` for a file that is not one or is inconsistent,
    ``VectorIndexError`` for another model or dimension than expected."""
    try:
        data = np.load(path, allow_pickle=False)
        ids, vectors, hashes = data["ids"], data["vectors"], data["hashes"]
        model, dim = str(data["model"]), int(data["dim"])
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInput(f"not a vector export file: {path} ({exc})") from exc
    if expected_model is not None and model != expected_model:
        raise VectorIndexError(
            f"{path} holds vectors of model {model!r}, but the configured model is {expected_model!r}"
        )
    if expected_dim is not None and dim != expected_dim:
        raise VectorIndexError(
            f"{path} holds {dim}-dimensional vectors, but the configured model makes {expected_dim}"
        )
    if vectors.ndim != 2 or vectors.shape != (len(ids), dim) or hashes.shape != (len(ids),):
        raise InvalidInput(f"inconsistent vector export file: {path}")
    return ids, vectors, hashes, model, dim


def _decode(raw: bytes) -> str:
    return bytes(raw).decode("utf-8")


def _search_exact(
    seg: Segment, query: np.ndarray, k: int, excluded: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    # einsum, not ``@``: a matrix-vector product through OpenBLAS wakes its thread pool, and on a
    # busy 2-core server the hand-offs cost tens of ms per query (docs/benchmarks.md, "Semantic
    # search at 1M"); this single-threaded loop is memory-bound, like BLAS would be.
    scores = np.einsum("ij,j->i", seg.vectors, query).astype(np.float32, copy=False)
    if seg.dead_count:
        scores[seg.dead] = -np.inf
    if len(excluded):
        scores[excluded] = -np.inf
    kk = min(k, seg.rows)
    top = np.argpartition(-scores, kk - 1)[:kk] if kk < seg.rows else np.arange(seg.rows)
    top = top[np.argsort(-scores[top], kind="stable")]
    top = top[np.isfinite(scores[top])]
    return scores[top], top


class WriterLock:
    """An exclusive, non-blocking lock on ``<root>/writer.lock`` (one writing process)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._handle = open(root / "writer.lock", "a+")  # noqa: SIM115 - held until release
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._handle.close()
            raise IndexBusy("the vector index is being written by another process") from exc

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


class VectorWriter:
    """Stages upserts/removals and publishes them as a new generation (see module doc).

    Use as a context manager; holds the writer lock until closed. ``commit`` publishes;
    ``checkpoint`` (rebuilds only) saves progress in the unpublished folder so an interrupted
    rebuild resumes where it stopped.
    """

    def __init__(self, index: VectorIndex, *, model: str, dim: int, rebuild: bool) -> None:
        self.index = index
        self.model = model
        self.dim = int(dim)
        self.rebuilding = rebuild
        self.resumed = False
        self._lock = WriterLock(index.root)
        try:
            base = self._open_base(rebuild)
        except BaseException:
            self._lock.release()
            raise
        self.segments: list[Segment] = base.segments if base else []
        self._seg_dir = {seg.name: base.path for seg in self.segments} if base else {}
        self.next_segment = int(base.manifest.get("next_segment", 1)) if base else 1
        self.cursor = max(index.read_cursor(base.path), 0) if base else 0
        self.cursor_extra: dict = {
            k: v
            for k, v in (index.read_cursor_state(base.path) if base else {}).items()
            if k not in ("change_seq", "schema")
        }
        self._pending: dict[str, tuple[np.ndarray, int]] = {}
        self._removed: set[str] = set()

    def _open_base(self, rebuild: bool) -> Generation | None:
        index = self.index
        if rebuild:
            resume = index.pending_rebuild()
            if resume is not None and (resume / "manifest.json").exists():
                base = load_generation(resume)
                if base.model == self.model and base.dim == self.dim:
                    self.path: Path | None = resume
                    self.resumed = True
                    return base
            self.path = index.new_generation_dir()
            (self.path / BUILDING_MARK).touch()
            return None
        self.path = None  # made at the first flush, hard-linking the base segments
        current = index.current_path()
        if current is None:
            return None
        base = load_generation(current)
        if base.segments and (base.model != self.model or base.dim != self.dim):
            raise VectorIndexError(
                f"the vector index holds {base.model!r} vectors ({base.dim} dimensions), not "
                f"{self.model!r} ({self.dim}): rebuild it"
            )
        return base

    def __enter__(self) -> VectorWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._lock.release()

    # ----------------------------------------------------------------- staging
    def upsert(self, ids: Sequence[str], vectors: np.ndarray, hashes: Sequence[int] | None = None) -> None:
        """Stage vectors for ``ids`` (replacing any stored ones); rows are re-normalised."""
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape != (len(ids), self.dim):
            raise VectorIndexError(f"expected a ({len(ids)}, {self.dim}) matrix, got {matrix.shape}")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.maximum(norms, 1e-12)
        hash_list = [0] * len(ids) if hashes is None else [int(h) for h in hashes]
        for arxiv_id, row, digest in zip(ids, matrix, hash_list, strict=True):
            self._pending[arxiv_id] = (row, digest)
            self._removed.discard(arxiv_id)

    def remove(self, ids: Iterable[str]) -> None:
        """Stage removals (unknown ids are ignored)."""
        for arxiv_id in ids:
            self._pending.pop(arxiv_id, None)
            self._removed.add(arxiv_id)

    def known_hashes(self, ids: Sequence[str]) -> dict[str, int]:
        """Content hash of each id that has a live vector (staged or stored)."""
        out = {i: self._pending[i][1] for i in ids if i in self._pending}
        rest = [i for i in ids if i not in out and i not in self._removed]
        stored = Generation(path=Path(), manifest={}, segments=self.segments).lookup(rest)
        out.update({i: int(seg.hashes[row]) for i, (seg, row) in stored.items()})
        return out

    @property
    def staged(self) -> int:
        return len(self._pending) + len(self._removed)

    # ----------------------------------------------------------------- writing
    def _target(self) -> Path:
        if self.path is None:
            self.path = self.index.new_generation_dir()
            for seg in self.segments:
                self._link_segment(seg)
        return self.path

    def _link_segment(self, seg: Segment) -> None:
        source = self._seg_dir[seg.name]
        if source == self.path:
            return
        names = [f"{seg.name}.{part}.npy" for part in SEGMENT_FILES]
        if seg.hnsw is not None:
            names.append(f"{seg.name}.hnsw.faiss")
        for name in names:
            _link_or_copy(source / name, self.path / name)
        self._seg_dir[seg.name] = self.path

    def _flush(self) -> None:
        target = self._target()
        changed = list(self._pending) + list(self._removed)
        if changed:
            for seg in self.segments:
                rows = seg.find(changed)
                seg.mark_dead(rows[rows >= 0])
        if self._pending:
            ids = list(self._pending)
            vectors = np.stack([self._pending[i][0] for i in ids])
            hashes = np.array([self._pending[i][1] for i in ids], dtype=np.uint64)
            self.segments.append(self._write_segment(target, ids, vectors, hashes))
        self._pending.clear()
        self._removed.clear()

    def _write_segment(
        self, folder: Path, ids: list[str], vectors: np.ndarray, hashes: np.ndarray
    ) -> Segment:
        name = f"seg-{self.next_segment:06d}"
        self.next_segment += 1
        encoded = _encode_ids(ids)
        _save_npy(folder / f"{name}.vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        _save_npy(folder / f"{name}.ids.npy", encoded)
        _save_npy(folder / f"{name}.order.npy", np.argsort(encoded, kind="stable").astype(np.int64))
        _save_npy(folder / f"{name}.hashes.npy", hashes.astype(np.uint64))
        if len(ids) >= self.index.hnsw_threshold:
            self._write_hnsw(folder / f"{name}.hnsw.faiss", vectors)
        self._seg_dir[name] = folder
        return _load_segment(folder, name)

    def _write_hnsw(self, path: Path, vectors: np.ndarray) -> None:
        import faiss

        hnsw = faiss.IndexHNSWFlat(self.dim, self.index.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.index.ef_construction
        for start in range(0, len(vectors), 50_000):
            hnsw.add(np.ascontiguousarray(vectors[start : start + 50_000], dtype=np.float32))
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(hnsw, str(tmp))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def _merge(self, chosen: list[Segment]) -> None:
        """Replace ``chosen`` segments by one holding their live rows."""
        target = self._target()
        ids, vectors, hashes = [], [], []
        for seg in chosen:
            live = np.flatnonzero(~seg.dead)
            ids.extend(_decode(b) for b in np.asarray(seg.ids[live]))
            vectors.append(np.asarray(seg.vectors[live], dtype=np.float32))
            hashes.append(np.asarray(seg.hashes[live], dtype=np.uint64))
        keep = [s for s in self.segments if s not in chosen]
        for seg in chosen:
            for leftover in target.glob(f"{seg.name}.*"):
                leftover.unlink()
        if ids:
            keep.append(self._write_segment(target, ids, np.concatenate(vectors), np.concatenate(hashes)))
        self.segments = keep

    def _compact(self, force: bool) -> None:
        """Merge everything on a rebuild or when too many rows are superseded; merge the exact
        (graph-less) segments into one HNSW segment once they hold ``hnsw_threshold`` rows, so
        a query never scans more than that many rows linearly; and merge the smaller half of
        the segments when there are more than ``max_segments`` (size-tiered: a row is
        rewritten O(log n) times)."""
        segments = self.segments
        if not segments:
            return
        total = sum(s.rows for s in segments)
        dead = total - sum(s.live for s in segments)
        exact = [s for s in segments if s.hnsw is None]
        if (force and (len(segments) > 1 or dead)) or dead > self.index.dead_max_fraction * total:
            self._merge(list(segments))
        elif len(exact) > 1 and sum(s.live for s in exact) >= self.index.hnsw_threshold:
            self._merge(exact)
        elif len(segments) > self.index.max_segments:
            self._merge(sorted(segments, key=lambda s: s.live)[: (len(segments) + 1) // 2])

    def _write_state(self, change_seq: int, *, building: bool, extra: dict | None = None) -> None:
        target = self._target()
        for seg in self.segments:
            dead_path = target / f"{seg.name}.dead.npy"
            with contextlib.suppress(FileNotFoundError):
                dead_path.unlink()
            if seg.dead_count:
                _save_npy(dead_path, np.flatnonzero(seg.dead).astype(np.int64))
        manifest = {
            "schema": SCHEMA_VERSION,
            "model": self.model,
            "dim": self.dim,
            "next_segment": self.next_segment,
            "segments": [{"name": s.name, "rows": s.rows, "hnsw": s.hnsw is not None} for s in self.segments],
            "building": building,
        }
        write_bytes_atomically(target / "manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        if extra is not None:
            self.cursor_extra = dict(extra)
        state = {**self.cursor_extra, "change_seq": change_seq, "schema": SCHEMA_VERSION}
        write_bytes_atomically(target / "cursor.json", orjson.dumps(state))
        self.cursor = change_seq

    def checkpoint(self, change_seq: int | None = None, *, extra: dict | None = None) -> None:
        """Rebuilds: save progress without publishing. Otherwise the same as :meth:`commit`.

        ``extra`` replaces the additional keys saved in ``cursor.json`` beside ``change_seq``."""
        if not self.rebuilding:
            self.commit(change_seq, extra=extra)
            return
        self._flush()
        self._write_state(self.cursor if change_seq is None else change_seq, building=True, extra=extra)

    def commit(self, change_seq: int | None = None, *, extra: dict | None = None) -> None:
        """Write staged changes and atomically publish them (with the new change cursor and,
        when given, the ``extra`` cursor keys)."""
        self._flush()
        self._compact(force=self.rebuilding)
        self._write_state(self.cursor if change_seq is None else change_seq, building=False, extra=extra)
        target = self._target()
        with contextlib.suppress(FileNotFoundError):
            (target / BUILDING_MARK).unlink()
        self.index.publish_generation(target)
        self.rebuilding = False
        self.path = None  # the next commit starts a new generation from this one


__all__ = [
    "SCHEMA_VERSION",
    "Generation",
    "Segment",
    "VectorHit",
    "VectorIndex",
    "VectorIndexError",
    "VectorWriter",
    "WriterLock",
    "load_generation",
    "read_vector_file",
]
