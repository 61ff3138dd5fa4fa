"""tantivy indexing speed by tokenizer: ``en_stem`` (what paperfeed uses) versus ``default``.

    python bench/tokenizer_bench.py                     # 74,728 title+abstract docs, 2 rounds
    python bench/tokenizer_bench.py --papers 10000 --repeats 1

Pure tantivy, no database: documents (title + abstract, whitespace-normalised like ingest does)
are loaded into memory first, then indexed into a fresh on-disk index with the same writer
settings as ``paperfeed index`` (heap 256 MB, 2 threads), add + commit timed together.
Rounds alternate between tokenizers so that machine-load drift hits both alike.
Raw results go to ``bench/out/tokenizer_bench-<time>.json``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

import orjson
import tantivy

from common import SNAPSHOT_SAMPLE, Phase, loadavg, machine_facts, peak_rss_mb, temp_dir, write_result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--path", type=Path, default=SNAPSHOT_SAMPLE, help="snapshot JSONL(.gz)")
    parser.add_argument("--papers", type=int, default=0, help="documents (default: the whole file)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds per tokenizer")
    parser.add_argument("--tokenizers", default="default,en_stem")
    parser.add_argument("--heap-mb", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/out/...)")
    return parser.parse_args(argv)


def load_docs(path: Path, limit: int) -> list[tuple[str, str, str]]:
    docs = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            obj = orjson.loads(line)
            docs.append(
                (obj["id"], " ".join(obj["title"].split()), " ".join((obj["abstract"] or "").split()))
            )
            if limit and len(docs) >= limit:
                break
    return docs


def index_once(docs, tokenizer: str, args: argparse.Namespace) -> dict:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name=tokenizer)
    builder.add_text_field("abstract", tokenizer_name=tokenizer)
    schema = builder.build()
    with temp_dir("paperfeed-bench-tok-") as folder:
        index = tantivy.Index(schema, path=str(folder))
        writer = index.writer(heap_size=args.heap_mb * 1_000_000, num_threads=args.threads)
        with Phase() as p:
            t0 = time.perf_counter()
            for arxiv_id, title, abstract in docs:
                writer.add_document(tantivy.Document(id=arxiv_id, title=title, abstract=abstract))
            added = time.perf_counter() - t0
            writer.commit()
            writer.wait_merging_threads()
        return p.result(tokenizer=tokenizer, add_s=round(added, 3), docs_per_s=round(len(docs) / p.wall))


def run(args: argparse.Namespace) -> dict:
    docs = load_docs(args.path, args.papers)
    tokenizers = [t.strip() for t in args.tokenizers.split(",") if t.strip()]
    rounds = []
    for i in range(args.repeats):
        for tokenizer in tokenizers:
            print(f"[bench] round {i + 1}: {tokenizer} on {len(docs):,} docs", file=sys.stderr)
            rounds.append(index_once(docs, tokenizer, args))
    per_tokenizer = {}
    for tokenizer in tokenizers:
        mine = [r for r in rounds if r["tokenizer"] == tokenizer]
        rates = [r["docs_per_s"] for r in mine]
        per_tokenizer[tokenizer] = {
            "best_docs_per_s": max(rates),
            "median_docs_per_s": round(statistics.median(rates)),
            "cpu_s_per_1k_docs": round(min(r["cpu_s"] for r in mine) / len(docs) * 1000, 4),
        }
        # what an otherwise idle machine would do: CPU-bound, spread over the writer's threads
        cpu = min(r["cpu_s"] for r in mine)
        usable = min(args.threads, os.cpu_count() or 1)
        per_tokenizer[tokenizer]["cpu_bound_estimate_docs_per_s"] = round(len(docs) / cpu * usable)
    result = {
        "benchmark": "tokenizer_bench",
        "machine": machine_facts(),
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"docs": len(docs), "argv": sys.argv},
        "rounds": rounds,
        "per_tokenizer": per_tokenizer,
        "peak_rss_mb": peak_rss_mb(),
    }
    if "default" in per_tokenizer and "en_stem" in per_tokenizer:
        result["en_stem_over_default_speed"] = round(
            per_tokenizer["en_stem"]["best_docs_per_s"] / per_tokenizer["default"]["best_docs_per_s"], 3
        )
    result["machine"]["loadavg_at_end"] = loadavg()
    return result


def summary(result: dict) -> str:
    lines = [f"tantivy indexing, {result['params']['docs']:,} title+abstract docs"]
    for tokenizer, r in result["per_tokenizer"].items():
        lines.append(
            f"  {tokenizer:<8} best {r['best_docs_per_s']:>8,} docs/s"
            f"  median {r['median_docs_per_s']:>8,} docs/s"
            f"  cpu {r['cpu_s_per_1k_docs'] * 1000:.0f} ms per 1k docs"
        )
    if "en_stem_over_default_speed" in result:
        lines.append(f"  en_stem runs at {result['en_stem_over_default_speed']:.2f}x the speed of default")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    write_result("tokenizer_bench", result, args.out)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
