"""``VectorIndex.vectors_of``: many stored vectors in one call (real index files)."""

from __future__ import annotations

import numpy as np

from paperfeed.search.vectors import VectorIndex


def test_vectors_of_returns_found_rows_in_the_order_asked(tmp_path):
    index = VectorIndex(tmp_path / "index", refresh_seconds=0.0)
    assert index.vectors_of(["a"])[0] == []  # no generation yet
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index.upsert(["p0", "p1", "p2", "p3", "p4"], vectors, model="test")
    index.upsert(["p1"], vectors[4:5], model="test")  # a newer segment supersedes p1
    index.remove(["p3"])
    ids, matrix = index.vectors_of(["p4", "missing", "p1", "p3", "p0", "p4"])
    assert ids == ["p4", "p1", "p0"]
    assert matrix.dtype == np.float32 and matrix.shape == (3, 8)
    np.testing.assert_allclose(matrix, vectors[[4, 4, 0]], atol=1e-6)
    empty_ids, empty = index.vectors_of(["missing"])
    assert empty_ids == [] and empty.shape == (0, 8)
