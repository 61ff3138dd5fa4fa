"""Reciprocal-rank fusion."""

from __future__ import annotations

import pytest

from paperfeed.search.hybrid import reciprocal_rank_fusion


def test_documents_found_by_both_lists_win():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d", "a"]], k=60)
    ids = [doc for doc, _ in fused]
    assert ids[:2] == ["a", "c"]  # in both lists; a has the better best rank
    assert set(ids) == {"a", "b", "c", "d"}
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)


def test_weights_and_limit():
    keyword_heavy = [d for d, _ in reciprocal_rank_fusion([["a"], ["b"]], weights=[2.0, 1.0])]
    assert keyword_heavy == ["a", "b"]
    vector_heavy = [d for d, _ in reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])]
    assert vector_heavy == ["b", "a"]
    assert len(reciprocal_rank_fusion([["a", "b", "c"]], limit=2)) == 2


def test_duplicates_inside_a_list_count_once_and_ties_are_deterministic():
    fused = reciprocal_rank_fusion([["a", "a", "b"], ["b", "a"]])
    assert dict(fused)["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert [d for d, _ in reciprocal_rank_fusion([["x"], ["y"]])] == ["x", "y"]


def test_bad_arguments():
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], k=-1)
    assert reciprocal_rank_fusion([]) == []
