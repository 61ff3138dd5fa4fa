"""Exact (graph-less) vector segments: scores and order equal a brute-force dot product."""

from __future__ import annotations

import numpy as np

from paperfeed.search.vectors import VectorIndex


def _unit(rows: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((rows, 384)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_exact_search_matches_brute_force_and_skips_removed_rows(tmp_path):
    vectors = _unit(3000, seed=1)
    ids = [f"2401.{i:05d}" for i in range(len(vectors))]
    index = VectorIndex(tmp_path, refresh_seconds=0)
    with index.writer(model="m", dim=384) as writer:
        writer.upsert(ids, vectors, hashes=range(1, len(ids) + 1))  # distinct texts
        writer.commit(1)
    assert all(seg.hnsw is None for seg in index.generation().segments)
    query = _unit(1, seed=2)[0]
    brute = vectors @ query
    expected = np.argsort(-brute)[:10]
    hits = index.search(query, 10)
    assert [h.arxiv_id for h in hits] == [ids[i] for i in expected]
    np.testing.assert_allclose([h.score for h in hits], brute[expected], atol=1e-5)

    removed = {ids[i] for i in expected[:3]}
    with index.writer(model="m", dim=384) as writer:
        writer.remove(removed)
        writer.commit(2)
    hits = index.search(query, 10)
    assert not removed & {h.arxiv_id for h in hits}
    assert [h.arxiv_id for h in hits] == [ids[i] for i in np.argsort(-brute)[3:13]]
    similar = index.similar(ids[int(expected[5])], 5)
    assert [h.arxiv_id for h in similar] == [
        ids[i] for i in np.argsort(-(vectors @ vectors[expected[5]])) if ids[i] not in removed
    ][1:6]


def test_hnsw_segments_search_with_ef_512_by_default(tmp_path):
    """efSearch 512: recall@10 0.87 vs 0.77 at 256 for text queries over 1M vectors, +0.75 ms."""
    assert VectorIndex(tmp_path).ef_search == 512
    vectors = _unit(600, seed=3)
    ids = [f"2402.{i:05d}" for i in range(len(vectors))]
    index = VectorIndex(tmp_path, hnsw_threshold=500, refresh_seconds=0)
    with index.writer(model="m", dim=384) as writer:
        writer.upsert(ids, vectors, hashes=range(1, len(ids) + 1))
        writer.commit(1)
    assert [seg.hnsw is not None for seg in index.generation().segments] == [True]
    query = _unit(1, seed=4)[0]
    # with ef (512) at least the segment's size, the graph search is exhaustive: exact top 10
    assert [h.arxiv_id for h in index.search(query, 10)] == [
        ids[i] for i in np.argsort(-(vectors @ query))[:10]
    ]
