"""Latency of one "For you" ranking (``RecommendationService.for_user``) at demo scale.

    python bench/for_you_bench.py                  # the bundled demo data, 200 upvotes, 7 follows
    python bench/for_you_bench.py --votes 1000 --runs 100

Builds a temporary instance from the bundled demo data set (``paperfeed demo``'s files), pins the
clock to 2026-08-22 15:00 UTC (the day after the demo's last feed day, so the default 7-day
window holds a full week of candidates), gives a user ``--votes`` upvotes on demo papers, three
category follows, two author follows and two keyword saved searches, and fills the vector index
with random unit vectors (scoring cost does not depend on the values, and no model is loaded).
Each run is one full ``for_user`` call (database reads, saved searches, vector reads, scoring),
single client, after a short warm-up. Raw results go to ``bench/out/for_you_bench-<time>.json``.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from common import loadavg, machine_facts, percentiles, temp_dir, write_result
from paperfeed.clock import FixedClock
from paperfeed.community.follows import FollowService
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine, upgrade
from paperfeed.db.models import FeedEntry, Paper
from paperfeed.db.votes_store import set_vote
from paperfeed.demo import demo_files
from paperfeed.ingest.service import ingest_file
from paperfeed.papers.service import PaperService
from paperfeed.personal.recommend import RecommendationService
from paperfeed.search.embed import DEFAULT_MODEL_ID
from paperfeed.search.indexer import update_keyword_index
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.semantic import EmbedderProvider
from paperfeed.search.service import SearchService
from paperfeed.search.vectors import VectorIndex

NOW = datetime(2026, 8, 22, 15, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--votes", type=int, default=200, help="upvotes of the benchmark user")
    parser.add_argument("--runs", type=int, default=50, help="timed for_user calls")
    parser.add_argument("--limit", type=int, default=50, help="recommendations per call")
    args = parser.parse_args()

    with temp_dir("pf-foryou-") as root:
        settings = Settings(data_dir=root / "var", secret_key="bench-secret-key-not-for-production")
        upgrade(settings)
        engine = get_engine(settings)
        clock = FixedClock(NOW)
        for kind, path in demo_files():
            ingest_file(settings, engine, kind, path, clock=clock)
        keyword = TantivyKeywordIndex(settings.index_dir, refresh_seconds=0.0)
        update_keyword_index(engine, keyword)
        with engine.connect() as conn:
            papers = conn.execute(select(Paper.id, Paper.arxiv_id).order_by(Paper.id)).all()
            featured = set(conn.execute(select(FeedEntry.paper_id)).scalars())
        ids = [p.arxiv_id for p in papers]
        rng = np.random.default_rng(0)
        matrix = rng.normal(size=(len(ids), 384)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        vectors = VectorIndex(settings.index_dir, refresh_seconds=0.0)
        vectors.upsert(ids, matrix, model=DEFAULT_MODEL_ID)

        from paperfeed.community.accounts import AccountService
        from paperfeed.community.ratelimit import RateLimiter

        accounts = AccountService(engine, settings, clock, RateLimiter(engine, settings, clock))
        user = accounts.sign_up("bench", "bench@example.org", "correct horse battery")
        voted = [p for p in papers if p.id in featured][: args.votes]
        for paper in voted:
            set_vote(engine, user_id=user.id, paper_id=paper.id, on=True, now=NOW.replace(tzinfo=None))
        follows = FollowService(engine, settings, clock)
        for kind, value, mode in [
            ("category", "cs.CL", None),
            ("category", "cs.CV", None),
            ("category", "cs.LG", None),
            ("author", "Yann LeCun", None),
            ("author", "Kaiming He", None),
            ("query", "diffusion transformer", "keyword"),
            ("query", "reinforcement learning from human feedback", "keyword"),
        ]:
            follows.follow(user.id, kind, value, mode)

        paper_service = PaperService(engine, settings, clock)
        search = SearchService.from_settings(
            settings, keyword, paper_service, vectors=vectors, embedder=EmbedderProvider(None, enabled=False)
        )
        service = RecommendationService(engine, settings, clock, paper_service, search, vectors)
        since = service.default_since()
        recs = service.for_user(user.id, since=since, limit=args.limit)
        for _ in range(5):
            service.for_user(user.id, since=since, limit=args.limit)
        samples, cpu = [], []
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.thread_time()
            service.for_user(user.id, since=since, limit=args.limit)
            samples.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
        with engine.connect() as conn:
            candidates = len(
                conn.execute(select(FeedEntry.paper_id).where(FeedEntry.featured_at >= since)).scalars().all()
            )
        reasons: dict[str, int] = {}
        for rec in recs:
            key = rec.reason.split("“")[0].split(" cs.")[0].strip()
            reasons[key] = reasons.get(key, 0) + 1
        result = {
            "benchmark": "for_you",
            "machine": machine_facts(),
            "papers": len(ids),
            "window_since": since.isoformat(),
            "candidate_entries": candidates,
            "votes": len(voted),
            "follows": 7,
            "limit": args.limit,
            "latency_ms": percentiles(samples),
            "cpu_ms": percentiles(cpu),  # this thread's CPU time: what the call costs on an idle core
            "loadavg_after": loadavg(),
            "reasons": reasons,
        }
        path = write_result("for_you_bench", result)
        engine.dispose()
    lat = result["latency_ms"]
    print(
        f"for_user: {result['papers']} papers, {candidates} candidates in the window, {len(voted)} votes, "
        f"7 follows → wall p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms; "
        f"CPU p50 {result['cpu_ms']['p50_ms']} ms "
        f"(load {result['loadavg_after'][0]}; {path.name})"
    )


if __name__ == "__main__":
    main()
