"""Search quality on a BEIR-format set: the three modes with the current settings, then a grid of
hybrid fusion settings (RRF weights / k / candidate depth, and min-max normalised score fusion).

    python scripts/make_beir_set.py                          # builds bench/data/beir_papers once
    python bench/eval_search.py                              # ~5-10 min the first time (embedding),
                                                             # seconds afterwards (vector cache)
    python bench/eval_search.py --dir tests/fixtures/beir_papers_small --no-grid

It runs the production code through :class:`paperfeed.search.evaluation.EvalInstance` (tantivy
index, vector index, embedder, ``reciprocal_rank_fusion``). For the grid, each query's keyword
and vector rankings are computed once at the deepest candidate depth and fused per setting.
Prints a summary; the raw result goes to ``bench/out/eval_search-<time>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from common import machine_facts, write_result
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
from paperfeed.search.hybrid import reciprocal_rank_fusion
from paperfeed.search.semantic import load_embedder

ROOT = Path(__file__).resolve().parents[1]


def minmax_fusion(keyword, vector, alpha: float) -> list[tuple[str, float]]:
    """Convex combination of per-query min-max normalised scores (missing side = 0)."""

    def norm(hits):
        if not hits:
            return {}
        scores = [s for _, s in hits]
        low, high = min(scores), max(scores)
        span = high - low or 1.0
        return {i: (s - low) / span for i, s in hits}

    kw, vec = norm(keyword), norm(vector)
    fused = {i: alpha * kw.get(i, 0.0) + (1 - alpha) * vec.get(i, 0.0) for i in {*kw, *vec}}
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def by_type(dataset, run) -> dict:
    out = {"all": score_run(run, dataset.qrels)}
    for query_type in sorted(set(dataset.query_types.values())):
        qrels = {q: j for q, j in dataset.qrels.items() if dataset.query_types.get(q) == query_type}
        out[query_type] = score_run(run, qrels)
    return {t: {k: round(v, 4) for k, v in m.items()} for t, m in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "bench" / "data" / "beir_papers")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--no-grid", action="store_true", help="only the current settings")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args()
    if not args.dir.is_dir():
        sys.exit(f"{args.dir} is missing: run scripts/make_beir_set.py first")

    settings = Settings()
    dataset = load_beir(args.dir, args.split)
    base = EvalSettings.from_settings(settings, max_tokens=args.max_tokens)
    embedder = load_embedder(settings.model_copy(update={"embedding_max_tokens": base.max_tokens}))
    started = time.perf_counter()
    cache = default_vectors_cache(dataset, embedder.name, base.max_tokens)
    vectors, source = corpus_vectors(
        dataset,
        embedder,
        cache=cache,
        progress=lambda d, t: print(f"\rembedding {d}/{t}", end="", file=sys.stderr),
    )
    embed_s = time.perf_counter() - started
    print(f"\ncorpus vectors: {source} ({embed_s:.1f} s)", file=sys.stderr)
    result: dict = {
        "dataset": str(args.dir),
        "docs": len(dataset.corpus),
        "queries": len(dataset.queries),
        "query_types": {
            t: list(dataset.query_types.values()).count(t) for t in set(dataset.query_types.values())
        },
        "machine": machine_facts(),
        "embedding": {"source": source, "seconds": round(embed_s, 1), "model": embedder.name},
        "settings": base.as_dict(),
    }
    with EvalInstance(dataset, base, vectors=vectors, embedder=embedder) as instance:
        runs = instance.run(["keyword", "semantic", "hybrid"])
        modes, types = summarise(dataset, runs)
        result["modes"], result["by_query_type"] = modes, types
        print("current settings:", file=sys.stderr)
        for mode, metrics in modes.items():
            print(f"  {mode:9s} {metrics}", file=sys.stderr)
        for query_type, data in types.items():
            for mode, metrics in data["modes"].items():
                print(f"  {query_type:11s} {mode:9s} {metrics}", file=sys.stderr)
        if not args.no_grid:
            result["grid"] = grid(instance, dataset)
    write_result("eval_search", result, args.out)


def grid(instance: EvalInstance, dataset) -> list[dict]:
    depths = (100, 200, 400)
    per_query = {}
    for query_id, text in dataset.queries.items():
        keyword = instance.keyword_ranking(text, max(depths))
        vector = instance.vector_ranking(instance.query_vector(text), max(depths))
        per_query[query_id] = (keyword, vector)
    rows = []
    configs = [
        ("rrf", {"keyword_weight": 1.0, "vector_weight": vw, "k": k, "candidates": c})
        for vw, k, c in itertools.product((0.5, 1.0, 1.5, 2.0, 3.0), (1, 5, 10, 20, 60), depths)
    ] + [
        ("minmax", {"alpha": a, "candidates": c})
        for a, c in itertools.product((0.2, 0.3, 0.4, 0.5, 0.6), depths)
    ]
    for method, params in configs:
        run = {}
        for query_id, (keyword, vector) in per_query.items():
            kw, vec = keyword[: params["candidates"]], vector[: params["candidates"]]
            if method == "rrf":
                fused = reciprocal_rank_fusion(
                    [[i for i, _ in kw], [i for i, _ in vec]],
                    weights=[params["keyword_weight"], params["vector_weight"]],
                    k=params["k"],
                )
            else:
                fused = minmax_fusion(kw, vec, params["alpha"])
            run[query_id] = instance.to_doc_ids(fused)
        rows.append({"method": method, **params, "metrics": by_type(dataset, run)})
    rows.sort(key=lambda r: -r["metrics"]["all"]["ndcg@10"])
    print("best hybrid settings by nDCG@10 (all / per type):", file=sys.stderr)
    for row in rows[:15]:
        m = row["metrics"]
        params = {k: v for k, v in row.items() if k != "metrics"}
        per_type = " ".join(f"{t}={v['ndcg@10']}" for t, v in m.items() if t != "all")
        print(f"  {params} all={m['all']['ndcg@10']} {per_type}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
