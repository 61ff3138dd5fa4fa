"""Semantic and hybrid search, similar papers and the vector CLI, with the real model (no mocks).

One instance (the fixture papers, embedded once at 64 tokens) is shared by the module: embedding
~314 papers takes several seconds on a small machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from paperfeed.app import create_app
from paperfeed.clock import FixedClock
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine, upgrade
from paperfeed.db.models import Paper
from paperfeed.db.sequences import next_change_seqs
from paperfeed.errors import NotFound
from paperfeed.ingest.service import ingest_file
from paperfeed.papers.service import PaperService
from paperfeed.search.embed import DEFAULT_MODEL_ID, MiniLMEmbedder
from paperfeed.search.embed_worker import Worker
from paperfeed.search.indexer import update_keyword_index
from paperfeed.search.interfaces import SearchFilters
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.semantic import (
    BackgroundVectorIndexer,
    EmbedderProvider,
    QueryVectorCache,
    indexer_lock,
    vectors_behind,
)
from paperfeed.search.service import SearchService
from paperfeed.search.vector_follower import follow_vectors
from paperfeed.search.vectors import VectorIndex
from tests.conftest import FIXTURES, TEST_NOW

GESTURE_QUERY = "hand gesture recognition with several sensor modalities"
GESTURE_PAPER = "1812.06145"
# shares no word (stem) with the paper's title or abstract
PARAPHRASE = "classifying finger and palm motions using extra sensors only while fitting"


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("semantic") / "var",
        secret_key="test-secret-key-not-for-production",
        embedding_max_tokens=64,
    )
    upgrade(settings)
    engine = get_engine(settings)
    clock = FixedClock(TEST_NOW)
    keyword = TantivyKeywordIndex(settings.index_dir, refresh_seconds=0.0)
    ingest_file(settings, engine, "arxiv-snapshot", FIXTURES / "snapshot_300.jsonl.gz", clock=clock)
    ingest_file(settings, engine, "hf-daily", FIXTURES / "hf_daily", clock=clock)
    update_keyword_index(engine, keyword)
    embedder = MiniLMEmbedder(max_length=64)
    vectors = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    # the production path: a worker stores vectors in the database, the follower indexes them
    Worker(engine, embedder.name, lambda: embedder).run(until_done=True)
    follow_vectors(engine, vectors, embedder.name)
    provider = EmbedderProvider.of(embedder)
    service = SearchService.from_settings(
        settings, keyword, PaperService(engine, settings, clock), vectors=vectors, embedder=provider
    )
    app = create_app(
        settings, clock=clock, engine=engine, keyword_index=keyword, vector_index=vectors, embedder=provider
    )
    with TestClient(app) as client:
        yield SimpleNamespace(
            settings=settings,
            engine=engine,
            clock=clock,
            keyword=keyword,
            vectors=vectors,
            embedder=embedder,
            provider=provider,
            service=service,
            client=client,
        )
    engine.dispose()


def _ids(results):
    return [item.arxiv_id for item in results.items]


def test_semantic_search_finds_the_paper_by_meaning(instance):
    results = instance.service.search(GESTURE_QUERY, limit=5, mode="semantic")
    assert results.mode == "semantic" and _ids(results)[0] == GESTURE_PAPER
    scores = [item.score for item in results.items]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0001
    # paging continues the same ranking
    page2 = instance.service.search(GESTURE_QUERY, limit=5, offset=5, mode="semantic")
    both = instance.service.search(GESTURE_QUERY, limit=10, mode="semantic")
    assert _ids(results) + _ids(page2) == _ids(both)


def test_hybrid_fuses_both_sides(instance):
    service = instance.service
    query = "multimodal hand gesture recognition"
    hybrid = service.search(query, limit=50, mode="hybrid")
    assert hybrid.mode == "hybrid" and _ids(hybrid)[0] == GESTURE_PAPER
    keyword_ids = set(_ids(service.search(query, limit=50, mode="keyword")))
    semantic_ids = set(_ids(service.search(query, limit=50, mode="semantic")))
    fused = set(_ids(hybrid))
    assert fused & (keyword_ids - semantic_ids) and fused & (semantic_ids - keyword_ids)
    # highlights still come from the keyword side
    assert "<b>" in (hybrid.items[0].highlighted_title or "")


def test_a_paraphrase_without_shared_words_is_found_by_meaning(instance):
    service = instance.service
    keyword = _ids(service.search(PARAPHRASE, limit=50, mode="keyword"))
    semantic = _ids(service.search(PARAPHRASE, limit=50, mode="semantic"))
    hybrid = _ids(service.search(PARAPHRASE, limit=50, mode="hybrid"))
    assert GESTURE_PAPER not in keyword
    assert semantic.index(GESTURE_PAPER) < 3
    assert GESTURE_PAPER in hybrid


def test_filters_and_date_sort(instance):
    service = instance.service
    only_cv = SearchFilters(categories=("cs.CV",))
    for mode in ("semantic", "hybrid"):
        results = service.search(GESTURE_QUERY, limit=20, mode=mode, filters=only_cv)
        assert results.items and all("cs.CV" in item.categories for item in results.items)
    later = SearchFilters(published_from=TEST_NOW.date().replace(year=2026, month=1, day=1))
    results = service.search(GESTURE_QUERY, limit=20, mode="semantic", filters=later)
    assert GESTURE_PAPER not in _ids(results)  # published in 2025
    assert all(item.published_at.date() >= later.published_from for item in results.items)
    by_date = service.search(GESTURE_QUERY, limit=20, mode="hybrid", sort="date")
    days = [item.published_at for item in by_date.items]
    assert by_date.mode == "hybrid" and days == sorted(days, reverse=True)


def test_query_vectors_are_cached(instance):
    cache = QueryVectorCache(size=2)
    first = cache.get(instance.embedder, "a query")
    assert cache.get(instance.embedder, "a query") is first
    cache.get(instance.embedder, "b")
    cache.get(instance.embedder, "c")
    assert len(cache) == 2 and cache.get(instance.embedder, "a query") is not first


def test_falls_back_to_keyword_without_vectors_or_model(instance, tmp_path):
    papers = PaperService(instance.engine, instance.settings, instance.clock)
    empty = VectorIndex(tmp_path / "no-index", refresh_seconds=0.0)
    never_loaded = EmbedderProvider(lambda: (_ for _ in ()).throw(AssertionError("model loaded")))
    service = SearchService(instance.keyword, papers, vectors=empty, embedder=never_loaded)
    for mode in ("semantic", "hybrid"):
        results = service.search(GESTURE_QUERY, limit=5, mode=mode)
        assert results.mode == "keyword" and results.items
    assert not never_loaded.loaded
    broken = EmbedderProvider(lambda: MiniLMEmbedder(max_length=1))
    service = SearchService(instance.keyword, papers, vectors=instance.vectors, embedder=broken)
    results = service.search(GESTURE_QUERY, limit=5, mode="hybrid")
    assert results.mode == "keyword" and results.items and "max_length" in broken.error
    # the HTTP API reports the mode actually used
    off = create_app(
        instance.settings.model_copy(update={"semantic_search": False}),
        clock=instance.clock,
        engine=instance.engine,
        keyword_index=instance.keyword,
        vector_index=instance.vectors,
    )
    with TestClient(off) as client:
        response = client.get("/api/papers/search", params={"q": GESTURE_QUERY, "mode": "semantic"})
        assert response.headers["X-Search-Mode"] == "keyword"
        assert client.get(f"/api/papers/{GESTURE_PAPER}/similar").json() == []


def test_search_api_modes(instance):
    client = instance.client
    response = client.get("/api/papers/search", params={"q": GESTURE_QUERY, "mode": "semantic", "limit": 3})
    assert response.status_code == 200 and response.headers["X-Search-Mode"] == "semantic"
    assert response.json()[0]["paper"]["id"] == GESTURE_PAPER
    default = client.get("/api/papers/search", params={"q": GESTURE_QUERY})
    assert default.headers["X-Search-Mode"] == "hybrid"
    page = client.get("/search", params={"q": PARAPHRASE, "mode": "semantic"})
    assert page.status_code == 200 and "semantic search" in page.text and "isn’t available" not in page.text


def test_similar_papers_api(instance):
    client = instance.client
    response = client.get(f"/api/papers/{GESTURE_PAPER}/similar", params={"limit": 5})
    assert response.status_code == 200
    items = response.json()
    assert len(items) == 5 and GESTURE_PAPER not in [i["paper"]["id"] for i in items]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s < 0.9999 for s in scores)
    assert {"title", "summary", "publishedAt", "paper"} <= set(items[0])
    assert client.get(f"/api/papers/{GESTURE_PAPER}v2/similar?limit=5").json() == items  # versioned id
    missing = client.get("/api/papers/9999.99999/similar")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/papers/not-an-id/similar").status_code == 404
    assert client.get(f"/api/papers/{GESTURE_PAPER}/similar", params={"limit": 51}).status_code == 422
    # the catch-all paper route still answers
    assert client.get(f"/api/papers/{GESTURE_PAPER}").json()["id"] == GESTURE_PAPER


def test_similar_drops_exact_duplicates_by_title(instance):
    service = instance.service
    neighbour = service.similar(GESTURE_PAPER, 1)[0]
    original = neighbour.title
    _set_paper(
        instance.engine,
        neighbour.arxiv_id,
        title=f"  {service.papers.paper(GESTURE_PAPER).paper.title.upper()}!",
    )
    try:
        assert neighbour.arxiv_id not in [i.arxiv_id for i in service.similar(GESTURE_PAPER, 10)]
    finally:
        _set_paper(instance.engine, neighbour.arxiv_id, title=original)
    with pytest.raises(NotFound):
        service.similar("9999.99999")


def test_paper_page_shows_similar_papers(instance, tmp_path):
    page = instance.client.get(f"/papers/{GESTURE_PAPER}")
    assert page.status_code == 200 and "Similar papers" in page.text
    first = instance.service.similar(GESTURE_PAPER, 1)[0]
    assert f'href="/papers/{first.arxiv_id}"' in page.text
    # no vectors: no block
    bare = create_app(
        instance.settings,
        clock=instance.clock,
        engine=instance.engine,
        keyword_index=instance.keyword,
        vector_index=VectorIndex(tmp_path / "empty", refresh_seconds=0.0),
        embedder=instance.provider,
    )
    with TestClient(bare) as client:
        page = client.get(f"/papers/{GESTURE_PAPER}")
        assert page.status_code == 200 and "Similar papers" not in page.text


def _set_paper(engine, arxiv_id, **values):
    with engine.begin() as conn:
        seq = next_change_seqs(conn, 1)[0]
        table = Paper.__table__
        conn.execute(update(table).where(table.c.arxiv_id == arxiv_id).values(change_seq=seq, **values))


def test_background_indexer_runs_only_when_behind_and_unlocked(instance):
    calls = []

    def factory():
        calls.append(1)
        return instance.embedder

    provider = EmbedderProvider(factory)
    background = BackgroundVectorIndexer(
        instance.engine, instance.vectors, provider, instance.settings.index_dir, interval=3600
    )
    # catch up earlier edits
    Worker(instance.engine, DEFAULT_MODEL_ID, lambda: instance.embedder).run(until_done=True)
    follow_vectors(instance.engine, instance.vectors, DEFAULT_MODEL_ID)
    # up to date: the model is not even loaded
    assert background.run_once() is False and not calls
    assert not vectors_behind(instance.engine, instance.vectors, DEFAULT_MODEL_ID)
    assert vectors_behind(instance.engine, instance.vectors, "another-model")  # model changed
    # a change without new text: verified and followed, still without the model
    _set_paper(instance.engine, GESTURE_PAPER)
    assert vectors_behind(instance.engine, instance.vectors, DEFAULT_MODEL_ID)
    with indexer_lock(instance.settings.index_dir) as held:
        assert held
        assert background.run_once() is False  # another embedder holds the lock
    assert background.run_once() is True and not calls
    # new text: the thread embeds it (loading the model now) and the index follows
    original = instance.service.papers.paper(GESTURE_PAPER).paper.title
    _set_paper(instance.engine, GESTURE_PAPER, title=original + " (revisited)")
    cursor = instance.vectors.cursor_state()
    background.start()
    try:
        for _ in range(200):
            if background.runs > 1:
                break
            time.sleep(0.05)
    finally:
        background.stop(timeout=5)
    assert background.runs == 2 and calls == [1] and instance.vectors.cursor_state() != cursor
    assert instance.vectors.vector_of(GESTURE_PAPER) is not None
    assert not vectors_behind(instance.engine, instance.vectors, DEFAULT_MODEL_ID)
    _set_paper(instance.engine, GESTURE_PAPER, title=original)
    again = BackgroundVectorIndexer(
        instance.engine, instance.vectors, provider, instance.settings.index_dir, interval=3600
    )
    assert again.run_once() is True and calls == [1]
    assert not vectors_behind(instance.engine, instance.vectors, DEFAULT_MODEL_ID)


# ------------------------------------------------------------------ the command line
def _cli(data_dir, *args, **env):
    return subprocess.run(
        [sys.executable, "-m", "paperfeed.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **env),
        timeout=120,
        check=False,
    )


def test_embed_export_import_round_trip(instance, tmp_path):
    exported = tmp_path / "vectors.npz"
    result = _cli(instance.settings.data_dir, "embed", "--export", str(exported))
    assert result.returncode == 0, result.stderr
    target = tmp_path / "other"
    for kind, path in (
        ("arxiv-snapshot", FIXTURES / "snapshot_300.jsonl.gz"),
        ("hf-daily", FIXTURES / "hf_daily"),
    ):
        assert _cli(target, "ingest", kind, str(path), "--no-index").returncode == 0
    result = _cli(target, "embed", "--import", str(exported))
    assert result.returncode == 0, result.stderr
    # the vectors are in the other instance's database: its index follows them, no model needed
    result = _cli(target, "index", "--no-embed")
    assert result.returncode == 0, result.stderr
    imported = VectorIndex(target / "index", refresh_seconds=0.0)
    assert imported.num_docs() == instance.vectors.num_docs() and imported.model() == DEFAULT_MODEL_ID
    np.testing.assert_allclose(
        imported.vector_of(GESTURE_PAPER), instance.vectors.vector_of(GESTURE_PAPER), atol=1e-3
    )
    # files of another model or dimension: one line, exit 1, no traceback
    for name, model, dim in (("model.npz", "another-model", 384), ("dim.npz", DEFAULT_MODEL_ID, 8)):
        path = tmp_path / name
        np.savez(
            path,
            ids=np.array(["1"]),
            vectors=np.ones((1, dim), np.float32),
            hashes=np.zeros(1, np.uint64),
            model=np.array(model),
            dim=np.array(dim),
        )
        bad = _cli(target, "embed", "--import", str(path))
        assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    assert _cli(target, "embed").returncode == 2


def test_index_no_vectors_does_not_load_the_model(tmp_path):
    data_dir = tmp_path / "instance"
    nowhere = str(tmp_path / "no-model")
    result = _cli(data_dir, "index", "--no-vectors", PAPERFEED_EMBEDDING_MODEL_DIR=nowhere)
    assert result.returncode == 0, result.stderr
    assert "keyword index" in result.stderr and "vector index" not in result.stderr
    # nothing to embed: the model is not loaded either
    result = _cli(data_dir, "index", PAPERFEED_EMBEDDING_MODEL_DIR=nowhere)
    assert result.returncode == 0, result.stderr
    # a worker loads the model first: a missing one is a one-line error
    result = _cli(data_dir, "embed", "work", "--until-done", PAPERFEED_EMBEDDING_MODEL_DIR=nowhere)
    assert result.returncode == 1 and "embedding model file not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    "CUDAExecutionProvider" in __import__("onnxruntime").get_available_providers(),
    reason="this machine can embed on a GPU",
)
def test_embedding_on_cuda_without_a_gpu_runtime_is_a_clear_error(tmp_path):
    data_dir = tmp_path / "instance"
    result = _cli(data_dir, "embed", "work", "--until-done", "--device", "cuda")
    assert result.returncode == 1
    assert "onnxruntime-gpu" in result.stderr and "Traceback" not in result.stderr
    result = _cli(data_dir, "embed", "work", "--until-done", PAPERFEED_EMBEDDING_DEVICE="cuda")
    assert result.returncode == 1 and "onnxruntime-gpu" in result.stderr
    # `paperfeed index` loads it only when a paper needs embedding
    assert _cli(data_dir, "ingest", "arxiv-snapshot", str(FIXTURES / "snapshot_300.jsonl.gz")).returncode == 0
    result = _cli(data_dir, "index", "--device", "cuda")
    assert result.returncode == 1 and "onnxruntime-gpu" in result.stderr and "Traceback" not in result.stderr


def test_cli_search_modes(instance):
    data_dir = instance.settings.data_dir
    result = _cli(data_dir, "search", GESTURE_QUERY, "--mode", "semantic", "--json", "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["paper"]["id"] == GESTURE_PAPER
    result = _cli(data_dir, "search", GESTURE_QUERY, "--mode", "hybrid", "--limit", "3")
    assert result.returncode == 0 and f"[{GESTURE_PAPER}]" in result.stdout
    assert "not available" not in result.stderr
