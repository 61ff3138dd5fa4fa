"""Bulk embedding throughput of the bundled model on this machine: processes × threads × batching.

    python bench/embed_bench.py                         # 480 real arXiv abstracts, every config
    python bench/embed_bench.py --docs 200 --configs 1x1:4:sorted,2x1:4:sorted

Each config ``PxT:B:policy[:runtime]`` (runtime ``onnxruntime`` unless ``openvino`` is named) runs P
worker processes (spawned fresh, so nothing is shared), each
with an onnxruntime session of T intra-op threads, embedding an equal share of the documents in
batches of B; ``sorted`` is the production path (``OnnxEmbedder.embed_documents``: tokenised in
bulk, sorted by token count, each batch padded only to its longest), ``unsorted`` pads batches in
file order (what length bucketing saves); a ``+spin`` suffix lets idle onnxruntime threads
busy-wait between operators (off for query embedding: it steals cores from requests). Documents
are real arXiv title + abstract texts (the Kaggle snapshot sample), cut at ``--max-tokens`` like
the indexer does.

``--db-workers 1,2`` adds the end-to-end path: a fresh PostgreSQL database (``--admin-url``) with
``--db-papers`` real papers ingested, then W ``paperfeed embed work --until-done`` processes
(each with ``PAPERFEED_EMBEDDING_BULK_THREADS`` = cores / W) sharing it through their claims; the
wall time from their start to the last one's exit, and ``paperfeed embed status`` afterwards
(every paper embedded once, none pending or claimed).

Reported per config: docs/s over the wall time from a common start to the last process done,
the scaling against 1 process × 1 thread, peak RSS per process, and the worst per-document cosine
against the reference vectors (1 process, 1 thread, batch 1: no padding at all) — a config is
only usable when that cosine is ≥ 0.999. Raw JSON: ``bench/out/embed_bench-<time>.json``.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import orjson

from common import SNAPSHOT_SAMPLE, loadavg, machine_facts, write_result

DEFAULT_CONFIGS = (
    "1x1:4:sorted,1x1:16:sorted,1x1:16:unsorted,1x2:4:sorted,1x2:16:sorted,1x2:16:sorted+spin,"
    "1x2:32:sorted,2x1:4:sorted,2x1:16:sorted,2x1:16:sorted+spin,"
    "1x1:4:sorted:openvino,1x1:16:sorted:openvino,1x2:4:sorted:openvino,1x2:16:sorted:openvino,"
    "2x1:4:sorted:openvino,2x1:16:sorted:openvino"
)


def load_texts(path: Path, count: int) -> list[str]:
    from paperfeed.search.embed import document_text

    texts, seen = [], set()
    with gzip.open(path, "rb") as handle:
        for line in handle:
            record = orjson.loads(line)
            if record["id"] in seen:
                continue
            seen.add(record["id"])
            texts.append(document_text(record.get("title") or "", record.get("abstract") or ""))
            if len(texts) >= count:
                break
    return texts


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _worker(index, texts, threads, batch, policy, runtime, max_tokens, start, out_queue) -> None:
    from paperfeed.search.embed import MiniLMEmbedder

    embedder = MiniLMEmbedder(
        max_length=max_tokens, threads=threads, spinning=policy.endswith("+spin"), runtime=runtime
    )
    embedder.embed_documents(texts[:8], batch_size=batch)  # warm up (graph, allocator)
    start.wait()
    if policy.startswith("sorted"):
        vectors = embedder.embed_documents(texts, batch_size=batch)
    else:
        encodings = embedder._tokenizer.encode_batch(texts)
        vectors = np.concatenate(
            [embedder._run(encodings[i : i + batch]) for i in range(0, len(encodings), batch)]
        )
    out_queue.put((index, time.time(), vectors, _peak_rss_mb()))


def run_config(texts: list[str], spec: str, max_tokens: int) -> tuple[dict, np.ndarray]:
    shape, batch, policy, *rest = spec.split(":")
    runtime = rest[0] if rest else "onnxruntime"
    processes, threads = (int(x) for x in shape.split("x"))
    batch = int(batch)
    context = mp.get_context("spawn")
    start = context.Barrier(processes + 1)
    queue = context.Queue()
    shares = [texts[i::processes] for i in range(processes)]
    workers = [
        context.Process(
            target=_worker, args=(n, share, threads, batch, policy, runtime, max_tokens, start, queue)
        )
        for n, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.time()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = max(r[1] for r in results) - began
    vectors = np.zeros((len(texts), results[0][2].shape[1]), dtype=np.float32)
    for index, _done, block, _rss in results:
        vectors[index::processes] = block  # share n holds texts n, n + P, n + 2P, ...
    return {
        "config": spec,
        "processes": processes,
        "threads": threads,
        "batch": batch,
        "policy": policy,
        "runtime": runtime,
        "docs": len(texts),
        "seconds": round(wall, 2),
        "docs_per_s": round(len(texts) / wall, 2),
        "peak_rss_mb_per_process": [round(r[3], 1) for r in results],
    }, vectors


def run_db_workers(args, workers: int) -> dict:
    """``workers`` × ``paperfeed embed work --until-done`` on a fresh PostgreSQL database."""
    import os
    import subprocess
    import tempfile

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from common import write_snapshot_of_size

    name = f"pf_embed_bench_{os.getpid()}_{workers}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    paperfeed = str(Path(sys.executable).with_name("paperfeed"))
    try:
        with tempfile.TemporaryDirectory(prefix="pf-embed-bench-") as folder:
            cores = len(os.sched_getaffinity(0))
            threads = args.db_threads or max(1, cores // workers)
            env = {
                **os.environ,
                "PAPERFEED_DATA_DIR": folder,
                "PAPERFEED_DATABASE_URL": url,
                "PAPERFEED_EMBEDDING_BULK_THREADS": str(threads),
                "PAPERFEED_VECTOR_INDEX_INTERVAL_SECONDS": "0",
            }
            snapshot = Path(folder) / "papers.jsonl"
            write_snapshot_of_size(args.snapshot, args.db_papers, snapshot)
            subprocess.run(
                [paperfeed, "ingest", "arxiv-snapshot", str(snapshot)],
                env=env,
                check=True,
                capture_output=True,
            )
            began = time.time()
            procs = [
                subprocess.Popen(
                    [
                        paperfeed,
                        "embed",
                        "work",
                        "--processes",
                        "1",
                        "--until-done",
                        "--batch",
                        str(args.db_batch),
                        "--poll",
                        "0.5",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            codes = [p.wait() for p in procs]
            wall = time.time() - began
            status = subprocess.run(
                [paperfeed, "embed", "status", "--json"], env=env, check=True, capture_output=True
            )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {
        "workers": workers,
        "threads_per_worker": threads,
        "papers": args.db_papers,
        "batch": args.db_batch,
        "exit_codes": codes,
        "seconds": round(wall, 2),
        "docs_per_s": round(args.db_papers / wall, 2),
        "status_after": orjson.loads(status.stdout),
        "loadavg_after": loadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=480)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help="comma-separated PxT:batch:policy")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT_SAMPLE)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--db-workers", default="", help="e.g. 1,2: embed work processes on PostgreSQL")
    parser.add_argument("--db-papers", type=int, default=400)
    parser.add_argument("--db-batch", type=int, default=32)
    parser.add_argument("--db-threads", type=int, default=0, help="threads per worker; 0 = cores / workers")
    parser.add_argument(
        "--admin-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL admin URL",
    )
    parser.add_argument("--skip-configs", action="store_true", help="only the --db-workers runs")
    args = parser.parse_args()

    texts = load_texts(args.snapshot, args.docs)
    from paperfeed.search.embed import MiniLMEmbedder

    reference_embedder = MiniLMEmbedder(max_length=args.max_tokens, threads=1, runtime="onnxruntime")
    reference = np.stack([reference_embedder.embed_query(t) for t in texts])  # batch 1: no padding
    tokens = [len(e.ids) for e in reference_embedder._tokenizer.encode_batch(texts)]
    del reference_embedder
    result = {
        "machine": machine_facts(),
        "docs": len(texts),
        "max_tokens": args.max_tokens,
        "tokens_per_doc": round(float(np.mean(tokens)), 1),
        "share_at_token_cap": round(float(np.mean([t >= args.max_tokens for t in tokens])), 3),
        "configs": [],
    }
    base = None
    for spec in [] if args.skip_configs else args.configs.split(","):
        row, vectors = run_config(texts, spec, args.max_tokens)
        cosines = np.einsum("ij,ij->i", vectors, reference)
        row["min_cosine_vs_reference"] = round(float(cosines.min()), 5)
        row["loadavg_after"] = loadavg()
        if spec.startswith("1x1:") and base is None:
            base = row["docs_per_s"]
        row["speedup_vs_1x1"] = round(row["docs_per_s"] / base, 2) if base else None
        result["configs"].append(row)
        print(
            f"{spec:26s} {row['docs_per_s']:7.2f} docs/s  x{row['speedup_vs_1x1']}  "
            f"rss {row['peak_rss_mb_per_process']} MB  min cos {row['min_cosine_vs_reference']}",
            file=sys.stderr,
        )
    if args.db_workers:
        result["db_workers"] = []
        for workers in (int(w) for w in args.db_workers.split(",")):
            row = run_db_workers(args, workers)
            first = result["db_workers"][0]["docs_per_s"] if result["db_workers"] else row["docs_per_s"]
            row["speedup_vs_first"] = round(row["docs_per_s"] / first, 2)
            result["db_workers"].append(row)
            print(
                f"db workers {workers}: {row['docs_per_s']} docs/s, status {row['status_after']}",
                file=sys.stderr,
            )
    write_result("embed_bench", result, args.out)


if __name__ == "__main__":
    main()
