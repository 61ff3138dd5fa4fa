"""Embedder thread settings: same vectors whatever the thread count, and no busy-waiting threads."""

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


def test_intra_op_threads_do_not_spin(embedders):
    for embedder in embedders:
        options = embedder._session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads in (1, 2)


def test_default_settings_embed_with_one_thread(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.embedding_threads == 1
    embedder = load_embedder(settings)
    assert embedder._session.get_session_options().intra_op_num_threads == 1
    assert embedder.embed_query("graph neural networks").shape == (384,)


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
    options = bulk._session.get_session_options()
    assert options.intra_op_num_threads == len(os.sched_getaffinity(0))
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    np.testing.assert_allclose(bulk.embed_documents(DOCS), embedders[0].embed_documents(DOCS), atol=1e-5)
    one = load_embedder(settings.model_copy(update={"embedding_bulk_threads": 1}), bulk=True)
    assert one._session.get_session_options().intra_op_num_threads == 1
