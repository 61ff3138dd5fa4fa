"""Scale-out load and soak test: PostgreSQL, ``paperfeed serve --workers 4``, many papers.

    python bench/soak.py                                # 1,000,000 papers, 30 s reads, 300 s soak
    python bench/soak.py --papers 100000 --soak-seconds 60 --read-seconds 15   # quicker
    python bench/soak.py --reuse                        # keep the loaded database between runs

1. **Instance**: a PostgreSQL database (``--database-url``, default ``paperfeed_soak`` on the
   local server, dropped and re-created unless ``--reuse``) loaded with ``--papers`` real arXiv
   snapshot papers (the 75k sample replicated with fresh ids) + the HF daily papers with
   upvotes, and a keyword index. Semantic search is off (no embedding at this scale here).
2. **Mixed reads**: ``wrk`` over a cycle of day/week/trending pages, the daily API, paper pages
   and keyword searches → req/s, p50/p99, non-2xx.
3. **Soak**: 8 writer threads (each its own account + API token) toggle upvotes on a shared pool
   of 300 papers and post comments for ``--soak-seconds``, while a *harvest* (``paperfeed ingest
   arxiv-snapshot`` of fresh papers) and then ``paperfeed index`` run, and wrk keeps reading.
   At the end every paper's ``upvotes - base_upvotes`` must equal its vote rows and the writers'
   own record of their final vote state (0 lost votes), and comment rows must equal the 201s.
   Rate limits are raised for the writers (they would otherwise answer 429 by design).

Everything is on 127.0.0.1. Results: ``bench/out/soak-<time>.json`` + a summary on stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api_load import Server, free_port, paperfeed_command, run_httpx, run_wrk, write_lua
from common import (
    HF_DAILY,
    SNAPSHOT_SAMPLE,
    Phase,
    loadavg,
    machine_facts,
    make_queries,
    temp_dir,
    write_result,
    write_snapshot_of_size,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/paperfeed_soak"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="Keep an already loaded database.")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--read-seconds", type=int, default=30)
    parser.add_argument("--soak-seconds", type=int, default=300)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--harvest-papers", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--data-dir", type=Path, default=None, help="Index folder to keep (with --reuse).")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- instance
def recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def cli(*args: str, env: dict | None = None, timeout: float = 7200) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*paperfeed_command(), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"paperfeed {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done


def load_instance(args: argparse.Namespace, data_dir: Path, work: Path, env: dict) -> dict:
    info: dict = {}
    engine = create_engine(args.database_url)
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('papers') IS NOT NULL")).scalar_one()
        papers = conn.execute(text("SELECT count(*) FROM papers")).scalar_one() if exists else 0
    engine.dispose()
    if papers < args.papers:
        snapshot = work / f"snapshot-{args.papers}.jsonl.gz"
        with Phase() as p:
            write_snapshot_of_size(SNAPSHOT_SAMPLE, args.papers, snapshot)
        info["write_snapshot"] = p.result()
        with Phase() as p:
            cli("ingest", "arxiv-snapshot", str(snapshot), "--no-index", env=env)
        info["snapshot_ingest"] = p.result(papers=args.papers)
        with Phase() as p:
            cli("ingest", "hf-daily", str(HF_DAILY), "--no-index", env=env)
        info["hf_ingest"] = p.result()
    with Phase() as p:
        cli("index", "--no-vectors", env=env)
    info["index_update"] = p.result()
    return info


def instance_facts(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        facts = {
            "papers": conn.execute(text("SELECT count(*) FROM papers")).scalar_one(),
            "feed_entries": conn.execute(text("SELECT count(*) FROM feed_entries")).scalar_one(),
            "busiest_day": str(
                conn.execute(
                    text(
                        "SELECT feed_date FROM feed_entries GROUP BY feed_date ORDER BY count(*) DESC LIMIT 1"
                    )
                ).scalar_one()
            ),
            "pool": [
                row[0]
                for row in conn.execute(
                    text(
                        "SELECT p.arxiv_id FROM papers p JOIN feed_entries f ON f.paper_id = p.id "
                        "ORDER BY f.feed_date DESC, p.arxiv_id LIMIT 300"
                    )
                )
            ],
            "sample_ids": [
                row[0]
                for row in conn.execute(text("SELECT arxiv_id FROM papers ORDER BY random() LIMIT 200"))
            ],
            "database_mb": round(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 1e6, 1
            ),
        }
    engine.dispose()
    return facts


def read_paths(facts: dict) -> list[str]:
    day = facts["busiest_day"]
    paths = [
        f"/papers?date={day}",
        f"/api/daily_papers?date={day}",
        "/papers/trending",
        "/api/daily_papers?sort=trending",
        "/",
    ]
    paths += [f"/papers/{arxiv_id}" for arxiv_id in facts["sample_ids"][:60]]
    paths += [f"/api/papers/{arxiv_id}" for arxiv_id in facts["sample_ids"][60:120]]
    paths += [
        f"/api/papers/search?mode=keyword&limit=20&q={quote(query)}"
        for _, query in make_queries(HF_DAILY, 60)
    ]
    random.Random(7).shuffle(paths)
    return paths


# --------------------------------------------------------------------------- writers
def make_writers(args: argparse.Namespace, env: dict) -> list[str]:
    tokens = []
    for number in range(args.writers):
        name = f"soak{number}"
        done = subprocess.run(
            [
                *paperfeed_command(),
                "users",
                "create",
                name,
                "--email",
                f"{name}@example.org",
                "--password-stdin",
            ],
            input="soak-password-123\n",
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0 and "taken" not in done.stderr and "exists" not in done.stderr:
            raise RuntimeError(done.stderr)
        tokens.append(cli("users", "token", name, env=env).stdout.strip())
    return tokens


class Writer(threading.Thread):
    """Toggles upvotes on the pool and comments; remembers its final vote state per paper."""

    def __init__(self, base: str, token: str, pool: list[str], deadline: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.pool, self.deadline = base, token, pool, deadline
        self.random = random.Random(seed)
        self.voted: dict[str, bool] = {}
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []
        self.comments = 0
        self.latencies: list[float] = []

    def run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            while time.monotonic() < self.deadline:
                arxiv_id = self.random.choice(self.pool)
                started = time.perf_counter()
                try:
                    if self.random.random() < 0.15:
                        response = client.post(
                            f"/api/papers/{arxiv_id}/comments",
                            json={"text": f"soak comment with math $x^{self.random.randint(2, 9)}$"},
                        )
                        if response.status_code == 201:
                            self.comments += 1
                    else:
                        on = not self.voted.get(arxiv_id, False)
                        response = (client.post if on else client.delete)(f"/api/papers/{arxiv_id}/upvote")
                        if response.status_code == 200:
                            self.voted[arxiv_id] = response.json()["upvoted"]
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                    continue
                self.latencies.append(time.perf_counter() - started)
                self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1


def verify(url: str, writers: list[Writer], pool: list[str]) -> dict:
    expected = {arxiv_id: 0 for arxiv_id in pool}
    for writer in writers:
        for arxiv_id, on in writer.voted.items():
            expected[arxiv_id] += int(on)
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.arxiv_id, p.upvotes - p.base_upvotes AS local, "
                "(SELECT count(*) FROM votes v WHERE v.paper_id = p.id) AS vote_rows "
                "FROM papers p WHERE p.arxiv_id = ANY(:ids)"
            ),
            {"ids": pool},
        ).all()
        comments = conn.execute(
            text(
                "SELECT count(*) FROM comments c JOIN users u ON u.id = c.user_id"
                " WHERE u.username LIKE 'soak%'"
            )
        ).scalar_one()
    engine.dispose()
    mismatched = [row.arxiv_id for row in rows if not (row.local == row.vote_rows == expected[row.arxiv_id])]
    return {
        "papers_checked": len(rows),
        "votes_expected": sum(expected.values()),
        "vote_rows": sum(row.vote_rows for row in rows),
        "lost_or_extra_votes": len(mismatched),
        "mismatched_papers": mismatched[:10],
        "comments_posted": sum(w.comments for w in writers),
        "comment_rows": comments,
    }


# --------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> dict:
    from common import percentiles

    result: dict = {"machine": machine_facts(), "args": vars(args) | {"data_dir": str(args.data_dir)}}
    with temp_dir("paperfeed-soak", keep=args.data_dir is not None) as work:
        data_dir = args.data_dir or work / "var"
        env = dict(
            os.environ,
            PAPERFEED_DATA_DIR=str(data_dir),
            PAPERFEED_DATABASE_URL=args.database_url,
            PAPERFEED_SEMANTIC_SEARCH="false",
            PAPERFEED_VECTOR_INDEX_INTERVAL_SECONDS="0",
            PAPERFEED_RATE_LIMIT_VOTE_USER="100000/60",
            PAPERFEED_RATE_LIMIT_COMMENT_USER="100000/60",
            PAPERFEED_ARGON2_MEMORY_KIB="8192",
        )
        if not args.reuse:
            recreate_database(args.database_url)
        cli("db", "upgrade", env=env)
        result["load"] = load_instance(args, data_dir, work, env)
        facts = instance_facts(args.database_url)
        result["instance"] = {k: v for k, v in facts.items() if k not in ("pool", "sample_ids")}
        tokens = make_writers(args, env)
        lua = write_lua(read_paths(facts), work / "mixed.lua")

        os.environ.update({k: v for k, v in env.items() if k.startswith("PAPERFEED_")})
        server = Server(data_dir, free_port(), args.workers, work / "server.log")
        try:
            result["server_ready_s"] = round(server.wait_ready(), 2)
            have_wrk = subprocess.run(["which", "wrk"], capture_output=True, check=False).returncode == 0
            reader = (
                (lambda seconds: run_wrk(server.base + "/", args, seconds, lua))
                if have_wrk
                else (lambda seconds: run_httpx([server.base + p for p in read_paths(facts)], args, seconds))
            )
            reader(5)  # warm-up
            result["loadavg_before_reads"] = loadavg()
            reads = reader(args.read_seconds)
            reads.pop("raw", None)
            result["mixed_reads"] = reads

            # soak: writers + harvest + index update + continuing reads
            harvest_file = work / "harvest.jsonl.gz"
            write_snapshot_of_size(SNAPSHOT_SAMPLE, args.harvest_papers, harvest_file, first_serial=5_000_000)
            deadline = time.monotonic() + args.soak_seconds
            writers = [
                Writer(server.base, token, facts["pool"], deadline, seed) for seed, token in enumerate(tokens)
            ]
            soak_started = time.perf_counter()
            for writer in writers:
                writer.start()
            background: dict = {}

            def harvest_then_index() -> None:
                with Phase() as p:
                    cli("ingest", "arxiv-snapshot", str(harvest_file), "--no-index", env=env)
                background["harvest"] = p.result(papers=args.harvest_papers)
                with Phase() as p:
                    cli("index", "--no-vectors", env=env)
                background["index_update"] = p.result()

            jobs = threading.Thread(target=harvest_then_index)
            jobs.start()
            soak_reads = reader(max(args.soak_seconds - 5, 5))
            soak_reads.pop("raw", None)
            for writer in writers:
                writer.join()
            jobs.join()
            result["soak"] = {
                "seconds": round(time.perf_counter() - soak_started, 1),
                "writers": args.writers,
                "write_requests": sum(sum(w.statuses.values()) for w in writers),
                "write_statuses": {
                    str(status): sum(w.statuses.get(status, 0) for w in writers)
                    for status in sorted({s for w in writers for s in w.statuses})
                },
                "write_errors": sum(len(w.errors) for w in writers),
                "write_latency": percentiles([t for w in writers for t in w.latencies]),
                "reads_during_soak": soak_reads,
                "background": background,
                "verification": verify(args.database_url, writers, facts["pool"]),
            }
        finally:
            server.stop()
    return result


def summary(result: dict) -> str:
    reads, soak, instance = result["mixed_reads"], result["soak"], result["instance"]
    check = soak["verification"]
    latency = soak["write_latency"]
    non_2xx = sum(n for s, n in soak["write_statuses"].items() if not s.startswith("2"))
    return "\n".join(
        [
            f"instance: {instance['papers']:,} papers, PostgreSQL {instance['database_mb']} MB,"
            f" {result['args']['workers']} workers",
            f"mixed reads: {reads['requests_per_s']:.0f} req/s, p50 {reads.get('p50_ms')} ms,"
            f" p99 {reads.get('p99_ms')} ms, non-2xx {reads.get('non_2xx')}",
            f"soak {soak['seconds']} s: {soak['write_requests']} writes by {soak['writers']} writers"
            f" (statuses {soak['write_statuses']}, errors {soak['write_errors']}, non-2xx {non_2xx}),"
            f" write p50 {latency.get('p50_ms')} ms p99 {latency.get('p99_ms')} ms",
            f"  reads meanwhile: {soak['reads_during_soak']['requests_per_s']:.0f} req/s,"
            f" p99 {soak['reads_during_soak'].get('p99_ms')} ms; background {soak['background']}",
            f"  votes: {check['vote_rows']} rows, expected {check['votes_expected']},"
            f" lost/extra on {check['lost_or_extra_votes']} papers; comments {check['comment_rows']}"
            f" rows for {check['comments_posted']} accepted",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    path = write_result("soak", result)
    print(summary(result))
    print(f"raw: {path}")
    check = result["soak"]["verification"]
    return 0 if check["lost_or_extra_votes"] == 0 and result["soak"]["write_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
