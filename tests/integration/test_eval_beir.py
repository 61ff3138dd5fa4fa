"""``paperfeed eval beir`` end to end: the real CLI in a subprocess, on the small BEIR set built
from our own papers (tests/fixtures/beir_papers_small, 150 docs, 60 queries), with the real
tantivy index, vector index and bundled model (offline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.cli import run_cli

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "beir_papers_small"
OFFLINE = {"HF_HUB_OFFLINE": "1"}
METRICS = {"ndcg@10", "recall@100", "mrr@10"}


@pytest.fixture
def beir_dir(tmp_path):
    """A private copy of the fixture set (the vector cache is written next to it)."""
    target = tmp_path / "beir_papers_small"
    shutil.copytree(FIXTURE, target)
    return target


def _env(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return {**OFFLINE, "TMPDIR": str(scratch)}


def _check_metrics(metrics: dict) -> None:
    assert set(metrics) >= METRICS
    for name in METRICS:
        assert 0.0 <= metrics[name] <= 1.0


def test_keyword_mode_prints_metrics_and_leaves_nothing_behind(tmp_path, beir_dir):
    instance = tmp_path / "instance"
    result = run_cli(instance, "eval", "beir", str(beir_dir), "--mode", "keyword", env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["dataset"] == "beir_papers_small"
    assert data["split"] == "test"
    assert (data["queries"], data["docs"], data["skipped_queries"]) == (60, 150, 0)
    assert list(data["modes"]) == ["keyword"]
    keyword = data["modes"]["keyword"]
    _check_metrics(keyword)
    assert keyword["latency_ms"]["p50"] > 0
    assert keyword["latency_ms"]["p99"] >= keyword["latency_ms"]["p50"]
    # the keyword queries are HF's ai_keywords: word overlap, BM25 finds nearly all of them first
    by_type = data["by_query_type"]
    assert by_type["keywords"]["queries"] == 30 and by_type["paraphrase"]["queries"] == 30
    assert by_type["keywords"]["modes"]["keyword"]["mrr@10"] >= 0.9
    assert data["settings"]["hybrid_rrf_k"] >= 0
    assert data["settings"]["embedding_model"] is None
    # a throwaway instance: no temporary folder left, the configured instance untouched
    assert list((tmp_path / "scratch").glob("paperfeed-eval-*")) == []
    assert not instance.exists()


@pytest.mark.slow
def test_semantic_and_hybrid_modes_with_vector_cache(tmp_path, beir_dir):
    out = tmp_path / "result.json"
    args = [
        "eval",
        "beir",
        str(beir_dir),
        "--max-tokens",
        "128",
        "--limit-queries",
        "40",
        "--json-out",
        str(out),
    ]
    first = run_cli(tmp_path / "instance", *args, env=_env(tmp_path))
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert json.loads(out.read_text()) == data
    assert data["queries"] == 40
    assert set(data["modes"]) == {"keyword", "semantic", "hybrid"}
    for metrics in data["modes"].values():
        _check_metrics(metrics)
    assert data["settings"]["embedding_max_tokens"] == 128
    assert data["settings"]["vectors"].startswith("embedded, saved to")
    semantic = data["modes"]["semantic"]
    assert semantic["recall@100"] >= 0.9  # 150 documents: the model finds nearly every paper
    assert semantic["latency_ms"]["p50"] > 0
    caches = list(beir_dir.glob(".paperfeed-vectors-*-128-*.npy"))
    assert len(caches) == 1
    assert np.load(caches[0]).shape == (150, 384)

    # a second run reads the cache instead of embedding, and ranks the same way
    again = run_cli(
        tmp_path / "instance",
        "eval",
        "beir",
        str(beir_dir),
        "--max-tokens",
        "128",
        "--limit-queries",
        "40",
        "--mode",
        "semantic",
        env=_env(tmp_path),
    )
    assert again.returncode == 0, again.stderr
    repeat = json.loads(again.stdout)
    assert repeat["settings"]["vectors"].startswith("cache ")
    for name in METRICS:
        assert repeat["modes"]["semantic"][name] == pytest.approx(semantic[name], abs=1e-3)

    # --vectors PATH: an explicit file, reused as is; one of the wrong shape is a clear error
    vectors = tmp_path / "vectors.npy"
    np.save(vectors, np.load(caches[0]))
    hybrid = run_cli(
        tmp_path / "instance",
        "eval",
        "beir",
        str(beir_dir),
        "--mode",
        "hybrid",
        "--limit-queries",
        "40",
        "--max-tokens",
        "128",
        "--vectors",
        str(vectors),
        env=_env(tmp_path),
    )
    assert hybrid.returncode == 0, hybrid.stderr
    assert json.loads(hybrid.stdout)["modes"]["hybrid"]["ndcg@10"] == pytest.approx(
        data["modes"]["hybrid"]["ndcg@10"], abs=1e-3
    )
    np.save(vectors, np.zeros((3, 384), dtype=np.float32))
    bad = run_cli(
        tmp_path / "instance",
        "eval",
        "beir",
        str(beir_dir),
        "--mode",
        "semantic",
        "--vectors",
        str(vectors),
        env=_env(tmp_path),
    )
    assert bad.returncode == 1
    assert "needs (150, 384)" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert list((tmp_path / "scratch").glob("paperfeed-eval-*")) == []


def test_malformed_directory_is_a_one_line_error(tmp_path, beir_dir):
    corpus = beir_dir / "corpus.jsonl"
    lines = corpus.read_text().splitlines()
    lines[4] = '{"_id": "broken", "title": '
    corpus.write_text("\n".join(lines) + "\n")
    result = run_cli(
        tmp_path / "instance", "eval", "beir", str(beir_dir), "--mode", "keyword", env=_env(tmp_path)
    )
    assert result.returncode == 1
    assert result.stdout == ""
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith("error: ") and "corpus.jsonl:5: not valid JSON" in errors[0]

    missing = run_cli(tmp_path / "instance", "eval", "beir", str(tmp_path / "nothing"), env=_env(tmp_path))
    assert missing.returncode == 1
    assert "not a directory" in missing.stderr and "Traceback" not in missing.stderr


def test_missing_qrels_split_is_an_error(tmp_path, beir_dir):
    result = run_cli(
        tmp_path / "instance", "eval", "beir", str(beir_dir), "--split", "dev", env=_env(tmp_path)
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "missing qrels file for split 'dev' (available splits: test)" in result.stderr
    assert "Traceback" not in result.stderr
