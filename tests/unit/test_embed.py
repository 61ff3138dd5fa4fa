"""The bundled embedding model (real all-MiniLM-L6-v2 int8 ONNX, no network, no mocks)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from paperfeed.search.embed import (
    DEFAULT_MODEL_ID,
    DEFAULT_MODEL_SHA256,
    DEFAULT_TOKENIZER,
    Embedder,
    EmbedderError,
    MiniLMEmbedder,
    OnnxEmbedder,
    default_model_path,
    document_text,
)

GESTURE = (
    "Hand gesture recognition from surface electromyography and inertial sensors. We fuse "
    "several sensor modalities to classify hand gestures in real time."
)
GESTURE_PARAPHRASE = "Recognising hand movements by combining muscle signals with motion sensor data"
UNRELATED = "A survey of dark matter halo mass functions in cosmological N-body simulations"


@pytest.fixture(scope="module", params=["openvino", "onnxruntime"])
def embedder(request):
    return MiniLMEmbedder(max_length=128, runtime=request.param)


def _assert_same_vectors(actual, desired, runtime):
    """onnxruntime: equal to 1e-4; OpenVINO quantises activations per batch, so padding moves
    values by up to ~1e-3: the same direction (cosine ≥ 0.9999 per row) is what must hold."""
    if runtime == "onnxruntime":
        np.testing.assert_allclose(actual, desired, atol=1e-4)
    else:
        cosines = np.einsum("ij,ij->i", np.atleast_2d(actual), np.atleast_2d(desired))
        assert cosines.min() >= 0.9999, cosines


def test_shape_dtype_and_unit_length(embedder):
    assert isinstance(embedder, Embedder)
    assert embedder.dim == 384 and embedder.name == DEFAULT_MODEL_ID
    vectors = embedder.embed_documents([GESTURE, UNRELATED, ""])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_documents([]).shape == (0, 384)
    query = embedder.embed_query("gesture recognition")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5


def test_deterministic_and_independent_of_batching_and_order(embedder):
    texts = [GESTURE, UNRELATED, GESTURE_PARAPHRASE, "short", GESTURE * 4]
    first = embedder.embed_documents(texts, batch_size=2)
    again = embedder.embed_documents(texts, batch_size=2)
    np.testing.assert_array_equal(first, again)
    # length-sorted batching must hand rows back in input order, whatever the batch size
    one_by_one = np.stack([embedder.embed_documents([t])[0] for t in texts])
    _assert_same_vectors(embedder.embed_documents(texts, batch_size=16), one_by_one, embedder.runtime)
    reversed_rows = embedder.embed_documents(texts[::-1], batch_size=3)[::-1]
    _assert_same_vectors(reversed_rows, first, embedder.runtime)
    # a query is embedded like a one-document batch
    _assert_same_vectors(embedder.embed_query(GESTURE), one_by_one[0], embedder.runtime)


def test_paraphrase_is_closer_than_unrelated_text(embedder):
    doc = embedder.embed_documents([GESTURE])[0]
    paraphrase = embedder.embed_query(GESTURE_PARAPHRASE)
    unrelated = embedder.embed_query(UNRELATED)
    assert float(doc @ paraphrase) > 0.5
    assert float(doc @ paraphrase) > float(doc @ unrelated) + 0.3


def test_max_length_truncates_long_documents_only(embedder):
    long_text = GESTURE + " " + UNRELATED * 30
    full = MiniLMEmbedder(max_length=256, runtime=embedder.runtime)
    assert not np.allclose(full.embed_documents([long_text]), embedder.embed_documents([long_text]))
    np.testing.assert_allclose(full.embed_query("short text"), embedder.embed_query("short text"), atol=1e-5)


def test_document_text_joins_title_and_abstract():
    assert document_text("Attention Is All You Need.", "  We propose\n the Transformer. ") == (
        "Attention Is All You Need. We propose the Transformer."
    )
    assert document_text("Only a title", "") == "Only a title"


def _copy_model(folder):
    folder.mkdir()
    shutil.copy(default_model_path(), folder / "model.onnx")
    shutil.copy(DEFAULT_TOKENIZER, folder / "tokenizer.json")
    return folder


def test_a_local_model_dir_can_replace_the_bundled_model(tmp_path, embedder):
    folder = _copy_model(tmp_path / "my-model")
    local = OnnxEmbedder(folder, max_length=128, sha256=DEFAULT_MODEL_SHA256, runtime=embedder.runtime)
    assert local.name == "onnx:my-model" and local.dim == 384
    np.testing.assert_allclose(local.embed_query(GESTURE), embedder.embed_query(GESTURE), atol=1e-6)


def test_corrupted_model_fails_the_integrity_check(tmp_path):
    folder = _copy_model(tmp_path / "corrupt")
    with open(folder / "model.onnx", "r+b") as handle:
        handle.seek(1_000_000)
        byte = handle.read(1)
        handle.seek(1_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(EmbedderError, match="integrity check") as info:
        OnnxEmbedder(folder, sha256=DEFAULT_MODEL_SHA256)
    assert DEFAULT_MODEL_SHA256 in info.value.message


def test_missing_files_and_bad_device_give_clear_errors(tmp_path):
    with pytest.raises(EmbedderError, match="not found"):
        OnnxEmbedder(tmp_path)
    with pytest.raises(EmbedderError, match="unknown embedding device"):
        MiniLMEmbedder(device="tpu")
    with pytest.raises(EmbedderError, match="unknown embedding runtime"):
        MiniLMEmbedder(runtime="tensorrt")
    with pytest.raises(EmbedderError, match="not OpenVINO"):
        MiniLMEmbedder(device="cuda", runtime="openvino")
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(EmbedderError, match="onnxruntime-gpu"):
            MiniLMEmbedder(device="cuda")
