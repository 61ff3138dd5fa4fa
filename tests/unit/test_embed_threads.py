"""Embedder thread and runtime settings: same vectors whatever the thread count or runtime (OpenVINO
or onnxruntime), and no busy-waiting threads."""

from __future__ import annotations

import numpy as np
import pytest

from paperfeed.config import Settings
from paperfeed.search.embed import DEFAULT_BATCH_SIZE, MiniLMEmbedder
from paperfeed.search.semantic import load_embedder

DOCS = [
    "Hand gesture recognition from surface electromyography. We fuse sensor modalities.",
    "A survey of dark matter halo mass functions in cosmological N-body simulations, with a long "
    "discussion of resolution effects, merger trees and the abundance of subhaloes.",
    "Diffusion transformers for video generation",
]


@pytest.fixture(scope="module")
def embedders():
    return MiniLMEmbedder(max_length=64, threads=1), MiniLMEmbedder(max_length=64, threads=2)


def test_one_and_two_threads_give_the_same_vectors(embedders):
    one, two = embedders
    np.testing.assert_allclose(one.embed_documents(DOCS), two.embed_documents(DOCS), atol=1e-5)
    np.testing.assert_allclose(
        one.embed_query("video diffusion"), two.embed_query("video diffusion"), atol=1e-5
    )


def test_onnxruntime_threads_do_not_spin():
    for threads in (1, 2):
        embedder = MiniLMEmbedder(max_length=64, threads=threads, runtime="onnxruntime")
        options = embedder._runner.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == threads


def test_default_settings_embed_queries_on_one_onnxruntime_thread_and_bulk_on_openvino(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.embedding_threads == 1 and settings.embedding_runtime == "auto"
    embedder = load_embedder(settings)
    assert embedder.runtime == "onnxruntime"
    assert embedder._runner.session.get_session_options().intra_op_num_threads == 1
    assert embedder.embed_query("graph neural networks").shape == (384,)
    assert load_embedder(settings, bulk=True).runtime == "openvino"
    forced = settings.model_copy(update={"embedding_runtime": "openvino"})
    assert load_embedder(forced).runtime == "openvino" and load_embedder(forced)._runner.threads == 1


def test_openvino_and_onnxruntime_give_the_same_vectors(embedders):
    reference = MiniLMEmbedder(max_length=64, threads=1, runtime="onnxruntime")
    vectors = embedders[0].embed_documents(DOCS)
    assert embedders[0].runtime == "openvino"
    cosines = np.einsum("ij,ij->i", vectors, reference.embed_documents(DOCS))
    assert cosines.min() >= 0.9999, cosines
    query = "video diffusion"
    assert float(reference.embed_query(query) @ embedders[0].embed_query(query)) >= 0.9999


def test_openvino_runs_queries_from_several_threads(embedders):
    from concurrent.futures import ThreadPoolExecutor

    one = embedders[0]
    expected = [one.embed_query(text) for text in DOCS]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(one.embed_query, DOCS * 4))
    for n, vector in enumerate(results):
        np.testing.assert_allclose(vector, expected[n % len(DOCS)], atol=1e-5)


def test_small_default_batches_give_the_same_vectors_as_big_ones(embedders):
    one, _two = embedders
    assert DEFAULT_BATCH_SIZE == 4
    texts = DOCS * 3  # 9 documents: more than one default batch, of different lengths
    np.testing.assert_allclose(
        one.embed_documents(texts), one.embed_documents(texts, batch_size=16), atol=1e-5
    )


def test_bulk_embedders_use_every_core_and_give_the_same_vectors(tmp_path, embedders):
    import os

    settings = Settings(data_dir=tmp_path)
    assert settings.embedding_bulk_threads == 0
    bulk = load_embedder(settings.model_copy(update={"embedding_max_tokens": 64}), bulk=True)
    assert bulk._runner.threads == len(os.sched_getaffinity(0))
    np.testing.assert_allclose(bulk.embed_documents(DOCS), embedders[0].embed_documents(DOCS), atol=1e-4)
    one = load_embedder(settings.model_copy(update={"embedding_bulk_threads": 1}), bulk=True)
    assert one._runner.threads == 1
    ort = load_embedder(settings.model_copy(update={"embedding_runtime": "onnxruntime"}), bulk=True)
    assert ort.runtime == "onnxruntime"
    assert ort._runner.session.get_session_options().intra_op_num_threads == len(os.sched_getaffinity(0))
