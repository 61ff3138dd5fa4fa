"""Search-quality evaluation: IR metrics and a throwaway search instance over a BEIR dataset.

Metrics follow the definitions of ``trec_eval``/``pytrec_eval`` as BEIR reports them:

* **nDCG@k** — ``DCG = Σ_{i≤k} grade_i / log2(i + 1)`` over the ranking (linear gain, the
  ``ndcg_cut`` of trec_eval), divided by the DCG of the ideal ordering of all judged grades;
* **recall@k** — relevant (grade > 0) documents in the top k / all relevant documents;
* **MRR@k** — ``1 / rank`` of the first relevant document within the top k, else 0.

Each is averaged over the queries. Rankings are taken in the order the search returns them.

:class:`EvalInstance` runs the production search code on a dataset without touching any
instance: it writes the corpus into a :class:`~paperfeed.search.keyword.TantivyKeywordIndex`
and a :class:`~paperfeed.search.vectors.VectorIndex` inside a temporary folder (deleted on
close), embeds with the configured :class:`~paperfeed.search.embed.Embedder`, and fuses with
:func:`~paperfeed.search.hybrid.fuse_rankings` exactly as ``SearchService`` does. BEIR
ids are arbitrary strings, so documents are indexed under their row number and mapped back;
there is no database (``SearchService`` only uses it to turn ids into listing items).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperfeed.errors import PaperfeedError
from paperfeed.search.beir import BeirDataset
from paperfeed.search.embed import Embedder, document_text
from paperfeed.search.hybrid import FusionSettings, fuse_rankings
from paperfeed.search.interfaces import IndexDocument
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.vectors import VectorIndex

MODES = ("keyword", "semantic", "hybrid")
RANK_DEPTH = 100  # recall@100 needs the top 100


class EvaluationError(PaperfeedError):
    """An evaluation cannot run (e.g. a vectors file that does not fit the corpus)."""

    code = "evaluation_error"
    http_status = 422


# --------------------------------------------------------------------------- metrics
def ndcg_at_k(ranking: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded judgements (linear gain); 0 when nothing is relevant."""
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    if idcg == 0:
        return 0.0
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(_unique(ranking)[:k]))
    return dcg / idcg


def recall_at_k(ranking: Sequence[str], judged: dict[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the top k; 0 when nothing is relevant."""
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_unique(ranking)[:k])) / len(relevant)


def mrr_at_k(ranking: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the top k, else 0."""
    for rank, doc in enumerate(_unique(ranking)[:k], start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def _unique(ranking: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100, linear interpolation); 0 for no values."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else 0.0


def score_run(run: dict[str, Sequence[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, recall@100 and MRR@10 of ``run`` (``{query_id: ranked doc ids}``) over ``qrels``.

    A query in ``qrels`` without a ranking counts as an empty result (all metrics 0).
    """
    if not qrels:
        return {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    totals = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for query_id, judged in qrels.items():
        ranking = run.get(query_id, ())
        totals["ndcg@10"] += ndcg_at_k(ranking, judged, 10)
        totals["recall@100"] += recall_at_k(ranking, judged, 100)
        totals["mrr@10"] += mrr_at_k(ranking, judged, 10)
    return {name: value / len(qrels) for name, value in totals.items()}


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class EvalSettings:
    """The search knobs an evaluation runs with (taken from the instance ``Settings``)."""

    title_boost: float = 0.25
    max_query_chars: int = 1000
    fusion: FusionSettings = field(default_factory=FusionSettings)
    candidates: int = 100
    max_tokens: int = 256

    @classmethod
    def from_settings(cls, settings, *, max_tokens: int | None = None) -> EvalSettings:
        return cls(
            title_boost=settings.search_title_boost,
            max_query_chars=settings.search_max_query_chars,
            fusion=FusionSettings.from_settings(settings),
            candidates=settings.hybrid_candidates,
            max_tokens=max_tokens or settings.embedding_max_tokens,
        )

    def as_dict(self) -> dict:
        return {
            "search_title_boost": self.title_boost,
            "search_max_query_chars": self.max_query_chars,
            "hybrid_fusion": self.fusion.method,
            "hybrid_keyword_share": self.fusion.keyword_share,
            "hybrid_keyword_weight": self.fusion.keyword_weight,
            "hybrid_vector_weight": self.fusion.vector_weight,
            "hybrid_rrf_k": self.fusion.rrf_k,
            "hybrid_candidates": self.candidates,
            "embedding_max_tokens": self.max_tokens,
        }


# --------------------------------------------------------------------------- corpus vectors
def corpus_digest(dataset: BeirDataset) -> str:
    """A short hash of the corpus ids and texts (names the vector cache file)."""
    digest = hashlib.blake2b(digest_size=8)
    for doc_id, (title, text) in dataset.corpus.items():
        for part in (doc_id, title, text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
    return digest.hexdigest()


def default_vectors_cache(dataset: BeirDataset, model: str, max_tokens: int) -> Path:
    """``<dataset>/.paperfeed-vectors-<model>-<tokens>-<corpus hash>.npy``: stale caches never match.

    A dataset folder that is read-only (a shared copy of a public benchmark) is left untouched:
    the cache then goes to ``$XDG_CACHE_HOME/paperfeed/eval/`` (default ``~/.cache``).
    """
    safe_model = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
    name = f".paperfeed-vectors-{safe_model}-{max_tokens}-{corpus_digest(dataset)}.npy"
    if _writable_folder(dataset.path):
        return dataset.path / name
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "paperfeed" / "eval" / name


def _writable_folder(folder: Path) -> bool:
    """Writable for this user, and not marked read-only (root may write anywhere; we don't)."""
    try:
        return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)
    except OSError:
        return False


def load_vectors(path: Path, rows: int, dim: int) -> np.ndarray:
    """A ``(rows, dim)`` float32 matrix from an ``.npy`` file, or :class:`EvaluationError`."""
    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"{path}: not a readable .npy vectors file ({exc})") from exc
    if matrix.ndim != 2 or matrix.shape != (rows, dim):
        raise EvaluationError(
            f"{path}: holds vectors of shape {tuple(matrix.shape)}, the corpus needs ({rows}, {dim})"
        )
    return np.ascontiguousarray(matrix, dtype=np.float32)


def corpus_vectors(
    dataset: BeirDataset,
    embedder: Embedder,
    *,
    cache: Path | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, str]:
    """Vectors of the corpus in file order, from ``cache`` when it exists, else embedded (and saved
    to ``cache`` when it is writable). Returns the matrix and where it came from."""
    rows = len(dataset.corpus)
    if cache is not None and cache.is_file():
        return load_vectors(cache, rows, embedder.dim), f"cache {cache}"
    texts = [document_text(title, text) for title, text in dataset.corpus.values()]
    matrix = embedder.embed_documents(texts, progress=progress)
    source = "embedded"
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.name + ".tmp")
            with open(tmp, "wb") as handle:
                np.save(handle, matrix, allow_pickle=False)
            tmp.replace(cache)
            source = f"embedded, saved to {cache}"
        except OSError:
            source = "embedded (cache not writable)"
    return matrix, source


# --------------------------------------------------------------------------- instance
class EvalInstance:
    """The dataset in a production keyword index and vector index, in a temporary folder.

    Use as a context manager; the folder is deleted on exit. ``vectors`` (corpus order) enables
    semantic and hybrid search, ``embedder`` embeds the queries.
    """

    def __init__(
        self,
        dataset: BeirDataset,
        settings: EvalSettings,
        *,
        vectors: np.ndarray | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.dataset = dataset
        self.settings = settings
        self.embedder = embedder
        self.doc_ids = list(dataset.corpus)
        self._tmp = Path(tempfile.mkdtemp(prefix="paperfeed-eval-"))
        try:
            index_dir = self._tmp / "index"
            self.keyword = TantivyKeywordIndex(
                index_dir, title_boost=settings.title_boost, max_query_chars=settings.max_query_chars
            )
            self._build_keyword()
            self.vectors: VectorIndex | None = None
            if vectors is not None and embedder is not None:
                self.vectors = VectorIndex(index_dir)
                with self.vectors.writer(model=embedder.name, dim=embedder.dim) as writer:
                    writer.upsert([str(i) for i in range(len(self.doc_ids))], vectors)
                    writer.commit()
        except BaseException:
            self.close()
            raise

    def _build_keyword(self) -> None:
        generation = self.keyword.create_generation()
        session = self.keyword.open_writer(generation, heap_mb=128, threads=1)
        try:
            for row, (title, text) in enumerate(self.dataset.corpus.values()):
                session.add_new(IndexDocument(arxiv_id=str(row), title=title, abstract=text))
            session.commit()
        finally:
            session.close()
        self.keyword.publish_generation(generation)

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> EvalInstance:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ----------------------------------------------------------------- searching
    def _clean(self, query: str) -> str:
        return (query or "").strip()[: self.settings.max_query_chars]  # as SearchService.search

    def keyword_ranking(self, query: str, depth: int) -> list[tuple[str, float]]:
        """``[(row id, BM25)]`` best first, from the tantivy index."""
        hits = self.keyword.search(self._clean(query), limit=depth, sort="relevance")
        return [(h.arxiv_id, h.score) for h in hits]

    def query_vector(self, query: str) -> np.ndarray:
        if self.embedder is None:
            raise EvaluationError("semantic search needs an embedder")
        return self.embedder.embed_query(self._clean(query))

    def vector_ranking(self, vector: np.ndarray, depth: int) -> list[tuple[str, float]]:
        """``[(row id, cosine)]`` best first, from the vector index."""
        if self.vectors is None:
            raise EvaluationError("semantic search needs corpus vectors")
        return [(h.arxiv_id, h.score) for h in self.vectors.search(vector, depth)]

    def fuse(
        self,
        keyword: Sequence[tuple[str, float]],
        vector: Sequence[tuple[str, float]],
        query_vector: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        """Hybrid fusion exactly as ``SearchService._hybrid`` calls it (``query_vector`` gives
        keyword-only candidates their exact cosine, as the service does)."""
        return fuse_rankings(
            keyword,
            vector,
            self.settings.fusion,
            cosines_of=None
            if query_vector is None or self.vectors is None
            else lambda ids: self.vectors.cosines(query_vector, ids),
        )

    def to_doc_ids(self, ranked: Sequence[tuple[str, float]], limit: int = RANK_DEPTH) -> list[str]:
        return [self.doc_ids[int(i)] for i, _ in ranked[:limit]]

    # ----------------------------------------------------------------- running
    def run(
        self, modes: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> dict[str, dict]:
        """Rank every query in each mode; returns ``{mode: {"run": {qid: ids}, "latency": [ms]}}``.

        Latency per query is measured like the service works: keyword = the BM25 search;
        semantic = query embedding + vector search; hybrid = embedding + both searches (depth
        ``max(candidates, 100)``) + fusion.
        """
        depth = max(self.settings.candidates, RANK_DEPTH)
        out = {mode: {"run": {}, "latency": []} for mode in modes}
        need_vector = "semantic" in modes or "hybrid" in modes
        total = len(self.dataset.queries)
        for done, (query_id, text) in enumerate(self.dataset.queries.items(), start=1):
            t0 = time.perf_counter()
            keyword = self.keyword_ranking(text, depth)
            t_keyword = time.perf_counter() - t0
            if need_vector:
                t0 = time.perf_counter()
                query_vector = self.query_vector(text)
                vector = self.vector_ranking(query_vector, depth)
                t_vector = time.perf_counter() - t0
            if "keyword" in modes:
                out["keyword"]["run"][query_id] = self.to_doc_ids(keyword)
                out["keyword"]["latency"].append(t_keyword * 1000)
            if "semantic" in modes:
                out["semantic"]["run"][query_id] = self.to_doc_ids(vector)
                out["semantic"]["latency"].append(t_vector * 1000)
            if "hybrid" in modes:
                t0 = time.perf_counter()
                fused = self.fuse(keyword, vector, query_vector)
                t_fuse = time.perf_counter() - t0
                out["hybrid"]["run"][query_id] = self.to_doc_ids(fused)
                out["hybrid"]["latency"].append((t_keyword + t_vector + t_fuse) * 1000)
            if progress is not None:
                progress(done, total)
        return out


def summarise(
    dataset: BeirDataset, runs: dict[str, dict], *, digits: int = 4
) -> tuple[dict[str, dict], dict[str, dict]]:
    """``(modes, by_query_type)``: metrics + latency per mode, and metrics per mode per query type."""
    modes: dict[str, dict] = {}
    for mode, data in runs.items():
        metrics = {k: round(v, digits) for k, v in score_run(data["run"], dataset.qrels).items()}
        metrics["latency_ms"] = {
            "p50": round(percentile(data["latency"], 50), 3),
            "p99": round(percentile(data["latency"], 99), 3),
        }
        modes[mode] = metrics
    by_type: dict[str, dict] = {}
    for query_type in sorted(set(dataset.query_types.values())):
        qrels = {q: j for q, j in dataset.qrels.items() if dataset.query_types.get(q) == query_type}
        by_type[query_type] = {
            "queries": len(qrels),
            "modes": {
                mode: {k: round(v, digits) for k, v in score_run(data["run"], qrels).items()}
                for mode, data in runs.items()
            },
        }
    return modes, by_type
