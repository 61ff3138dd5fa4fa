"""Fusing the keyword (BM25) and vector (cosine) rankings of a hybrid search.

Two methods, chosen by ``PAPERFEED_HYBRID_FUSION``:

* ``score`` (default) — a convex combination of the two scores of every candidate::

      fused(d) = α · bm25(d) / max_bm25  +  (1 − α) · cos(q, d)

  over the union of both top-N lists. BM25 is divided by the query's best BM25 score (so the
  best keyword match counts 1, whatever the query's length); the cosine is used as is (it is
  already on a fixed scale). Every candidate gets its *exact* cosine, also the ones that only
  the keyword side found (their stored vectors are looked up); a paper outside the keyword
  top-N counts BM25 0. ``α`` is ``PAPERFEED_HYBRID_KEYWORD_SHARE`` (0.4). Unlike rank fusion it
  keeps how *much* better one paper scores than the next: on SciFact it ranks 1.2 points of
  nDCG@10 above the best RRF setting (docs/search.md, "Tuning on public data").
* ``rrf`` — reciprocal-rank fusion::

      fused(d) = Σ_lists  weight_list / (k + rank_list(d))      (rank from 1)

  RRF needs no score calibration at all; ``k`` (default 60, from Cormack et al. 2009) damps the
  influence of top ranks; the weights let an instance favour one side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_K = 60
DEFAULT_KEYWORD_SHARE = 0.4
FUSION_METHODS = ("score", "rrf")


@dataclass(frozen=True)
class FusionSettings:
    """How a hybrid search fuses its two rankings (from the ``hybrid_*`` settings)."""

    method: str = "score"
    keyword_share: float = DEFAULT_KEYWORD_SHARE
    keyword_weight: float = 1.0
    vector_weight: float = 1.0
    rrf_k: int = DEFAULT_K

    @classmethod
    def from_settings(cls, settings) -> FusionSettings:
        return cls(
            method=settings.hybrid_fusion,
            keyword_share=settings.hybrid_keyword_share,
            keyword_weight=settings.hybrid_keyword_weight,
            vector_weight=settings.hybrid_vector_weight,
            rrf_k=settings.hybrid_rrf_k,
        )


def fuse_rankings(
    keyword: Sequence[tuple[str, float]],
    vector: Sequence[tuple[str, float]],
    settings: FusionSettings,
    *,
    cosines_of: Callable[[list[str]], dict[str, float]] | None = None,
) -> list[tuple[str, float]]:
    """Fuse ``[(id, bm25)]`` and ``[(id, cosine)]`` (each best first) into ``[(id, score)]``.

    ``cosines_of(ids)`` gives the exact cosine of keyword-only candidates for score fusion
    (ids it cannot answer, e.g. papers not embedded yet, count as the lowest cosine seen).
    """
    if settings.method == "rrf":
        return reciprocal_rank_fusion(
            [[i for i, _ in keyword], [i for i, _ in vector]],
            weights=[settings.keyword_weight, settings.vector_weight],
            k=settings.rrf_k,
        )
    if settings.method != "score":
        raise ValueError(f"unknown fusion method {settings.method!r}")
    cosines = dict(vector)
    missing = [i for i, _ in keyword if i not in cosines]
    if missing and cosines_of is not None:
        cosines.update(cosines_of(missing))
    return score_fusion(keyword, cosines, keyword_share=settings.keyword_share)


def score_fusion(
    keyword: Sequence[tuple[str, float]], cosines: dict[str, float], *, keyword_share: float
) -> list[tuple[str, float]]:
    """``α · bm25 / max_bm25 + (1 − α) · cosine`` for every id of ``keyword`` and ``cosines``.

    A keyword hit without a cosine counts as the lowest cosine given; ties go to the better
    BM25, then to the id, so the result is deterministic.
    """
    if not 0.0 <= keyword_share <= 1.0:
        raise ValueError("keyword_share must be between 0 and 1")
    bm25 = {}
    for doc_id, score in keyword:
        bm25.setdefault(doc_id, float(score))
    top = max(bm25.values(), default=0.0)
    scale = 1.0 / top if top > 0 else 0.0
    floor = min(cosines.values(), default=0.0)
    fused = {
        doc_id: keyword_share * bm25.get(doc_id, 0.0) * scale
        + (1.0 - keyword_share) * float(cosines.get(doc_id, floor))
        for doc_id in {*bm25, *cosines}
    }
    return sorted(fused.items(), key=lambda item: (-item[1], -bm25.get(item[0], 0.0), item[0]))


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]],
    *,
    weights: Sequence[float] | None = None,
    k: int = DEFAULT_K,
    limit: int | None = None,
) -> list[tuple[str, float]]:
    """Fuse ranked id lists into one ``[(id, score)]`` list, best first.

    Ties are broken by the best single rank, then by first appearance, so the result is
    deterministic. An id repeated inside one list counts once, at its best rank.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking is needed")
    if k < 0:
        raise ValueError("k must be >= 0")
    scores: dict[str, float] = {}
    best_rank: dict[str, int] = {}
    order: dict[str, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[str] = set()
        for rank, doc_id in enumerate(ranking, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
            best_rank[doc_id] = min(best_rank.get(doc_id, rank), rank)
            order.setdefault(doc_id, len(order))
    fused = sorted(scores.items(), key=lambda item: (-item[1], best_rank[item[0]], order[item[0]]))
    return fused[:limit] if limit is not None else fused
