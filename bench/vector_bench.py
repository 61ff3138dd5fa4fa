"""Semantic / hybrid search and "similar papers" at scale, with the real embedder.

    python bench/vector_bench.py --data-dir /tmp/pf-vec-1m                    # 1,000,000 papers (kept)
    python bench/vector_bench.py --data-dir /tmp/pf-vec-20k --papers 20000 --embed 500 --serve-seconds 10

Steps (each is skipped when the kept ``--data-dir`` already has its result):

1. **Instance**: ``--papers`` papers in SQLite + the keyword index, built exactly as
   ``ingest_snapshot.py`` does (``ingest_file`` + ``update_keyword_index``; the 75k real sample
   replicated with fresh synthetic ids).
2. **Real embeddings**: the first ``--embed`` distinct papers (title + abstract, as the indexer
   embeds them) through the configured model (``OnnxEmbedder``, production settings), timed: docs/s.
   Cached in the data dir. A small side experiment (``--compare-docs``) times other
   ``max_length`` / batch-size / thread settings on the same documents.
3. **Vectors for every paper** (documented in docs/benchmarks.md): distinct paper ``d`` gets its real
   vector when ``d < --embed``, otherwise ``normalise(real[d mod embed] + N(0, σ_syn²))``; the first
   occurrence of a text keeps that vector and each replicated copy gets
   ``normalise(vector + N(0, σ_copy²))`` (near-duplicates, never identical). Loaded through
   ``VectorIndex.writer().upsert()`` + ``commit()`` (the ``import_vectors`` path), so the HNSW
   segment is built by production code; timed, with peak RSS.
4. **Latency**, one client, warm, in this process: ``SearchService.search`` (keyword / semantic /
   hybrid, ``limit=20``, highlights, a real embedder, distinct queries, so query embedding is
   always paid), its parts (query embedding, vector search), ``SearchService.similar`` and
   ``VectorIndex.similar`` for random papers, recall@10 of HNSW vs exact for several ``efSearch``.
5. **A serving process**: ``paperfeed serve --workers 1`` (background embedder off) hit with
   hybrid searches and similar-papers requests for ``--serve-seconds``; VmRSS / VmHWM / RssAnon /
   RssFile of every process in its group.

Raw results go to ``bench/out/vector_bench-<time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from common import (
    HF_DAILY,
    SNAPSHOT_SAMPLE,
    Phase,
    dir_size,
    loadavg,
    machine_facts,
    make_queries,
    peak_rss_mb,
    percentiles,
    write_result,
)
from paperfeed.clock import SystemClock
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine
from paperfeed.db.search_store import changed_papers, latest_change_seq
from paperfeed.papers.service import PaperService
from paperfeed.search.embed import DEFAULT_BATCH_SIZE, OnnxEmbedder, document_text
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.semantic import EmbedderProvider, QueryVectorCache, load_embedder
from paperfeed.search.service import SearchService
from paperfeed.search.vector_indexer import content_hash
from paperfeed.search.vectors import VectorIndex

TARGETS_MS = {"hybrid_p50": 15.0, "hybrid_p99": 50.0, "similar_p99": 20.0}
TARGET_RSS_GIB = 4.0
TARGET_DOCS_PER_S = 50.0
READ_BATCH = 5000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="instance folder, created or reused")
    parser.add_argument("--papers", type=int, default=1_000_000, help="papers when the instance is built")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT_SAMPLE)
    parser.add_argument("--hf", type=Path, default=HF_DAILY, help="HF daily papers: source of queries")
    parser.add_argument("--embed", type=int, default=3000, help="distinct papers embedded by the real model")
    parser.add_argument(
        "--real-vectors", type=Path, help="cache of the real vectors (default: in the data dir); reusable"
    )
    parser.add_argument("--compare-docs", type=int, default=200, help="docs for the embedder settings test")
    parser.add_argument(
        "--synthetic",
        choices=("mix", "anchor"),
        default="mix",
        help="vectors of papers not embedded: real[d mod N] + λ·real[random] + noise (mix), or + noise only",
    )
    parser.add_argument("--sigma-syn", type=float, default=0.03, help="noise of synthetic distinct papers")
    parser.add_argument("--sigma-copy", type=float, default=0.01, help="noise of replicated copies")
    parser.add_argument("--rebuild-vectors", action="store_true", help="rebuild the vector index")
    parser.add_argument(
        "--increment", type=int, default=2000, help="newest papers added in a second commit (daily increment)"
    )
    parser.add_argument("--queries", type=int, default=300, help="distinct measured queries")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--similar", type=int, default=300, help="random papers for similar()")
    parser.add_argument("--recall-queries", type=int, default=100)
    parser.add_argument("--ef", default="64,128,256,512,1024", help="efSearch values for the recall sweep")
    parser.add_argument("--serve-seconds", type=float, default=60.0, help="0 skips the server test")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/out/...)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- 1. instance
def ensure_instance(args: argparse.Namespace) -> dict:
    if (args.data_dir / "paperfeed.db").exists():
        return {"reused": True}
    import ingest_snapshot

    log(f"building a {args.papers:,}-paper instance in {args.data_dir}")
    build_args = ingest_snapshot.parse_args(
        [
            "--path",
            str(args.snapshot),
            "--papers",
            str(args.papers),
            "--no-rerun",
            "--data-dir",
            str(args.data_dir),
        ]
    )
    built = ingest_snapshot.run(build_args)
    return {"reused": False, **{k: built[k] for k in ("ingest", "index", "end_to_end", "disk") if k in built}}


# --------------------------------------------------------------------------- 2. corpus + real vectors
def read_corpus(engine, embed: int) -> dict:
    """Every visible paper's id, content hash and distinct-text number; texts of the first ``embed``."""
    ids: list[str] = []
    hashes: list[int] = []
    source: list[int] = []
    distinct: dict[int, int] = {}
    texts: list[str] = []
    cursor = 0
    with Phase() as p:
        while True:
            with engine.connect() as conn:
                docs, cursor = changed_papers(conn, cursor, READ_BATCH)
            if not docs:
                break
            for doc in docs:
                if doc.hidden:
                    continue
                text = document_text(doc.title, doc.abstract)
                digest = content_hash(text)
                number = distinct.setdefault(digest, len(distinct))
                if number == len(texts) and number < embed:
                    texts.append(text)
                ids.append(doc.arxiv_id)
                hashes.append(digest)
                source.append(number)
        with engine.connect() as conn:
            seq = latest_change_seq(conn)
    log(f"read {len(ids):,} papers ({len(distinct):,} distinct texts) in {p.wall:.1f} s")
    return {
        "ids": ids,
        "hashes": np.array(hashes, dtype=np.uint64),
        "source": np.array(source, dtype=np.int64),
        "distinct": len(distinct),
        "texts": texts,
        "change_seq": seq,
        "phase": p.result(papers=len(ids), distinct=len(distinct)),
    }


def embed_real(settings: Settings, texts: list[str], cache: Path) -> tuple[np.ndarray, dict]:
    """The real model's vectors for ``texts`` (production settings), cached in ``cache``."""
    text_hashes = np.array([content_hash(t) for t in texts], dtype=np.uint64)
    if cache.exists():
        data = np.load(cache)
        if "hashes" in data.files and np.array_equal(data["hashes"], text_hashes):
            log(f"real vectors from cache {cache}")
            return data["vectors"], orjson_loads(bytes(data["report"]))
        log(f"{cache} holds vectors of other texts: embedding again")
    embedder = load_embedder(settings)
    tokenizer = embedder._tokenizer
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(texts)])
    log(
        f"embedding {len(texts):,} documents with {embedder!r}, batch {DEFAULT_BATCH_SIZE}, "
        f"threads {settings.embedding_threads}"
    )
    with Phase() as p:
        vectors = embedder.embed_documents(texts, batch_size=DEFAULT_BATCH_SIZE)
    report = p.result(
        docs=len(texts),
        docs_per_s=round(len(texts) / p.wall, 2),
        docs_per_cpu_s=round(len(texts) / p.cpu, 2),
        max_tokens=settings.embedding_max_tokens,
        threads=settings.embedding_threads,
        batch_size=DEFAULT_BATCH_SIZE,
        tokens_mean=round(float(lengths.mean()), 1),
        tokens_p50=int(np.percentile(lengths, 50)),
        tokens_p90=int(np.percentile(lengths, 90)),
        truncated_fraction=round(float((lengths >= settings.embedding_max_tokens).mean()), 3),
    )
    log(f"real embedding: {report['docs_per_s']} docs/s wall, {report['docs_per_cpu_s']} docs per CPU-s")
    import orjson

    np.savez(
        cache, vectors=vectors, hashes=text_hashes, report=np.frombuffer(orjson.dumps(report), dtype=np.uint8)
    )
    return vectors, report


def orjson_loads(raw: bytes) -> dict:
    import orjson

    return orjson.loads(raw)


def compare_embedders(texts: list[str], reference: np.ndarray, queries: list[str]) -> list[dict]:
    """Docs/s of other embedder settings on the same documents (and agreement with production)."""
    variants = [
        {"max_tokens": 256, "batch": 16, "threads": 2},
        {"max_tokens": 256, "batch": 32, "threads": 2},
        {"max_tokens": 256, "batch": 4, "threads": 2},
        {"max_tokens": 256, "batch": 16, "threads": 1},
        {"max_tokens": 256, "batch": 4, "threads": 1},
        {"max_tokens": 128, "batch": 16, "threads": 2},
    ]
    out = []
    for v in variants:
        embedder = OnnxEmbedder(None, max_length=v["max_tokens"], threads=v["threads"])
        embedder.embed_documents(texts[:16], batch_size=v["batch"])  # warm-up
        with Phase() as p:
            vectors = embedder.embed_documents(texts, batch_size=v["batch"])
        cosine = np.sum(vectors * reference[: len(texts)], axis=1)
        for q in queries[:10]:
            embedder.embed_query(q)
        query_latency, _ = timed(lambda q, e=embedder: len(e.embed_query(q)), queries)
        row = {
            **v,
            "docs": len(texts),
            "docs_per_s": round(len(texts) / p.wall, 2),
            "docs_per_cpu_s": round(len(texts) / p.cpu, 2),
            "cosine_to_production_mean": round(float(cosine.mean()), 4),
            "cosine_to_production_min": round(float(cosine.min()), 4),
            "embed_query": percentiles(query_latency),
            "loadavg": loadavg(),
        }
        log(
            f"embedder {v}: {row['docs_per_s']} docs/s, "
            f"cosine to production {row['cosine_to_production_mean']}, query p50 "
            f"{row['embed_query']['p50_ms']} p99 {row['embed_query']['p99_ms']} ms"
        )
        out.append(row)
    return out


# --------------------------------------------------------------------------- 3. vectors for all
def _normalise(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def synthesise(corpus: dict, real: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    """One vector per paper (see the module doc, step 3)."""
    rng = np.random.default_rng(args.seed)
    n_real, dim = real.shape
    distinct = corpus["distinct"]
    base = np.empty((distinct, dim), dtype=np.float32)
    base[: min(n_real, distinct)] = real[:distinct]
    if distinct > n_real:
        anchors = np.arange(n_real, distinct) % n_real
        noise = rng.normal(0.0, args.sigma_syn, size=(distinct - n_real, dim)).astype(np.float32)
        mixed = real[anchors] + noise
        if args.synthetic == "mix":  # a second real paper's direction: spread out, not tight clusters
            partners = rng.integers(0, n_real, size=distinct - n_real)
            weights = rng.uniform(0.25, 0.75, size=(distinct - n_real, 1)).astype(np.float32)
            mixed += weights * real[partners]
        base[n_real:] = _normalise(mixed)
    source = corpus["source"]
    first = np.zeros(len(source), dtype=bool)
    first[np.unique(source, return_index=True)[1]] = True
    out = base[source]
    copies = np.flatnonzero(~first)
    for start in range(0, len(copies), 200_000):
        rows = copies[start : start + 200_000]
        noise = rng.normal(0.0, args.sigma_copy, size=(len(rows), dim)).astype(np.float32)
        out[rows] = _normalise(out[rows] + noise)
    return out


def build_vectors(vindex: VectorIndex, corpus: dict, vectors: np.ndarray, model: str, increment: int) -> dict:
    """Bulk-load all but the newest ``increment`` papers (one commit: the import path, HNSW), then
    add those in a second commit, as the daily indexer would (a small exact segment)."""
    ids, hashes = corpus["ids"], corpus["hashes"]
    bulk = len(ids) - min(increment, len(ids) // 10)
    log(f"loading {bulk:,} vectors through VectorIndex.writer (HNSW build)")
    with Phase() as p, vindex.writer(model=model, dim=vectors.shape[1], rebuild=True) as writer:
        for start in range(0, bulk, 100_000):
            stop = min(start + 100_000, bulk)
            writer.upsert(ids[start:stop], vectors[start:stop], hashes[start:stop])
        writer.commit(corpus["change_seq"])
    log(f"vector index built in {p.wall:.1f} s (CPU {p.cpu:.1f} s), peak RSS {peak_rss_mb()} MB")
    with Phase() as p2, vindex.writer(model=model, dim=vectors.shape[1]) as writer:
        writer.upsert(ids[bulk:], vectors[bulk:], hashes[bulk:])
        writer.commit(corpus["change_seq"])
    gen = vindex.generation()
    return p.result(
        vectors=bulk,
        increment=p2.result(vectors=len(ids) - bulk),
        segments=[{"name": s.name, "rows": s.rows, "hnsw": s.hnsw is not None} for s in gen.segments],
        index_bytes=dir_size(vindex.current_link),
        hnsw_m=vindex.hnsw_m,
        ef_construction=vindex.ef_construction,
        ef_search=vindex.ef_search,
    )


def noise_stats(corpus: dict, vectors: np.ndarray, real: np.ndarray, rng: random.Random) -> dict:
    """Cosines that say what the synthetic vectors look like next to real ones."""
    source = corpus["source"]
    n_real = real.shape[0]
    sample = rng.sample(range(n_real), min(200, n_real))
    real_nn = []
    for i in sample:
        scores = real @ real[i]
        scores[i] = -1
        real_nn.append(float(scores.max()))
    copy_cos, syn_cos = [], []
    by_source: dict[int, list[int]] = {}
    for row in range(min(len(source), 2_000_000)):
        s = int(source[row])
        if len(by_source.setdefault(s, [])) < 2:
            by_source[s].append(row)
    for s, rows in list(by_source.items())[:: max(1, len(by_source) // 500)]:
        if len(rows) == 2:
            copy_cos.append(float(vectors[rows[0]] @ vectors[rows[1]]))
        if s >= n_real:
            syn_cos.append(float(vectors[rows[0]] @ real[s % n_real]))
    firsts = np.unique(source, return_index=True)[1]
    synthetic_rows = firsts[n_real:]
    syn_nn = []
    if len(synthetic_rows) > 1:
        block = vectors[synthetic_rows]
        for row in rng.sample(range(len(synthetic_rows)), min(200, len(synthetic_rows))):
            scores = block @ block[row]
            scores[row] = -1
            syn_nn.append(float(scores.max()))
    return {
        "synthetic_nearest_distinct_neighbour_cosine_mean": round(float(np.mean(syn_nn)), 4)
        if syn_nn
        else None,
        "real_nearest_neighbour_cosine_mean": round(float(np.mean(real_nn)), 4),
        "copy_to_copy_cosine_mean": round(float(np.mean(copy_cos)), 4) if copy_cos else None,
        "synthetic_to_anchor_cosine_mean": round(float(np.mean(syn_cos)), 4) if syn_cos else None,
    }


# --------------------------------------------------------------------------- 4. latency
def timed(fn, inputs) -> tuple[list[float], int]:
    latencies, hits = [], 0
    for value in inputs:
        t0 = time.perf_counter()
        n = fn(value)
        latencies.append(time.perf_counter() - t0)
        hits += n
    return latencies, hits


def measure_latency(settings: Settings, corpus: dict, args: argparse.Namespace) -> dict:
    engine = get_engine(settings)
    keyword = TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )
    vindex = VectorIndex(settings.index_dir)
    embedder = load_embedder(settings)
    provider = EmbedderProvider.of(embedder)
    papers = PaperService(engine, settings, SystemClock())
    service = SearchService.from_settings(settings, keyword, papers, vectors=vindex, embedder=provider)

    warm = [q for _, q in make_queries(args.hf, args.warmup, seed=args.seed + 1)]
    queries = [
        q for q in dict.fromkeys(q for _, q in make_queries(args.hf, args.queries * 2, seed=args.seed))
    ]
    queries = [q for q in queries if q not in set(warm)][: args.queries]
    rng = random.Random(args.seed)
    similar_ids = rng.sample(corpus["ids"], args.similar)
    out: dict = {"queries": len(queries), "sample_queries": queries[:10], "limit": 20}

    def fresh_cache() -> None:  # distinct queries never hit it; be explicit anyway
        service.query_cache = QueryVectorCache()

    query_vectors = {}

    def embed_only(q: str) -> int:
        query_vectors[q] = embedder.embed_query(q)
        return 1

    def sequential_hybrid(q: str) -> int:  # before the overlap of query embedding and keyword search
        service.overlap_query_embedding = False
        try:
            return len(service.search(q, limit=20, mode="hybrid").items)
        finally:
            service.overlap_query_embedding = True

    measured = {
        "embed_query": (embed_only, queries),
        "vector_search_top100": (lambda q: len(vindex.search(query_vectors[q], 100)), queries),
        "keyword_service": (lambda q: len(service.search(q, limit=20, mode="keyword").items), queries),
        "semantic_service": (lambda q: len(service.search(q, limit=20, mode="semantic").items), queries),
        "hybrid_service": (lambda q: len(service.search(q, limit=20, mode="hybrid").items), queries),
        "hybrid_service_sequential": (sequential_hybrid, queries),
        "hybrid_service_no_highlight": (
            lambda q: len(service.search(q, limit=20, mode="hybrid", highlight=False).items),
            queries,
        ),
        "similar_index": (lambda i: len(vindex.similar(i, 10)), similar_ids),
        "similar_service": (lambda i: len(service.similar(i, 10)), similar_ids),
    }
    # first pass over every measured query and paper: what a cold process pays (SQLite pages of
    # papers never read before, index blocks); the measured passes below are then warm
    fresh_cache()
    with Phase() as p:
        first, _ = timed(lambda q: len(service.search(q, limit=20, mode="hybrid").items), queries)
        first_similar, _ = timed(lambda i: len(service.similar(i, 10)), similar_ids)
    out["first_pass_hybrid"] = percentiles(first)
    out["first_pass_similar"] = percentiles(first_similar)
    log(f"first (cold) pass: hybrid {out['first_pass_hybrid']}, similar {out['first_pass_similar']}")
    for name, (fn, inputs) in measured.items():
        fresh_cache()
        for q in warm:
            service.search(q, limit=20, mode="hybrid")
        if name.startswith("similar"):
            for i in rng.sample(corpus["ids"], 30):
                fn(i)
        fresh_cache()
        with Phase() as p:
            latencies, hits = timed(fn, inputs)
        out[name] = {
            **percentiles(latencies),
            "avg_results": round(hits / len(inputs), 2),
            "cpu_ms_per_call": round(p.cpu * 1000 / len(inputs), 2),
            "loadavg": p.result()["loadavg_after"],
        }
        log(
            f"{name:<28} p50 {out[name]['p50_ms']:7.2f}  p90 {out[name]['p90_ms']:7.2f}  "
            f"p99 {out[name]['p99_ms']:7.2f} ms"
        )
    out["recall"] = recall_sweep(settings, vindex, list(query_vectors.values()), similar_ids, args)
    engine.dispose()
    return out


def recall_sweep(settings: Settings, vindex: VectorIndex, qvecs: list, similar_ids: list[str], args) -> dict:
    """recall@10 of ``VectorIndex.search`` (HNSW) against exact search over the same vectors."""
    gen = vindex.generation()
    matrices = [np.asarray(s.vectors) for s in gen.segments]
    dead = [s.dead for s in gen.segments]
    seg_ids = [np.asarray(s.ids) for s in gen.segments]
    queries = {"text_queries": np.stack(qvecs[: args.recall_queries])}
    found_ids, paper_vecs = vindex.vectors_of(similar_ids[: args.recall_queries])
    queries["paper_vectors"] = paper_vecs
    out: dict = {}
    for kind, qmat in queries.items():
        truth = []
        with Phase() as p:
            scores_all, ids_all = [], []
            for matrix, d, ids in zip(matrices, dead, seg_ids, strict=True):
                scores = np.empty((matrix.shape[0], qmat.shape[0]), dtype=np.float32)
                for start in range(0, matrix.shape[0], 200_000):
                    scores[start : start + 200_000] = matrix[start : start + 200_000] @ qmat.T
                scores[d] = -np.inf
                top = np.argpartition(-scores, 10, axis=0)[:11]
                scores_all.append(np.take_along_axis(scores, top, axis=0))
                ids_all.append(ids[top])
            s = np.concatenate(scores_all)
            i = np.concatenate(ids_all)
            order = np.argsort(-s, axis=0)
            truth_scores = []
            for q in range(qmat.shape[0]):
                truth.append([bytes(x).decode() for x in i[order[:, q], q]])
                truth_scores.append(s[order[:, q], q])
        out[kind] = {"exact_ms_per_query": round(p.wall * 1000 / qmat.shape[0], 2)}
        for ef in [int(x) for x in args.ef.split(",")]:
            index = VectorIndex(settings.index_dir, ef_search=ef)
            hits, near, gaps, latencies = [], [], [], []
            for q in range(qmat.shape[0]):
                t0 = time.perf_counter()
                got = index.search(qmat[q], 10)
                latencies.append(time.perf_counter() - t0)
                exact = truth[q][1:11] if kind == "paper_vectors" else truth[q][:10]
                got_ids = [h.arxiv_id for h in got]
                if kind == "paper_vectors":  # the paper itself is always first in both
                    got_ids = [x for x in got_ids if x != found_ids[q]][:9]
                    exact = [x for x in truth[q] if x != found_ids[q]][:9]
                hits.append(len(set(got_ids) & set(exact)) / max(1, len(exact)))
                # ties: hits whose cosine is within 0.01 of the exact 10th best count as found
                tenth = float(truth_scores[q][10 if kind == "paper_vectors" else 9])
                got_scores = [h.score for h in got if h.arxiv_id != found_ids[q] or kind != "paper_vectors"]
                near.append(sum(x >= tenth - 0.01 for x in got_scores[: len(exact)]) / max(1, len(exact)))
                top = truth_scores[q][1:11] if kind == "paper_vectors" else truth_scores[q][:10]
                gaps.append(float(np.mean(top)) - float(np.mean(got_scores[: len(exact)] or [0.0])))
            out[kind][f"ef{ef}"] = {
                "recall_at_10": round(float(np.mean(hits)), 4),
                "recall_within_0.01": round(float(np.mean(near)), 4),
                "mean_cosine_gap": round(float(np.mean(gaps)), 5),
                **percentiles(latencies),
            }
            log(f"recall {kind} ef={ef}: {out[kind][f'ef{ef}']['recall_at_10']}")
    return out


# --------------------------------------------------------------------------- 5. serving process
def proc_memory(pid: int) -> dict:
    fields = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                fields[key + "_mb"] = round(int(value.split()[0]) / 1024, 1)
    return fields


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[2]) == pgid:
                    pids.append(int(entry))
    return sorted(pids)


def serve_memory(args: argparse.Namespace, corpus: dict) -> dict:
    import httpx

    from api_load import Server, free_port

    queries = [q for _, q in make_queries(args.hf, 400, seed=args.seed + 2)]
    ids = random.Random(args.seed + 3).sample(corpus["ids"], 400)
    log_path = args.data_dir / "vector_bench-serve.log"
    server = Server(args.data_dir, free_port(), 1, log_path)
    out: dict = {"command": server.command}
    try:
        out["ready_s"] = round(server.wait_ready(), 2)
        out["after_start"] = {str(pid): proc_memory(pid) for pid in group_pids(server.proc.pid)}
        latencies = {"search_hybrid": [], "similar": []}
        statuses: dict[str, int] = {}
        t0 = time.perf_counter()
        n = 0
        with httpx.Client(base_url=server.base, timeout=30) as client:
            while time.perf_counter() - t0 < args.serve_seconds:
                if n % 2 == 0:
                    kind, url, params = "search_hybrid", "/api/papers/search", {"q": queries[(n // 2) % 400]}
                else:
                    kind, url, params = "similar", f"/api/papers/{ids[(n // 2) % 400]}/similar", {}
                t1 = time.perf_counter()
                response = client.get(url, params=params)
                latencies[kind].append(time.perf_counter() - t1)
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
                n += 1
        out["requests"] = n
        out["statuses"] = statuses
        out["client_latency"] = {k: percentiles(v) for k, v in latencies.items()}
        out["after_load"] = {str(pid): proc_memory(pid) for pid in group_pids(server.proc.pid)}
        out["search_mode_header"] = httpx.get(
            f"{server.base}/api/papers/search", params={"q": "graph neural networks"}
        ).headers.get("x-search-mode")
    finally:
        server.stop()
    worst = max((m.get("VmHWM_mb", 0) for m in out.get("after_load", {}).values()), default=0)
    out["max_vmhwm_gib"] = round(worst / 1024, 3)
    out["target_met"] = worst / 1024 <= TARGET_RSS_GIB
    log(f"serving process: {out.get('after_load')} after {out.get('requests')} requests")
    return out


# --------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> dict:
    result: dict = {
        "benchmark": "vector_bench",
        "machine": machine_facts(),
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"argv": sys.argv},
    }
    args.data_dir = args.data_dir.resolve()
    result["instance_build"] = ensure_instance(args)
    settings = Settings(data_dir=args.data_dir)
    engine = get_engine(settings)
    corpus = read_corpus(engine, args.embed)
    engine.dispose()
    result["corpus"] = {
        "papers": len(corpus["ids"]),
        "distinct_texts": corpus["distinct"],
        "read": corpus["phase"],
    }

    texts = corpus["texts"]
    cache = (
        args.real_vectors
        or args.data_dir / f"bench-real-vectors-{len(texts)}-{settings.embedding_max_tokens}.npz"
    )
    real, result["embedding"] = embed_real(settings, texts, cache)
    if args.compare_docs:
        rng = random.Random(args.seed)
        pick = sorted(rng.sample(range(len(texts)), min(args.compare_docs, len(texts))))
        queries = [q for _, q in make_queries(args.hf, 200, seed=args.seed + 4)]
        result["embedding_variants"] = compare_embedders([texts[i] for i in pick], real[pick], queries)

    vindex = VectorIndex(settings.index_dir)
    model = load_embedder(settings).name
    have = vindex.num_docs() if vindex.exists() else 0
    vectors = synthesise(corpus, real, args)
    result["synthetic_vectors"] = {
        "sigma_syn": args.sigma_syn,
        "sigma_copy": args.sigma_copy,
        "kind": args.synthetic,
        "real": int(real.shape[0]),
        **noise_stats(corpus, vectors, real, random.Random(args.seed)),
    }
    log(f"synthetic vectors: {result['synthetic_vectors']}")
    if args.rebuild_vectors or have != len(corpus["ids"]) or vindex.model() != model:
        result["vector_build"] = build_vectors(vindex, corpus, vectors, model, args.increment)
    else:
        log(f"vector index already holds {have:,} vectors: reused")
        result["vector_build"] = {"reused": True, "vectors": have}
    del vectors
    result["latency"] = measure_latency(settings, corpus, args)
    if args.serve_seconds > 0:
        result["serving"] = serve_memory(args, corpus)
    lat = result["latency"]
    result["targets"] = {
        "hybrid_p50_ms": [lat["hybrid_service"]["p50_ms"], TARGETS_MS["hybrid_p50"]],
        "hybrid_p99_ms": [lat["hybrid_service"]["p99_ms"], TARGETS_MS["hybrid_p99"]],
        "similar_p99_ms": [lat["similar_service"]["p99_ms"], TARGETS_MS["similar_p99"]],
        "embedding_docs_per_s": [result["embedding"]["docs_per_s"], TARGET_DOCS_PER_S],
    }
    result["peak_rss_mb"] = peak_rss_mb()
    result["machine"]["loadavg_at_end"] = loadavg()
    return result


def summary(result: dict) -> str:
    lat = result["latency"]
    lines = [f"{result['corpus']['papers']:,} papers, {result['corpus']['distinct_texts']:,} distinct texts"]
    e = result["embedding"]
    lines.append(f"  embedding {e['docs']} docs: {e['docs_per_s']} docs/s ({e['docs_per_cpu_s']} per CPU-s)")
    if "reused" not in result["vector_build"]:
        b = result["vector_build"]
        lines.append(f"  vector index build {b['wall_s']:.0f} s (CPU {b['cpu_s']:.0f} s), {b['segments']}")
    for name in (
        "embed_query",
        "vector_search_top100",
        "keyword_service",
        "semantic_service",
        "hybrid_service",
        "similar_index",
        "similar_service",
    ):
        r = lat[name]
        lines.append(
            f"  {name:<24} p50 {r['p50_ms']:7.2f}  p90 {r['p90_ms']:7.2f}  p99 {r['p99_ms']:7.2f} ms"
        )
    for kind, r in lat["recall"].items():
        lines.append(
            f"  recall@10 {kind}: "
            + ", ".join(f"{k} {v['recall_at_10']}" for k, v in r.items() if k.startswith("ef"))
        )
    if "serving" in result:
        lines.append(f"  serving process max VmHWM {result['serving']['max_vmhwm_gib']} GiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    write_result("vector_bench", result, args.out)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
