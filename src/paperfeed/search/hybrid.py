"""Reciprocal-rank fusion (RRF) of ranked result lists.

    fused(d) = Σ_lists  weight_list / (k + rank_list(d))      (rank from 1)

RRF needs no score calibration between BM25 and cosine similarity, which is why it is the
standard way to combine keyword and vector retrieval. ``k`` (default 60, from Cormack et al.
2009) damps the influence of top ranks; the weights let an instance favour one side.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_K = 60


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
