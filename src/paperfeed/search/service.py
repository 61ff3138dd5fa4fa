"""SearchService: keyword, semantic and hybrid search, and similar papers, as listing items.

* ``keyword`` — BM25 from the keyword index.
* ``semantic`` — the query is embedded (recent query vectors are cached) and the vector index
  returns the nearest papers by cosine; with filters it over-fetches and filters on the
  database's items.
* ``hybrid`` (default) — the keyword and vector top-N (``hybrid_candidates``) fused by
  :func:`~paperfeed.search.hybrid.fuse_rankings` (a convex combination of normalised BM25 and
  exact cosine, or reciprocal-rank fusion); highlights still come from the keyword side. The
  query is embedded on a helper thread while the keyword index is searched (the model releases
  the GIL).

When the vector index is empty or missing, the model cannot load or semantic search is turned
off, semantic and hybrid answer with keyword results, and :attr:`SearchResults.mode` says so.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from paperfeed.errors import InvalidInput, NotFound
from paperfeed.papers.models import PaperItem
from paperfeed.papers.service import PaperService
from paperfeed.search.hybrid import FusionSettings, fuse_rankings
from paperfeed.search.interfaces import KeywordIndex, SearchFilters
from paperfeed.search.semantic import EmbedderProvider, QueryVectorCache
from paperfeed.search.vectors import VectorIndex, VectorIndexError

log = logging.getLogger(__name__)

MODES = ("keyword", "semantic", "hybrid")
SORTS = ("relevance", "date")
MAX_LIMIT = 120
MAX_SIMILAR = 50
FILTER_OVERSAMPLE = 5
_OLDEST = datetime.min


@dataclass
class SearchResults:
    """Ranked items plus the mode that produced them."""

    query: str
    mode: str
    items: list[PaperItem]


def normalised_title(title: str) -> str:
    """Lower-case words of a title (decides what an exact duplicate is)."""
    return " ".join(re.findall(r"\w+", (title or "").lower()))


def _published_key(item: PaperItem) -> datetime:
    published = item.published_at
    return published.replace(tzinfo=None) if published is not None else _OLDEST


class SearchService:
    """Search over the instance's papers (see the module doc)."""

    def __init__(
        self,
        keyword: KeywordIndex,
        papers: PaperService,
        *,
        max_query_chars: int = 1000,
        vectors: VectorIndex | None = None,
        embedder: EmbedderProvider | None = None,
        fusion: FusionSettings | None = None,
        candidates: int = 100,
        query_cache: QueryVectorCache | None = None,
    ) -> None:
        self.keyword = keyword
        self.papers = papers
        self.max_query_chars = max_query_chars
        self.vectors = vectors
        self.embedder = embedder
        self.fusion = fusion or FusionSettings()
        self.candidates = candidates
        self.query_cache = query_cache if query_cache is not None else QueryVectorCache()
        #: hybrid: embed the query on a helper thread while the keyword index is searched
        self.overlap_query_embedding = True

    @classmethod
    def from_settings(
        cls,
        settings,
        keyword: KeywordIndex,
        papers: PaperService,
        *,
        vectors: VectorIndex | None,
        embedder: EmbedderProvider | None,
    ) -> SearchService:
        """A service tuned by the ``search_*`` / ``hybrid_*`` settings."""
        return cls(
            keyword,
            papers,
            max_query_chars=settings.search_max_query_chars,
            vectors=vectors,
            embedder=embedder,
            fusion=FusionSettings.from_settings(settings),
            candidates=settings.hybrid_candidates,
        )

    # ----------------------------------------------------------------- helpers
    def _vectors_ready(self) -> bool:
        """True when there are vectors to search (checked before any model is loaded)."""
        if self.vectors is None or self.embedder is None or not self.embedder.enabled:
            return False
        try:
            return self.vectors.num_docs() > 0
        except (OSError, ValueError) as exc:
            log.warning("vector index unreadable: %s", exc)
            return False

    def _query_vector(self, query: str):
        embedder = self.embedder.get() if self.embedder is not None else None
        if embedder is None:
            return None
        model = self.vectors.model()
        if model is not None and model != embedder.name:
            log.warning("vector index holds %s vectors, configured model is %s", model, embedder.name)
            return None
        return self.query_cache.get(embedder, query)

    def _vector_ranking(
        self, vector, depth: int, filters: SearchFilters | None
    ) -> tuple[list[tuple[str, float]], dict[str, PaperItem] | None]:
        """``[(id, cosine)]`` best first; with filters, only matching visible papers (and their
        items, so they are not read twice)."""
        if filters is None or filters.empty:
            try:
                hits = self.vectors.search(vector, depth)
            except VectorIndexError as exc:
                log.warning("vector search failed: %s", exc)
                return [], None
            return [(h.arxiv_id, h.score) for h in hits], None
        hits = self.vectors.search(vector, depth * FILTER_OVERSAMPLE)
        items = self.papers.items_for([h.arxiv_id for h in hits])
        ranked = [
            (h.arxiv_id, h.score)
            for h in hits
            if h.arxiv_id in items and _matches(items[h.arxiv_id], filters)
        ][:depth]
        return ranked, items

    def _hydrate(
        self, scored: list[tuple[str, float]], known: dict[str, PaperItem] | None = None
    ) -> list[PaperItem]:
        """Items for ``(id, score)`` in order; unknown or hidden ids are dropped."""
        known = dict(known or {})
        missing = [i for i, _ in scored if i not in known]
        if missing:
            known.update(self.papers.items_for(missing))
        items = []
        for arxiv_id, score in scored:
            item = known.get(arxiv_id)
            if item is None:
                continue
            item.score = float(score)
            items.append(item)
        return items

    # ----------------------------------------------------------------- search
    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        mode: str = "hybrid",
        filters: SearchFilters | None = None,
        sort: str = "relevance",
        highlight: bool = True,
    ) -> SearchResults:
        """Search; raises :class:`InvalidInput` for a bad mode, sort or limit."""
        if mode not in MODES:
            raise InvalidInput(f"invalid mode {mode!r}: expected keyword, semantic or hybrid")
        if sort not in SORTS:
            raise InvalidInput(f"invalid sort {sort!r}: expected relevance or date")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise InvalidInput("offset must be 0 or more")
        query = (query or "").strip()[: self.max_query_chars]
        if not query:
            return SearchResults(query, "keyword", [])
        used, items = "keyword", None
        if mode != "keyword" and self._vectors_ready():
            keyword_hits = None
            if mode == "hybrid" and self.overlap_query_embedding:
                # the model runs outside the GIL: embed on a helper thread while this one asks
                # the keyword index (hybrid needs both; saves the shorter of the two)
                pending = _query_pool().submit(self._query_vector, query)
                keyword_hits = self._keyword_candidates(query, limit, offset, filters)
                vector = pending.result()
            else:
                vector = self._query_vector(query)
            if vector is not None:
                used = mode
                if mode == "semantic":
                    items = self._semantic(vector, limit, offset, filters, sort)
                else:
                    items = self._hybrid(query, vector, limit, offset, filters, sort, keyword_hits)
        if items is None:
            items = self._keyword(query, limit, offset, filters, sort)
        if highlight and items:
            # titles and abstracts are analysed alike (one indexed field): one snippet pass for both
            texts = [i.title for i in items] + [i.abstract for i in items]
            marked = self.keyword.highlight(query, "text", texts)
            titles, abstracts = marked[: len(items)], marked[len(items) :]
            for item, title, abstract in zip(items, titles, abstracts, strict=True):
                item.highlighted_title = title
                item.highlighted_summary = abstract
        return SearchResults(query, used, items)

    def _keyword(self, query, limit, offset, filters, sort) -> list[PaperItem]:
        hits = self.keyword.search(query, limit=limit, offset=offset, filters=filters, sort=sort)
        return self._hydrate([(h.arxiv_id, h.score) for h in hits])

    def _semantic(self, vector, limit, offset, filters, sort) -> list[PaperItem]:
        depth = max(self.candidates, offset + limit)
        ranked, known = self._vector_ranking(vector, depth, filters)
        if sort == "date":
            items = self._hydrate(ranked, known)
            items.sort(key=_published_key, reverse=True)
            return items[offset : offset + limit]
        return self._hydrate(ranked[offset : offset + limit], known)

    def _keyword_candidates(self, query, limit, offset, filters) -> list:
        depth = max(self.candidates, offset + limit)
        return self.keyword.search(query, limit=depth, offset=0, filters=filters, sort="relevance")

    def _hybrid(self, query, vector, limit, offset, filters, sort, keyword_hits=None) -> list[PaperItem]:
        depth = max(self.candidates, offset + limit)
        if keyword_hits is None:
            keyword_hits = self._keyword_candidates(query, limit, offset, filters)
        vector_ranked, known = self._vector_ranking(vector, depth, filters)
        fused = fuse_rankings(
            [(h.arxiv_id, h.score) for h in keyword_hits],
            vector_ranked,
            self.fusion,
            cosines_of=lambda ids: self.vectors.cosines(vector, ids),
        )
        if sort == "date":
            items = self._hydrate(fused, known)
            items.sort(key=_published_key, reverse=True)
            return items[offset : offset + limit]
        return self._hydrate(fused[offset : offset + limit], known)

    # ----------------------------------------------------------------- similar
    def similar(self, arxiv_id: str, limit: int = 10) -> list[PaperItem]:
        """Nearest papers by stored vector; raises ``NotFound`` for an unknown paper.

        Excludes the paper itself and exact duplicates (same content hash, cosine ≈ 1, or the
        same normalised title); empty when the paper has no vector yet.
        """
        if not 1 <= limit <= MAX_SIMILAR:
            raise InvalidInput(f"limit must be between 1 and {MAX_SIMILAR}")
        try:
            paper = self.papers.paper(arxiv_id).paper
        except InvalidInput as exc:
            raise NotFound(f"no paper {arxiv_id[:80]!r} on this instance") from exc
        if self.vectors is None or (self.embedder is not None and not self.embedder.enabled):
            return []
        try:
            hits = self.vectors.similar(paper.arxiv_id, limit + 10)
        except (OSError, ValueError, VectorIndexError) as exc:
            log.warning("similar papers unavailable: %s", exc)
            return []
        own_title = normalised_title(paper.title)
        items = [
            item
            for item in self._hydrate([(h.arxiv_id, h.score) for h in hits])
            if item.arxiv_id != paper.arxiv_id and normalised_title(item.title) != own_title
        ]
        return items[:limit]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _query_pool() -> ThreadPoolExecutor:
    """The process's small pool that embeds hybrid queries (made on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="query-embed")
        return _POOL


def _matches(item: PaperItem, filters: SearchFilters) -> bool:
    if filters.published_from or filters.published_to:
        if item.published_at is None:
            return False
        day = item.published_at.date()
        if filters.published_from and day < filters.published_from:
            return False
        if filters.published_to and day > filters.published_to:
            return False
    return not (filters.categories and not set(filters.categories) & set(item.categories))
