"""Snapshot ingest throughput: parse + store, keyword index build, end-to-end, idempotent re-run.

    python bench/ingest_snapshot.py                       # the 74,728-paper sample as is
    python bench/ingest_snapshot.py --papers 10000        # quick: the first 10k lines
    python bench/ingest_snapshot.py --papers 1000000 --keep   # sample replicated with fresh ids

With ``--papers`` larger than the input, the input is replicated into a temporary .jsonl.gz:
copy 0 is the real file, every further copy repeats the real lines with synthetic, never-real
arXiv ids (``8001.00000`` upwards), so every line is a distinct paper with real text.

Everything runs in a fresh data directory under /tmp, removed at the end unless ``--keep``
(or ``--data-dir``) is given; the kept directory can be reused by ``search_bench.py`` and
``api_load.py``. Raw results go to ``bench/out/ingest_snapshot-<time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

from common import (
    OUT_DIR,
    SNAPSHOT_SAMPLE,
    Phase,
    ThreadProfile,
    count_lines,
    dir_size,
    fmt_rate,
    free_bytes,
    loadavg,
    machine_facts,
    peak_rss_mb,
    rebuild_keyword_index,
    temp_dir,
    write_result,
    write_snapshot_of_size,
)
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine, upgrade
from paperfeed.db.search_store import changed_papers
from paperfeed.ingest.files import open_lines
from paperfeed.ingest.service import ingest_file
from paperfeed.ingest.snapshot import read_snapshot
from paperfeed.search.indexer import READ_BATCH, update_keyword_index
from paperfeed.search.keyword import TantivyKeywordIndex

TARGET_PAPERS_PER_S = 20_000
BYTES_PER_PAPER_ESTIMATE = 8_000  # db + wal + index + replicated input, generous


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--path", type=Path, default=SNAPSHOT_SAMPLE, help="snapshot JSONL(.gz) to read")
    parser.add_argument(
        "--papers", type=int, default=0, help="papers to ingest (default: every line of --path)"
    )
    parser.add_argument("--data-dir", type=Path, help="instance folder to create and keep (must be new)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    parser.add_argument("--no-rerun", action="store_true", help="skip the idempotent re-run")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time read-only passes (gunzip, +JSON, +records) and the indexer's database reads",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile ingest and index (slower)")
    parser.add_argument("--batch-size", type=int, help="PAPERFEED_INGEST_BATCH_SIZE override")
    parser.add_argument("--heap-mb", type=int, help="PAPERFEED_INDEX_WRITER_HEAP_MB override")
    parser.add_argument("--index-threads", type=int, help="PAPERFEED_INDEX_THREADS override")
    parser.add_argument("--tmp", default="/tmp", help="where temporary folders go (default /tmp)")
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/out/...)")
    return parser.parse_args(argv)


def _settings(data_dir: Path, args: argparse.Namespace) -> Settings:
    overrides = {}
    if args.batch_size:
        overrides["ingest_batch_size"] = args.batch_size
    if args.heap_mb:
        overrides["index_writer_heap_mb"] = args.heap_mb
    if args.index_threads:
        overrides["index_threads"] = args.index_threads
    return Settings(data_dir=data_dir, **overrides)


def _breakdown_read(path: Path) -> dict:
    """Read-only passes over the input: what parsing alone costs, step by step."""
    import orjson

    out = {}
    with Phase() as p:
        n = sum(1 for _ in open_lines(path))
    out["lines_only"] = p.result(records=n, rate=round(n / p.wall))
    with Phase() as p:
        n = sum(1 for _, line in open_lines(path) if line.strip() and orjson.loads(line))
    out["lines_plus_json"] = p.result(records=n, rate=round(n / p.wall))
    with Phase() as p:
        n = sum(1 for _ in read_snapshot(path))
    out["read_snapshot_records"] = p.result(records=n, rate=round(n / p.wall))
    return out


STORE_ONLY_MAX = 200_000  # records kept in memory for the store-only pass


def _breakdown_store_only(path: Path, args: argparse.Namespace, base: str) -> dict:
    """Store cost alone: parse everything into memory first, then time ``run_ingest`` on the list."""
    from paperfeed.clock import SystemClock
    from paperfeed.ingest.runner import run_ingest

    items = list(read_snapshot(path))
    if len(items) > STORE_ONLY_MAX:
        return {"skipped": f"more than {STORE_ONLY_MAX:,} records"}
    from paperfeed.db import bulk

    # time every bulk INSERT per table (instrumentation of this pass only, restored afterwards)
    per_table: dict[str, dict] = {}
    original = bulk.BulkInsert.execute

    def timed(self, conn, rows):
        rows = list(rows)
        t0 = time.perf_counter()
        original(self, conn, rows)
        table = self.sql.split("INSERT INTO ", 1)[1].split(" ", 1)[0].strip('"')
        entry = per_table.setdefault(table, {"rows": 0, "seconds": 0.0})
        entry["rows"] += len(rows)
        entry["seconds"] += time.perf_counter() - t0

    with temp_dir("paperfeed-bench-store-", base=base) as data_dir:
        settings = _settings(data_dir, args)
        upgrade(settings)
        engine = get_engine(settings)
        bulk.BulkInsert.execute = timed
        try:
            with Phase() as p:
                report = run_ingest(
                    engine,
                    items,
                    source="snapshot",
                    location=str(path),
                    clock=SystemClock(),
                    batch_size=settings.ingest_batch_size,
                )
        finally:
            bulk.BulkInsert.execute = original
        engine.dispose()
    for entry in per_table.values():
        entry["seconds"] = round(entry["seconds"], 3)
    return p.result(
        records=report.records,
        inserted=report.inserted,
        rate=round(report.records / p.wall),
        bulk_insert_by_table=per_table,
    )


def _breakdown_index_reads(engine) -> dict:
    """The indexer's database side alone: ``changed_papers`` batches from seq 0."""
    cursor = docs_total = 0
    with Phase() as p:
        while True:
            with engine.connect() as conn:
                docs, cursor = changed_papers(conn, cursor, READ_BATCH)
            if not docs:
                break
            docs_total += len(docs)
    return p.result(records=docs_total, rate=round(docs_total / p.wall) if p.wall else 0)


def _profile_summary(profile: ThreadProfile, label: str, stamp: str) -> dict:
    """Save the profile (all Python threads) and return a coarse where-does-time-go table.

    Seconds are profiled seconds summed over threads (the writer thread overlaps the parser),
    so shares are of the summed total, not of wall time.
    """
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    prof_path = OUT_DIR / f"ingest_snapshot-{stamp}-{label}.prof"
    stats = profile.stats()
    stats.dump_stats(prof_path)
    text = io.StringIO()
    stats.stream = text
    stats.sort_stats("tottime").print_stats(40)
    (OUT_DIR / f"ingest_snapshot-{stamp}-{label}.txt").write_text(text.getvalue())
    total = stats.total_tt
    buckets = {
        "sqlite executemany": ("executemany", "tottime"),
        "sqlite execute": ("execute' of 'sqlite3", "tottime"),
        "sqlite commit (WAL/checkpoint)": ("commit' of 'sqlite3", "tottime"),
        "sqlite fetch": ("fetch", "tottime_sqlite"),
        "gzip decompress": ("decompress", "tottime"),
        "orjson.loads": ("orjson.loads", "tottime"),
        "blake2b hash": ("blake2b", "tottime"),
        "record_from_snapshot (all of it)": ("record_from_snapshot", "cumtime"),
        "BulkInsert value processing": ("bulk.py", "tottime_file"),
        "tantivy add_document": ("add_document", "tottime"),
        "tantivy Document()": ("to_tantivy", "cumtime"),
        "tantivy commit": ("commit' of 'tantivy", "tottime"),
        "tantivy wait_merging_threads": ("wait_merging_threads", "tottime"),
        "changed_papers (db read for index)": ("changed_papers", "cumtime"),
    }
    table = {}
    for name, (needle, how) in buckets.items():
        seconds = 0.0
        for (filename, _line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():
            key = f"{filename}:{func}"
            if how == "tottime_file":
                if filename.endswith(needle):
                    seconds += tt
            elif how == "tottime_sqlite":
                if needle in func and "sqlite3" in func:
                    seconds += tt
            elif needle in key or needle in func:
                seconds += ct if how == "cumtime" else tt
        if seconds:
            table[name] = {"seconds": round(seconds, 3), "share": round(seconds / total, 3)}
    return {"profiled_total_s": round(total, 3), "buckets": table, "prof_file": str(prof_path)}


def run(args: argparse.Namespace) -> dict:
    """Run the benchmark; returns the result dict (also used by search_bench to build instances)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    source = args.path
    source_lines = count_lines(source)
    papers = args.papers or source_lines
    result: dict = {
        "benchmark": "ingest_snapshot",
        "machine": machine_facts(),
        "params": {
            "path": str(source),
            "source_lines": source_lines,
            "papers": papers,
            "argv": sys.argv,
        },
        "target_papers_per_s": TARGET_PAPERS_PER_S,
    }
    need = papers * BYTES_PER_PAPER_ESTIMATE
    if free_bytes(Path(args.tmp)) < need:
        raise SystemExit(f"not enough free space in {args.tmp}: need about {need / 1e9:.1f} GB")

    keep = bool(args.keep or args.data_dir)
    with temp_dir("paperfeed-bench-input-", base=args.tmp) as input_dir:
        if papers == source_lines:
            path = source
        else:
            path = input_dir / f"snapshot-{papers}.jsonl.gz"
            print(f"[bench] writing {papers:,} papers to {path}", file=sys.stderr)
            result["replicated_input"] = write_snapshot_of_size(source, papers, path)
        result["params"]["input_file"] = str(path)

        if args.breakdown:
            print("[bench] breakdown: read-only passes", file=sys.stderr)
            result["breakdown"] = _breakdown_read(path)
            print("[bench] breakdown: store only (records parsed beforehand)", file=sys.stderr)
            result["breakdown"]["store_only"] = _breakdown_store_only(path, args, args.tmp)

        if args.data_dir:
            args.data_dir.mkdir(parents=True, exist_ok=False)
            data_dir_cm = contextlib.nullcontext(args.data_dir)
        else:
            data_dir_cm = temp_dir("paperfeed-bench-data-", keep=keep, base=args.tmp)
        with data_dir_cm as data_dir:
            settings = _settings(data_dir, args)
            result["params"].update(
                data_dir=str(data_dir),
                kept=keep,
                ingest_batch_size=settings.ingest_batch_size,
                index_writer_heap_mb=settings.index_writer_heap_mb,
                index_threads=settings.index_threads,
            )
            with Phase() as p:
                upgrade(settings)
            result["migrate"] = p.result()
            engine = get_engine(settings)
            index = TantivyKeywordIndex(settings.index_dir)

            print(f"[bench] ingest {papers:,} papers", file=sys.stderr)
            profile = ThreadProfile() if args.profile else contextlib.nullcontext()
            with Phase() as p, profile:
                report = ingest_file(settings, engine, "arxiv-snapshot", path)
            result["ingest"] = p.result(
                records=report.records,
                inserted=report.inserted,
                updated=report.updated,
                unchanged=report.unchanged,
                bad_records=report.bad_records,
                report_seconds=round(report.seconds, 3),
                rate=round(report.rate),
            )
            if args.profile:
                result["ingest"]["profile"] = _profile_summary(profile, "ingest", stamp)

            print("[bench] keyword index build", file=sys.stderr)
            profile = ThreadProfile() if args.profile else contextlib.nullcontext()
            with profile:
                built, result["index"] = rebuild_keyword_index(engine, index, settings)
            result["index"]["num_docs"] = index.num_docs()
            if args.profile:
                result["index"]["profile"] = _profile_summary(profile, "index", stamp)
            if args.breakdown:
                result["breakdown"]["index_db_reads"] = _breakdown_index_reads(engine)

            total_s = report.seconds + built.seconds
            result["end_to_end"] = {
                "papers": report.records,
                "seconds": round(total_s, 3),
                "rate": round(report.records / total_s),
                "target_met": report.records / total_s >= TARGET_PAPERS_PER_S,
            }

            if not args.no_rerun:
                print("[bench] idempotent re-run of the same file", file=sys.stderr)
                with Phase() as p:
                    again = ingest_file(settings, engine, "arxiv-snapshot", path)
                result["rerun"] = p.result(
                    records=again.records,
                    inserted=again.inserted,
                    updated=again.updated,
                    unchanged=again.unchanged,
                    report_seconds=round(again.seconds, 3),
                    rate=round(again.rate),
                )
                with Phase() as p:
                    incremental = update_keyword_index(
                        engine,
                        index,
                        heap_mb=settings.index_writer_heap_mb,
                        threads=settings.index_threads,
                    )
                result["rerun_index"] = p.result(
                    indexed=incremental.indexed, report_seconds=round(incremental.seconds, 3)
                )

            db_path = data_dir / "paperfeed.db"
            result["disk"] = {
                "database_bytes": dir_size(db_path) if db_path.exists() else 0,
                "wal_bytes": dir_size(Path(f"{db_path}-wal")) if Path(f"{db_path}-wal").exists() else 0,
                "keyword_index_bytes": dir_size(index.current_link),
                "input_bytes": path.stat().st_size,
            }
            engine.dispose()
    result["peak_rss_mb"] = peak_rss_mb()
    result["machine"]["loadavg_at_end"] = loadavg()
    return result


def summary(result: dict) -> str:
    lines = [f"snapshot ingest, {result['params']['papers']:,} papers"]
    if "breakdown" in result:
        b = result["breakdown"]
        for key in ("lines_only", "lines_plus_json", "read_snapshot_records", "store_only", "index_db_reads"):
            if key in b and "rate" in b[key]:
                lines.append(f"  breakdown {key:<22} {b[key]['wall_s']:8.1f} s  {fmt_rate(b[key]['rate'])}/s")
    i, x, e = result["ingest"], result["index"], result["end_to_end"]

    def row(label: str, seconds: float, rate: float, extra: str = "") -> str:
        return f"  {label:<22}{seconds:8.1f} s  {fmt_rate(rate):>8}/s  {extra}"

    lines.append(row("parse+store", i["report_seconds"], i["rate"], f"(cpu {i['cpu_s']:.1f} s)"))
    lines.append(row("keyword index build", x["report_seconds"], x["rate"], f"(cpu {x['cpu_s']:.1f} s)"))
    met = "MET" if e["target_met"] else "NOT MET"
    lines.append(row("end to end", e["seconds"], e["rate"], f"target {TARGET_PAPERS_PER_S:,}/s: {met}"))
    if "rerun" in result:
        r = result["rerun"]
        lines.append(
            f"  idempotent re-run     {r['report_seconds']:8.1f} s  {fmt_rate(r['rate'])}/s  "
            f"inserted {r['inserted']} updated {r['updated']} unchanged {r['unchanged']:,}"
        )
    d = result["disk"]
    lines.append(
        f"  disk: db {d['database_bytes'] / 1e6:.0f} MB, index {d['keyword_index_bytes'] / 1e6:.0f} MB; "
        f"peak RSS {result['peak_rss_mb']:.0f} MB"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    write_result("ingest_snapshot", result, args.out)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
