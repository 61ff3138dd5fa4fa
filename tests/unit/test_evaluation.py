"""Search-evaluation metrics on hand-computed cases, and BEIR directory reading errors."""

from __future__ import annotations

import math
import re

import pytest

from paperfeed.search.beir import BeirFormatError, load_beir
from paperfeed.search.evaluation import (
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
    score_run,
)


def test_perfect_ranking_scores_one():
    judged = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b", "x"], judged) == pytest.approx(1.0)
    assert recall_at_k(["a", "b", "x"], judged) == 1.0
    assert mrr_at_k(["a", "b", "x"], judged) == 1.0


def test_ndcg_with_graded_judgements():
    # ranking x, b, a with grades a=2, b=1 (x unjudged):
    # DCG = 0/log2(2) + 1/log2(3) + 2/log2(4) = 0.63093 + 1.0; IDCG = 2/1 + 1/log2(3) = 2.63093
    judged = {"a": 2, "b": 1, "c": 0}
    expected = (1 / math.log2(3) + 2 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "b", "a"], judged) == pytest.approx(expected)
    assert expected == pytest.approx(0.6199, abs=1e-4)


def test_ndcg_cuts_at_k_and_ignores_repeated_ids():
    judged = {"a": 1}
    ranking = [f"x{i}" for i in range(10)] + ["a"]
    assert ndcg_at_k(ranking, judged, 10) == 0.0
    assert ndcg_at_k(["x", "x", "a"], judged) == pytest.approx(1 / math.log2(3))


def test_recall_at_100():
    judged = {"a": 1, "b": 1, "c": 1, "d": 0}
    ranking = ["a"] + [f"x{i}" for i in range(98)] + ["b", "c"]  # c is at rank 101
    assert recall_at_k(ranking, judged, 100) == pytest.approx(2 / 3)
    assert recall_at_k(["d"], judged, 100) == 0.0  # grade 0 is not relevant


def test_mrr_at_10():
    judged = {"a": 1, "b": 1}
    assert mrr_at_k(["x", "y", "b", "a"], judged) == pytest.approx(1 / 3)
    assert mrr_at_k([f"x{i}" for i in range(10)] + ["a"], judged) == 0.0


def test_empty_results_score_zero():
    judged = {"a": 1}
    assert ndcg_at_k([], judged) == 0.0
    assert recall_at_k([], judged) == 0.0
    assert mrr_at_k([], judged) == 0.0
    scores = score_run({}, {"q1": judged})
    assert scores == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}


def test_score_run_averages_over_queries():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run = {"q1": ["a"], "q2": ["x", "b"]}
    scores = score_run(run, qrels)
    assert scores["mrr@10"] == pytest.approx((1 + 0.5) / 2)
    assert scores["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert scores["recall@100"] == 1.0


def test_percentile():
    assert percentile([], 50) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile(list(range(101)), 99) == pytest.approx(99.0)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _beir(tmp_path, *, corpus=None, queries=None, qrels=None):
    _write(
        tmp_path / "corpus.jsonl",
        corpus
        if corpus is not None
        else '{"_id": "d1", "title": "T", "text": "x"}\n{"_id": "d2", "title": "U", "text": "y"}\n',
    )
    _write(
        tmp_path / "queries.jsonl",
        queries
        if queries is not None
        else '{"_id": "q1", "text": "find x", "metadata": {"type": "kw"}}\n{"_id": "q2", "text": "none"}\n',
    )
    _write(
        tmp_path / "qrels" / "test.tsv",
        qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td2\t0\n",
    )
    return tmp_path


def test_load_beir_skips_queries_without_positive_qrels(tmp_path):
    dataset = load_beir(_beir(tmp_path))
    assert dataset.corpus == {"d1": ("T", "x"), "d2": ("U", "y")}
    assert dataset.queries == {"q1": "find x"}
    assert dataset.qrels == {"q1": {"d1": 2}}
    assert dataset.query_types == {"q1": "kw"}
    assert dataset.skipped_queries == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"corpus": '{"_id": "d1", "text": "x"}\n{"_id": "d2", "text": \n'},
            "corpus.jsonl:2: not valid JSON",
        ),
        ({"corpus": '{"title": "no id", "text": "x"}\n'}, "corpus.jsonl:1: missing field '_id'"),
        ({"queries": '{"_id": "q1"}\n'}, "queries.jsonl:1: missing field 'text'"),
        ({"qrels": "q1\td1\t1\n"}, "test.tsv:1: expected the header line"),
        (
            {"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"},
            "test.tsv:2: score 'high' is not an integer",
        ),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1 d1 1\n"}, "test.tsv:2: expected 3 tab-separated columns"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, kwargs, message):
    with pytest.raises(BeirFormatError, match=re.escape(message)):
        load_beir(_beir(tmp_path, **kwargs))


def test_missing_files(tmp_path):
    with pytest.raises(BeirFormatError, match="not a directory"):
        load_beir(tmp_path / "nope")
    with pytest.raises(BeirFormatError, match=r"missing corpus\.jsonl"):
        load_beir(tmp_path)
    _beir(tmp_path)
    with pytest.raises(
        BeirFormatError, match=r"missing qrels file for split 'dev' \(available splits: test\)"
    ):
        load_beir(tmp_path, "dev")


def test_vector_cache_stays_out_of_a_read_only_dataset(tmp_path, monkeypatch):
    from paperfeed.search.evaluation import default_vectors_cache

    folder = tmp_path / "set"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "title": "T", "text": "x"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    dataset = load_beir(folder, "test")
    assert default_vectors_cache(dataset, "m", 256).parent == folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder.chmod(0o555)
    try:
        cache = default_vectors_cache(load_beir(folder, "test"), "m", 256)
    finally:
        folder.chmod(0o755)
    assert cache.parent == tmp_path / "cache" / "paperfeed" / "eval"
    assert cache.name.startswith(".paperfeed-vectors-m-256-")
