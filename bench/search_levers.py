"""Search-quality levers on a public BEIR set, each measured alone and in combination.

    python bench/search_levers.py --dir ../shared/data/beir/scifact-train --split train
    python bench/search_levers.py --dir bench/data/beir_papers          # our own set (make_beir_set.py)

What it measures (nDCG@10, recall@100, MRR@10 per lever; raw JSON in ``bench/out/``):

* **keyword** — the shipped index (one ``text`` field = title + abstract, plus a ``title_boost``
  for title matches) at several boosts, against the earlier layout (separate ``title`` and
  ``abstract`` fields, title weighted 1–2), built here with the same analyzers; queries cut at
  250 vs 1,000 characters.
* **semantic** — the corpus embedded at ``--max-tokens`` (vectors cached next to the set);
  optionally (``--title-vectors``) document vectors mixed with title vectors.
* **fusion** — reciprocal-rank fusion (k, weights, candidate depth) against score fusion
  (``α · bm25/max + (1−α) · cosine``, several α; min-max normalised variant), and dense
  pseudo-relevance feedback (the query vector moved towards the fused top documents).
* **titles** — every judged document's exact title as the query: the share ranked first by
  keyword and by hybrid search (an exact title must still find its paper).
* **latency** — per-query p50/p99 of the three modes with the shipped settings.

Rankings are computed once per query at the deepest depth and fused per setting, with the
production code (:class:`paperfeed.search.evaluation.EvalInstance`, ``fuse_rankings``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tantivy
from tantivy import Occur, Query

from common import machine_facts, write_result
from eval_search import minmax_fusion
from paperfeed.config import Settings
from paperfeed.search.beir import load_beir
from paperfeed.search.evaluation import (
    EvalInstance,
    EvalSettings,
    corpus_vectors,
    default_vectors_cache,
    score_run,
    summarise,
)
from paperfeed.search.hybrid import FusionSettings, fuse_rankings, reciprocal_rank_fusion
from paperfeed.search.keyword import _STEMMED
from paperfeed.search.query import parse_user_query
from paperfeed.search.semantic import load_embedder

DEPTH = 1000


def metrics(dataset, run) -> dict:
    return {k: round(v, 4) for k, v in score_run(run, dataset.qrels).items()}


def separate_fields_index(dataset, folder: Path):
    """The pre-2026-12 layout: ``title`` and ``abstract`` as separate BM25 fields."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=False, tokenizer_name="en_stem")
    builder.add_text_field("abstract", stored=False, tokenizer_name="en_stem")
    schema = builder.build()
    index = tantivy.Index(schema, path=str(folder))
    writer = index.writer(heap_size=128_000_000, num_threads=1)
    for row, (title, text) in enumerate(dataset.corpus.values()):
        writer.add_document(tantivy.Document(id=str(row), title=title, abstract=text))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index, schema


def separate_fields_run(dataset, index, schema, title_boost: float, max_chars: int) -> dict:
    searcher = index.searcher()
    doc_ids = list(dataset.corpus)
    run = {}
    for query_id, text in dataset.queries.items():
        clauses = []
        for word in parse_user_query(text, max_chars=max_chars).words:
            for term in _STEMMED.analyze(word):
                title = Query.term_query(schema, "title", term)
                clauses.append((Occur.Should, Query.boost_query(title, title_boost)))
                clauses.append((Occur.Should, Query.term_query(schema, "abstract", term)))
        if not clauses:
            run[query_id] = []
            continue
        hits = searcher.search(Query.boolean_query(clauses), 100).hits
        run[query_id] = [doc_ids[int(searcher.doc(a)["id"][0])] for _, a in hits]
    return run


def keyword_levers(dataset, base: EvalSettings) -> list[dict]:
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="levers-"))
    try:
        index, schema = separate_fields_index(dataset, folder)
        for boost in (1.0, 1.5, 2.0):
            run = separate_fields_run(dataset, index, schema, boost, 250)
            rows.append({"lever": f"separate title/abstract fields, title x{boost}", **metrics(dataset, run)})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for boost in (0.0, 0.1, 0.25, 0.5, 1.0):
        for chars in (250, 1000):
            settings = EvalSettings(**{**base.__dict__, "title_boost": boost, "max_query_chars": chars})
            with EvalInstance(dataset, settings) as instance:
                run = {
                    q: instance.to_doc_ids(instance.keyword_ranking(t, 100))
                    for q, t in dataset.queries.items()
                }
            name = f"one text field + title x{boost}, queries cut at {chars} chars"
            rows.append({"lever": name, **metrics(dataset, run)})
    return rows


def fusion_levers(dataset, instance: EvalInstance, query_vectors: np.ndarray) -> list[dict]:
    keyword = {q: instance.keyword_ranking(t, DEPTH) for q, t in dataset.queries.items()}
    vector = {q: instance.vector_ranking(query_vectors[n], DEPTH) for n, q in enumerate(dataset.queries)}
    rows = []

    def add(name: str, fuse) -> None:
        run = {q: instance.to_doc_ids(fuse(n, q)) for n, q in enumerate(dataset.queries)}
        rows.append({"lever": name, **metrics(dataset, run)})

    for k in (10, 30, 60):
        for vector_weight in (0.7, 1.0, 1.3):
            for depth in (100, 1000):
                add(
                    f"rrf k={k} vector weight {vector_weight} depth {depth}",
                    lambda n, q, k=k, w=vector_weight, d=depth: reciprocal_rank_fusion(
                        [[i for i, _ in keyword[q][:d]], [i for i, _ in vector[q][:d]]], weights=[1.0, w], k=k
                    ),
                )
    for share in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        for depth in (100, 1000):
            settings = FusionSettings(method="score", keyword_share=share)
            add(
                f"score fusion alpha={share} depth {depth}",
                lambda n, q, s=settings, d=depth: fuse_rankings(
                    keyword[q][:d],
                    vector[q][:d],
                    s,
                    cosines_of=lambda ids, n=n: instance.vectors.cosines(query_vectors[n], ids),
                ),
            )
    for share in (0.3, 0.5):
        add(
            f"min-max normalised fusion alpha={share}",
            lambda n, q, a=share: minmax_fusion(keyword[q][:100], vector[q][:100], a),
        )
    for feedback, beta in ((3, 0.5), (5, 0.5), (3, 1.0)):
        add(
            f"score fusion alpha=0.3 + dense PRF top {feedback}, beta {beta}",
            lambda n, q, f=feedback, b=beta: dense_prf(instance, keyword[q][:100], query_vectors[n], f, b),
        )
    rows.sort(key=lambda r: -r["ndcg@10"])
    return rows


def dense_prf(instance: EvalInstance, keyword, query_vector, feedback: int, beta: float):
    settings = FusionSettings(method="score", keyword_share=0.3)

    def fused(vec):
        hits = instance.vector_ranking(vec, 100)
        return fuse_rankings(
            keyword, hits, settings, cosines_of=lambda ids: instance.vectors.cosines(vec, ids)
        )

    first = fused(query_vector)
    _, top = instance.vectors.vectors_of([i for i, _ in first[:feedback]])
    moved = query_vector + beta * top.mean(axis=0)
    return fused((moved / np.linalg.norm(moved)).astype(np.float32))


def title_check(dataset, instance: EvalInstance, base: EvalSettings) -> dict:
    """Every judged document's own title as the query: is that document ranked first?"""
    doc_ids = list(dataset.corpus)
    position = {d: n for n, d in enumerate(doc_ids)}
    judged = sorted({d for judged in dataset.qrels.values() for d in judged if d in position})
    first = {"keyword": 0, "hybrid": 0}
    embedder = instance.embedder
    for doc_id in judged:
        title = dataset.corpus[doc_id][0]
        keyword = instance.keyword_ranking(title, base.candidates)
        if keyword and instance.doc_ids[int(keyword[0][0])] == doc_id:
            first["keyword"] += 1
        vec = embedder.embed_query(instance._clean(title))
        fused = instance.fuse(keyword, instance.vector_ranking(vec, base.candidates), vec)
        if fused and instance.doc_ids[int(fused[0][0])] == doc_id:
            first["hybrid"] += 1
    return {
        "titles": len(judged),
        **{f"{m}_first": round(v / max(len(judged), 1), 4) for m, v in first.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument(
        "--vectors", type=Path, default=None, help="corpus vectors cache (.npy; default: as `eval beir`)"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args()

    settings = Settings()
    dataset = load_beir(args.dir, args.split)
    base = EvalSettings.from_settings(settings, max_tokens=args.max_tokens)
    embedder = load_embedder(settings.model_copy(update={"embedding_max_tokens": base.max_tokens}))
    cache = args.vectors or default_vectors_cache(dataset, embedder.name, base.max_tokens)
    started = time.perf_counter()
    vectors, source = corpus_vectors(dataset, embedder, cache=cache)
    result: dict = {
        "dataset": str(args.dir),
        "split": args.split,
        "docs": len(dataset.corpus),
        "queries": len(dataset.queries),
        "machine": machine_facts(),
        "embedding": {
            "model": embedder.name,
            "source": source,
            "seconds": round(time.perf_counter() - started, 1),
        },
        "shipped_settings": base.as_dict(),
    }
    print(f"corpus vectors: {source}", file=sys.stderr)
    result["keyword"] = keyword_levers(dataset, base)
    _print("keyword", result["keyword"])
    with EvalInstance(dataset, base, vectors=vectors, embedder=embedder) as instance:
        runs = instance.run(["keyword", "semantic", "hybrid"])
        result["shipped"], result["shipped_by_query_type"] = summarise(dataset, runs)
        _print("shipped", [{"lever": m, **v} for m, v in result["shipped"].items()])
        query_vectors = np.stack([embedder.embed_query(instance._clean(t)) for t in dataset.queries.values()])
        result["fusion"] = fusion_levers(dataset, instance, query_vectors)
        _print("fusion (best first)", result["fusion"][:12])
        result["titles"] = title_check(dataset, instance, base)
        print(f"titles: {result['titles']}", file=sys.stderr)
    write_result("search_levers", result, args.out)


def _print(title: str, rows: list[dict]) -> None:
    print(f"{title}:", file=sys.stderr)
    for row in rows:
        scores = f"nDCG@10 {row['ndcg@10']:.4f}  R@100 {row['recall@100']:.4f}  MRR {row['mrr@10']:.4f}"
        print(f"  {row['lever']:62s} {scores}", file=sys.stderr)


if __name__ == "__main__":
    main()
