"""Keyword search latency: the tantivy index alone and the full SearchService (index + database
fetch + highlights), over realistic queries taken from Hugging Face titles and AI keywords.

    python bench/search_bench.py --data-dir /tmp/pf-1m          # an instance kept by ingest_snapshot
    python bench/search_bench.py --papers 20000 --queries 200   # quick: builds a temporary instance
    python bench/search_bench.py --data-dir D --rebuild         # also time a full index rebuild

Queries are run one after another in this process (single client, warm caches after a short
warm-up), ``limit=10``. Raw results go to ``bench/out/search_bench-<time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

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
    rebuild_keyword_index,
    temp_dir,
    write_result,
)
from paperfeed.clock import SystemClock
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine
from paperfeed.papers.service import PaperService
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.service import SearchService

TARGET_P99_MS = 20.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, help="existing instance (e.g. kept by ingest_snapshot.py)")
    parser.add_argument(
        "--papers", type=int, default=0, help="without --data-dir: build a temporary instance of this size"
    )
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT_SAMPLE, help="input for --papers")
    parser.add_argument("--hf", type=Path, default=HF_DAILY, help="HF daily papers: source of queries")
    parser.add_argument("--queries", type=int, default=500, help="number of distinct queries (>= 500)")
    parser.add_argument("--rounds", type=int, default=1, help="times each query list is run")
    parser.add_argument("--warmup", type=int, default=50, help="queries run first and not measured")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rebuild", action="store_true", help="time a full keyword index rebuild first")
    parser.add_argument(
        "--shapes", action="store_true", help="experiment: stop words / flat query variants (index only)"
    )
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/out/...)")
    return parser.parse_args(argv)


def _measure(
    fn, queries: list[tuple[str, str]], rounds: int
) -> tuple[list[float], dict[str, list[float]], int]:
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    hits = 0
    for _ in range(rounds):
        for kind, query in queries:
            t0 = time.perf_counter()
            n = fn(query)
            elapsed = time.perf_counter() - t0
            latencies.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
            hits += n
    return latencies, by_kind, hits


def bench_instance(data_dir: Path, args: argparse.Namespace) -> dict:
    settings = Settings(data_dir=data_dir)
    engine = get_engine(settings)
    index = TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )
    out: dict = {}
    if args.rebuild or not index.exists():
        print("[bench] full keyword index rebuild", file=sys.stderr)
        _built, out["index_build"] = rebuild_keyword_index(engine, index, settings)
    with engine.connect() as conn:
        from sqlalchemy import func, select

        from paperfeed.db.models import Paper

        papers_in_db = conn.execute(select(func.count()).select_from(Paper.__table__)).scalar_one()
    out["instance"] = {
        "data_dir": str(data_dir),
        "papers_in_db": papers_in_db,
        "index_docs": index.num_docs(),
        "index_bytes": dir_size(index.current_link),
        "index_segments": len(list(index.current_link.resolve().glob("*.idx"))),
        "database_bytes": dir_size(data_dir / "paperfeed.db"),
    }

    queries = make_queries(args.hf, args.queries, seed=args.seed)
    warm = make_queries(args.hf, args.warmup, seed=args.seed + 1)
    papers = PaperService(engine, settings, SystemClock())
    service = SearchService(index, papers, max_query_chars=settings.search_max_query_chars)

    variants = {
        "index_only": lambda q: len(index.search(q, limit=args.limit)),
        "service_no_highlight": lambda q: len(
            service.search(q, limit=args.limit, mode="keyword", highlight=False).items
        ),
        "service": lambda q: len(service.search(q, limit=args.limit, mode="keyword").items),
    }
    for name, fn in variants.items():
        print(f"[bench] {name}: {len(queries)} queries x {args.rounds}", file=sys.stderr)
        for _, q in warm:
            fn(q)
        with Phase() as p:
            latencies, by_kind, hits = _measure(fn, queries, args.rounds)
        out[name] = {
            **percentiles(latencies),
            "queries_per_s_single_client": round(len(latencies) / p.wall, 1),
            "avg_hits": round(hits / len(latencies), 2),
            "by_kind": {k: percentiles(v) for k, v in sorted(by_kind.items())},
            "target_p99_ms": TARGET_P99_MS,
            "target_met": percentiles(latencies)["p99_ms"] <= TARGET_P99_MS,
            "phase": p.result(),
        }
    if args.shapes:
        out["query_shapes"] = query_shapes(index, queries, args.limit)
    slowest = sorted(((time_one(variants["service"], q), q) for _, q in queries[:200]), reverse=True)[:5]
    out["slowest_service_queries"] = [{"ms": round(t * 1000, 2), "query": q} for t, q in slowest]
    out["sample_queries"] = [q for _, q in queries[:20]]
    engine.dispose()
    return out


# Lucene's English stop set (what tantivy's ``Filter.stopword("english")`` removes, roughly)
# fmt: off
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
))
# fmt: on


def query_shapes(index: TantivyKeywordIndex, queries: list[tuple[str, str]], limit: int) -> dict:
    """Experiment: the same queries as differently shaped tantivy queries (index only).

    * ``current``: what paperfeed sends (``parse_query_lenient`` over title/abstract/authors:
      one nested ``title^2 OR abstract OR authors`` group per word);
    * ``no_stopwords``: the same with English stop words dropped from the query text;
    * ``flat``: one flat OR of term queries, same fields, boost and analyzers (same BM25 scores);
    * ``flat_no_stopwords``: both.

    Phrase and exclusion queries keep the current shape in the flat variants.
    """
    import tantivy
    from tantivy import Occur, Query

    stem = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )
    plain = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .build()
    )
    reader = index._reader()
    searcher = reader.searcher()
    schema = index.schema

    def drop_stopwords(text: str) -> str:
        if '"' in text:
            return text
        kept = [w for w in text.split() if w.lower() not in STOPWORDS]
        return " ".join(kept) or text

    def flat_query(text: str):
        if '"' in text or " -" in f" {text}":
            return None
        clauses = []
        for term in dict.fromkeys(stem.analyze(text)):
            clauses.append((Occur.Should, Query.boost_query(Query.term_query(schema, "title", term), 2.0)))
            clauses.append((Occur.Should, Query.term_query(schema, "abstract", term)))
        for term in dict.fromkeys(plain.analyze(text)):
            clauses.append((Occur.Should, Query.term_query(schema, "authors", term)))
        return Query.boolean_query(clauses) if clauses else None

    def run_flat(text: str) -> list[float]:
        query = flat_query(text)
        if query is None:
            return [h.score for h in index.search(text, limit=limit)]
        return [score for score, _ in searcher.search(query, limit, count=False).hits]

    variants = {
        "current": lambda q: [h.score for h in index.search(q, limit=limit)],
        "no_stopwords": lambda q: [h.score for h in index.search(drop_stopwords(q), limit=limit)],
        "flat": run_flat,
        "flat_no_stopwords": lambda q: run_flat(drop_stopwords(q)),
    }
    out: dict = {}
    reference = {q: [round(x, 3) for x in variants["current"](q)] for _, q in queries}
    for name, fn in variants.items():
        for _, q in queries[:20]:
            fn(q)
        latencies, same = [], 0
        for _, q in queries:
            t0 = time.perf_counter()
            scores = fn(q)
            latencies.append(time.perf_counter() - t0)
            same += [round(x, 3) for x in scores] == reference[q]
        out[name] = {**percentiles(latencies), "same_top_scores_as_current": round(same / len(queries), 3)}
        print(f"[bench] shape {name}: {out[name]}", file=sys.stderr)
    return out


def time_one(fn, query: str) -> float:
    t0 = time.perf_counter()
    fn(query)
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict:
    result: dict = {
        "benchmark": "search_bench",
        "machine": machine_facts(),
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"argv": sys.argv},
    }
    if args.data_dir:
        if not (args.data_dir / "paperfeed.db").exists():
            raise SystemExit(
                f"{args.data_dir} holds no paperfeed.db: build one with ingest_snapshot.py --keep"
            )
        result.update(bench_instance(args.data_dir, args))
    else:
        if not args.papers:
            raise SystemExit("give --data-dir (an existing instance) or --papers N (build a temporary one)")
        import ingest_snapshot

        with temp_dir("paperfeed-bench-search-") as base:
            data_dir = base / "data"
            build_argv = ["--path", str(args.snapshot), "--papers", str(args.papers), "--no-rerun"]
            build_args = ingest_snapshot.parse_args([*build_argv, "--data-dir", str(data_dir)])
            built = ingest_snapshot.run(build_args)
            result["built_with"] = {k: built[k] for k in ("ingest", "index", "end_to_end", "disk")}
            with contextlib.suppress(KeyError):
                result["built_with"]["replicated_input"] = built["replicated_input"]
            result.update(bench_instance(data_dir, args))
    result["peak_rss_mb"] = peak_rss_mb()
    result["machine"]["loadavg_at_end"] = loadavg()
    return result


def summary(result: dict) -> str:
    inst = result["instance"]
    lines = [
        f"keyword search, {inst['index_docs']:,} indexed papers, index {inst['index_bytes'] / 1e6:.0f} MB "
        f"({inst['index_segments']} segments)"
    ]
    if "index_build" in result:
        b = result["index_build"]
        lines.append(f"  index build {b['report_seconds']:.1f} s ({b['rate']:,}/s)")
    for name in ("index_only", "service_no_highlight", "service"):
        r = result[name]
        met = "MET" if r["target_met"] else "NOT MET"
        lines.append(
            f"  {name:<22} p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  max {r['max_ms']:7.1f} ms  "
            f"{r['queries_per_s_single_client']:7.1f} q/s  (p99 <= {TARGET_P99_MS:.0f} ms: {met})"
        )
    for name, r in result.get("query_shapes", {}).items():
        lines.append(
            f"  shape {name:<18} p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
            f"same top scores as current: {r['same_top_scores_as_current']:.0%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.queries < 1:
        raise SystemExit("--queries must be positive")
    result = run(args)
    write_result("search_bench", result, args.out)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
