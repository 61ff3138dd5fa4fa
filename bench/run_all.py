"""Run every benchmark in sequence and print one summary (``make bench``).

    python bench/run_all.py              # moderate sizes: the 75k sample, ~5-10 minutes
    python bench/run_all.py --quick      # 10k papers, short load tests: ~2 minutes
    python bench/run_all.py --with-1m    # also 1,000,000 papers (ingest + search): +30-60 minutes

Steps (each a subprocess with its own time limit, results in ``bench/out/run_all-<time>/``):

1. ``ingest_snapshot.py`` on the sample (with read-only breakdown and the idempotent re-run),
   keeping the instance;
2. ``search_bench.py`` on that instance (500 queries);
3. ``api_load.py`` on that instance plus the HF daily papers (wrk, 2 workers);
4. ``request_profile.py`` on the same instance (CPU per request, piece by piece, in-process);
5. ``tokenizer_bench.py`` (en_stem versus default);
6. with ``--with-1m``: ``ingest_snapshot.py --papers 1000000`` then ``search_bench.py`` on it.

The temporary instances live under /tmp and are deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from common import OUT_DIR, machine_facts, temp_dir, write_result

BENCH = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every script")
    parser.add_argument("--with-1m", action="store_true", help="also ingest and search 1,000,000 papers")
    parser.add_argument("--papers", type=int, help="papers for step 1 (default: the whole sample)")
    parser.add_argument("--big-papers", type=int, default=1_000_000, help="size for --with-1m")
    parser.add_argument("--duration", type=int, help="seconds of load per URL (default 20, quick 5)")
    parser.add_argument("--skip", default="", help="comma list of ingest,search,api,tokenizer")
    return parser.parse_args(argv)


def run_step(name: str, argv: list[str], out: Path, timeout: int) -> dict:
    """Run one script; SIGTERM then SIGKILL on timeout (api_load stops its server on SIGTERM)."""
    cmd = [sys.executable, str(BENCH / argv[0]), *argv[1:], "--out", str(out)]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        rc = "timeout"
    except BaseException:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        if proc.poll() is None:
            proc.kill()
        raise
    elapsed = time.perf_counter() - t0
    step = {"name": name, "command": " ".join(cmd), "rc": rc, "seconds": round(elapsed, 1)}
    if rc == 0 and out.exists():
        step["result_file"] = str(out)
    return step


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = OUT_DIR / f"run_all-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    papers = args.papers or (10_000 if args.quick else 0)
    duration = args.duration or (5 if args.quick else 20)
    steps: list[dict] = []
    started = time.perf_counter()

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    with temp_dir("paperfeed-bench-all-") as work:
        data = work / "data"
        size = ["--papers", str(papers)] if papers else []
        if "ingest" not in skip:
            steps.append(
                run_step(
                    "ingest_snapshot",
                    ["ingest_snapshot.py", *size, "--breakdown", "--data-dir", str(data)],
                    out_dir / "ingest_snapshot.json",
                    timeout=1800,
                )
            )
        if not (data / "paperfeed.db").exists():
            print("no instance was built: search and api steps need one", file=sys.stderr)
            skip |= {"search", "api"}
        if "search" not in skip:
            queries = "200" if args.quick else "500"
            steps.append(
                run_step(
                    "search_bench",
                    ["search_bench.py", "--data-dir", str(data), "--queries", queries, "--shapes"],
                    out_dir / "search_bench.json",
                    timeout=900,
                )
            )
        if "api" not in skip:
            steps.append(
                run_step(
                    "api_load",
                    ["api_load.py", "--data-dir", str(data), "--duration", str(duration)],
                    out_dir / "api_load.json",
                    timeout=900,
                )
            )
        if "api" not in skip and (data / "paperfeed.db").exists():
            repeat = "50" if args.quick else "200"
            steps.append(
                run_step(
                    "request_profile",
                    ["request_profile.py", "--data-dir", str(data), "--repeat", repeat],
                    out_dir / "request_profile.json",
                    timeout=600,
                )
            )
        if "tokenizer" not in skip:
            tok = ["--papers", "10000", "--repeats", "1"] if args.quick else []
            steps.append(
                run_step(
                    "tokenizer_bench", ["tokenizer_bench.py", *tok], out_dir / "tokenizer_bench.json", 900
                )
            )
        if args.with_1m:
            big = work / "data-big"
            steps.append(
                run_step(
                    "ingest_snapshot_big",
                    [
                        "ingest_snapshot.py",
                        "--papers",
                        str(args.big_papers),
                        "--no-rerun",
                        "--data-dir",
                        str(big),
                    ],
                    out_dir / "ingest_snapshot_big.json",
                    timeout=4 * 3600,
                )
            )
            if (big / "paperfeed.db").exists():
                steps.append(
                    run_step(
                        "search_bench_big",
                        ["search_bench.py", "--data-dir", str(big), "--queries", "500", "--shapes"],
                        out_dir / "search_bench_big.json",
                        timeout=1800,
                    )
                )

    summaries = print_summaries(steps)
    write_result(
        "run_all",
        {
            "benchmark": "run_all",
            "machine": machine_facts(),
            "steps": steps,
            "seconds": round(time.perf_counter() - started, 1),
            "summaries": summaries,
        },
        out_dir / "summary.json",
    )
    failed = [s["name"] for s in steps if s["rc"] != 0]
    if failed:
        print(f"failed steps: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def print_summaries(steps: list[dict]) -> dict[str, str]:
    import api_load
    import ingest_snapshot
    import request_profile
    import search_bench
    import tokenizer_bench

    modules = {
        "ingest_snapshot": ingest_snapshot,
        "ingest_snapshot_big": ingest_snapshot,
        "search_bench": search_bench,
        "search_bench_big": search_bench,
        "api_load": api_load,
        "request_profile": request_profile,
        "tokenizer_bench": tokenizer_bench,
    }
    out = {}
    print("\n================ summary ================")
    for step in steps:
        if "result_file" not in step:
            text = f"{step['name']}: FAILED (rc {step['rc']}, {step['seconds']} s)"
        else:
            result = orjson.loads(Path(step["result_file"]).read_bytes())
            text = modules[step["name"]].summary(result) + f"\n  ({step['seconds']} s, {step['result_file']})"
        out[step["name"]] = text
        print(text)
    return out


if __name__ == "__main__":
    sys.exit(main())
