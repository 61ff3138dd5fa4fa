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


# ------------------------------------------------------------------ score fusion
def test_score_fusion_combines_normalised_bm25_and_cosine():
    from paperfeed.search.hybrid import score_fusion

    keyword = [("a", 10.0), ("b", 5.0)]
    cosines = {"a": 0.2, "b": 0.6, "c": 0.9}
    fused = dict(score_fusion(keyword, cosines, keyword_share=0.4))
    assert fused["a"] == pytest.approx(0.4 * 1.0 + 0.6 * 0.2)
    assert fused["b"] == pytest.approx(0.4 * 0.5 + 0.6 * 0.6)
    assert fused["c"] == pytest.approx(0.6 * 0.9)  # not a keyword hit: BM25 counts 0
    assert [d for d, _ in score_fusion(keyword, cosines, keyword_share=0.4)] == ["b", "c", "a"]
    # a keyword hit without a vector counts the lowest cosine given
    fused = dict(score_fusion([("x", 2.0)], {"y": 0.5, "z": 0.3}, keyword_share=0.5))
    assert fused["x"] == pytest.approx(0.5 + 0.5 * 0.3)


def test_score_fusion_edges():
    from paperfeed.search.hybrid import score_fusion

    assert score_fusion([], {}, keyword_share=0.4) == []
    only_vectors = score_fusion([], {"a": 0.1, "b": 0.7}, keyword_share=0.4)
    assert [d for d, _ in only_vectors] == ["b", "a"]
    only_keyword = score_fusion([("a", 1.0), ("b", 3.0)], {}, keyword_share=0.4)
    assert [d for d, _ in only_keyword] == ["b", "a"]
    # equal fused scores are ordered by id: the result is deterministic
    assert [d for d, _ in score_fusion([], {"w": 0.5, "v": 0.5}, keyword_share=0.4)] == ["v", "w"]
    with pytest.raises(ValueError):
        score_fusion([("a", 1.0)], {}, keyword_share=1.5)


def test_fuse_rankings_asks_for_missing_cosines_only_and_keeps_rrf():
    from paperfeed.search.hybrid import FusionSettings, fuse_rankings

    asked: list[list[str]] = []

    def cosines_of(ids):
        asked.append(list(ids))
        return {"k": 0.8}

    fused = fuse_rankings([("k", 4.0), ("v", 2.0)], [("v", 0.5)], FusionSettings(), cosines_of=cosines_of)
    assert asked == [["k"]]
    assert [d for d, _ in fused] == ["k", "v"]
    rrf = fuse_rankings([("a", 9.0), ("b", 1.0)], [("b", 0.9)], FusionSettings(method="rrf"))
    assert rrf == reciprocal_rank_fusion([["a", "b"], ["b"]])
    with pytest.raises(ValueError):
        fuse_rankings([], [], FusionSettings(method="magic"))
