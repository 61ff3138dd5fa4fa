"""RecommendationService: the personal "For you" ranking of recently featured papers.

Candidates are the papers featured since ``since``. Each candidate gets

    score = 1.0·category + 1.5·author + 1.2·search + 2.0·similar + 0.3·popularity

* ``category`` — 1 when the paper is in a category the user follows;
* ``author`` — 1 when one of its authors is followed (case-insensitive name match);
* ``search`` — each saved search runs through :class:`SearchService` (top 120 among papers
  published from 90 days before the window, then top 120 overall, so older papers featured
  late still match); a hit scores ``1 - 0.5·r/n`` (``r`` its rank among the ``n`` hits that
  are candidates); the best saved search counts;
* ``similar`` — ``max(0, (c - floor) / (1 - floor))`` where ``c`` is the best cosine between the
  paper's vector and the vectors of the papers the user upvoted or saved (per-item max, so the
  reason can name the paper; ``floor`` = ``Settings.for_you_similarity_floor``);
* ``popularity`` — ``log(1 + upvotes) / log(1 + most upvotes among candidates)``, a tie-breaker.

The reason shown is the strongest weighted term (``because you follow cs.CL``, ``because you
follow Jane Doe``, ``matches your saved search “…”``, ``similar to “…”, which you upvoted``), or
``popular recently`` when only popularity counts. Papers the user already upvoted or saved are
left out (they are the profile, not news). A user with no follows, upvotes or saved papers gets
the window's papers by the trending formula, each with the reason ``trending``.

No model is loaded here: vectors are read from the :class:`VectorIndex`; without vectors (or
with semantic search off) the similarity term is 0 and the rest still works. Only keyword saved
searches are guaranteed model-free; semantic/hybrid ones fall back to keyword inside
``SearchService`` when the model is unavailable.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.config import Settings
from paperfeed.db import feed_store, follows_store
from paperfeed.errors import InvalidInput, PaperfeedError
from paperfeed.papers.models import PaperItem
from paperfeed.papers.ranking import trending_score
from paperfeed.papers.service import PaperService, attach_people
from paperfeed.search.interfaces import SearchFilters
from paperfeed.search.service import SearchService
from paperfeed.search.vectors import VectorIndex, VectorIndexError

log = logging.getLogger(__name__)

WEIGHTS = {"category": 1.0, "author": 1.5, "search": 1.2, "similar": 2.0, "popularity": 0.3}
MAX_LIMIT = 200
SEARCH_DEPTH = 120
SEARCH_LOOKBACK_DAYS = 90


@dataclass(frozen=True)
class Recommendation:
    """One recommended paper, why, and its score."""

    paper: PaperItem
    reason: str
    score: float


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


class RecommendationService:
    """Ranks recent papers for a user from their follows, upvotes and library (see module doc)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        papers: PaperService,
        search: SearchService,
        vectors: VectorIndex | None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.papers = papers
        self.search = search
        self.vectors = vectors

    # ----------------------------------------------------------------- window
    def default_since(self) -> datetime:
        """Start of the default window: ``for_you_window_days`` before now, or before the newest
        feed entry when nothing was featured that recently (like trending's ``stale``)."""
        now = _naive_utc(self.clock.now())
        window = timedelta(days=self.settings.for_you_window_days)
        with self.engine.connect() as conn:
            newest = feed_store.latest_featured_at(conn, now)
        if newest is None or newest >= now - window:
            return now - window
        return newest - window

    # ----------------------------------------------------------------- ranking
    def for_user(self, user_id: int, *, since: datetime, limit: int) -> list[Recommendation]:
        """The user's ranked recommendations among papers featured since ``since`` (naive = UTC)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        since = _naive_utc(since)
        now = _naive_utc(self.clock.now())
        with self.engine.connect() as conn:
            rows = feed_store.featured_during(conn, since, max(now, since))
            follows = follows_store.follows_of(conn, user_id)
            signals = follows_store.profile_papers(conn, user_id)
            seen = {s["paper_id"] for s in signals}
            rows = [r for r in rows if r["id"] not in seen]
            items = attach_people(conn, rows)
        if not items:
            return []
        if not follows and not signals:
            return self._trending(items, now, limit)
        terms: dict[str, list[tuple[float, str]]] = {
            "category": self._category_terms(items, follows),
            "author": self._author_terms(items, follows),
            "search": self._search_terms(items, follows, since),
            "similar": self._similar_terms(items, signals[: self.settings.for_you_profile_size]),
        }
        most = max((i.upvotes for i in items), default=0)
        scale = math.log1p(most) if most > 0 else 1.0
        ranked = []
        for n, item in enumerate(items):
            score, best, reason = 0.0, 0.0, "popular recently"
            for name, values in terms.items():
                value, why = values[n]
                weighted = WEIGHTS[name] * value
                score += weighted
                if weighted > best:
                    best, reason = weighted, why
            score += WEIGHTS["popularity"] * math.log1p(max(item.upvotes, 0)) / scale
            ranked.append((score, item.upvotes, item.featured_at or datetime.min, item, reason))
        ranked.sort(key=lambda r: r[:3], reverse=True)
        out = []
        for score, _, _, item, reason in ranked[:limit]:
            item.score = round(score, 6)
            out.append(Recommendation(item, reason, item.score))
        return out

    def _trending(self, items: list[PaperItem], now: datetime, limit: int) -> list[Recommendation]:
        newest = max((i.featured_at for i in items if i.featured_at), default=now)
        # like trending: scored as of now, or as of the newest entry when the window is stale
        stale = newest < now - timedelta(days=self.settings.for_you_window_days)
        reference = newest if stale else now
        scored = []
        for item in items:
            score = trending_score(
                item.upvotes,
                item.featured_at or reference,
                reference,
                gravity=self.settings.trending_gravity,
                offset_hours=self.settings.trending_offset_hours,
            )
            scored.append((score, item.upvotes, item))
        scored.sort(key=lambda s: s[:2], reverse=True)
        out = []
        for score, _, item in scored[:limit]:
            item.score = round(score, 6)
            out.append(Recommendation(item, "trending", item.score))
        return out

    # ----------------------------------------------------------------- terms (value, reason) per item
    @staticmethod
    def _category_terms(items: list[PaperItem], follows: list[dict]) -> list[tuple[float, str]]:
        followed = {f["value"] for f in follows if f["kind"] == "category"}
        out = []
        for item in items:
            match = next((c for c in item.categories if c in followed), None)
            out.append((1.0, f"because you follow {match}") if match else (0.0, ""))
        return out

    @staticmethod
    def _author_terms(items: list[PaperItem], follows: list[dict]) -> list[tuple[float, str]]:
        followed = {f["value"].lower(): f["value"] for f in follows if f["kind"] == "author"}
        out = []
        for item in items:
            match = next((followed[a.lower()] for a in item.authors if a.lower() in followed), None)
            out.append((1.0, f"because you follow {match}") if match else (0.0, ""))
        return out

    def _search_terms(
        self, items: list[PaperItem], follows: list[dict], since: datetime
    ) -> list[tuple[float, str]]:
        best: dict[str, tuple[float, str]] = {}
        candidates = {item.arxiv_id for item in items}
        filters = SearchFilters(published_from=(since - timedelta(days=SEARCH_LOOKBACK_DAYS)).date())
        for follow in follows:
            if follow["kind"] != "query":
                continue
            ranked: list[str] = []
            for scope in (filters, None):  # recent papers first, then the whole index
                try:
                    ranked += self._search_ids(follow["value"], follow["mode"] or "hybrid", scope)
                except (PaperfeedError, ValueError) as exc:
                    log.warning("saved search %r failed: %s", follow["value"], exc)
                    break
            hits = [i for i in dict.fromkeys(ranked) if i in candidates]
            for rank, arxiv_id in enumerate(hits):
                value = 1.0 - 0.5 * rank / len(hits)
                if value > best.get(arxiv_id, (0.0, ""))[0]:
                    best[arxiv_id] = (value, f"matches your saved search “{follow['value']}”")
        return [best.get(item.arxiv_id, (0.0, "")) for item in items]

    def _search_ids(self, query: str, mode: str, filters: SearchFilters | None) -> list[str]:
        """Ranked ids for a saved search. Keyword searches ask the keyword index directly (ids
        only: no database round trip for 120 listing items); the others go through SearchService."""
        if mode == "keyword":
            hits = self.search.keyword.search(query, limit=SEARCH_DEPTH, filters=filters)
            return [h.arxiv_id for h in hits]
        results = self.search.search(query, limit=SEARCH_DEPTH, mode=mode, filters=filters, highlight=False)
        return [i.arxiv_id for i in results.items]

    def _similar_terms(self, items: list[PaperItem], profile: list[dict]) -> list[tuple[float, str]]:
        none = [(0.0, "")] * len(items)
        if not profile or self.vectors is None or not self.settings.semantic_search:
            return none
        try:
            profile_ids, profile_matrix = self.vectors.vectors_of([p["arxiv_id"] for p in profile])
            if not profile_ids:
                return none
            cand_ids, cand_matrix = self.vectors.vectors_of([i.arxiv_id for i in items])
        except (OSError, ValueError, VectorIndexError) as exc:
            log.warning("vectors unavailable for For you: %s", exc)
            return none
        if not cand_ids or cand_matrix.shape[1] != profile_matrix.shape[1]:
            return none
        # einsum, not BLAS: a few hundred rows are faster single-threaded than with BLAS threads
        # competing for the request's cores
        sims = np.einsum("id,jd->ij", _unit(cand_matrix), _unit(profile_matrix))
        best_col = sims.argmax(axis=1)
        best_sim = sims[np.arange(len(cand_ids)), best_col]
        by_id = {p["arxiv_id"]: p for p in profile}
        floor = self.settings.for_you_similarity_floor
        found = {}
        for arxiv_id, col, sim in zip(cand_ids, best_col.tolist(), best_sim.tolist(), strict=True):
            value = max(0.0, (sim - floor) / (1.0 - floor))
            if value > 0:
                source = by_id[profile_ids[col]]
                verb = "upvoted" if source["source"] == "upvoted" else "saved"
                found[arxiv_id] = (min(value, 1.0), f"similar to “{source['title']}”, which you {verb}")
        return [found.get(item.arxiv_id, (0.0, "")) for item in items]


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
