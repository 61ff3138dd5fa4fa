"""Where one HTTP request's time goes, measured in-process (no sockets, no load generator).

    python bench/request_profile.py --data-dir D     # an instance with HF data (e.g. from api_load)
    python bench/request_profile.py                  # builds a temporary one from the HF data only

For each URL the whole ASGI app is called directly (FastAPI routing, dependency injection,
thread-pool hop, handler, serialisation) and its CPU time per request is measured; then the
pieces of the daily listing are timed one by one (SQL statements through SQLAlchemy, authors
and categories, neighbour days, JSON shaping). CPU time (``time.process_time``) is used so
that the numbers do not depend on other load on the machine.
Raw results go to ``bench/out/request_profile-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from common import HF_DAILY, loadavg, machine_facts, temp_dir, write_result
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine, upgrade


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, help="existing instance with HF feed data")
    parser.add_argument("--hf", type=Path, default=HF_DAILY, help="HF data for a temporary instance")
    parser.add_argument("--date", help="feed day (default: the day with the most papers)")
    parser.add_argument("--repeat", type=int, default=200, help="calls per measurement")
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/out/...)")
    return parser.parse_args(argv)


def cpu_ms(fn, repeat: int) -> dict:
    """Median and mean CPU milliseconds of ``fn()`` over ``repeat`` calls (after 5 warm-up calls)."""
    for _ in range(5):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        samples.append(time.process_time() - t0)
    return {
        "median_cpu_ms": round(statistics.median(samples) * 1000, 3),
        "mean_cpu_ms": round(statistics.fmean(samples) * 1000, 3),
    }


_LOOP = asyncio.new_event_loop()  # one loop for every call, as in a server worker


def asgi_request(app, path: str, query: str) -> int:
    """Call the ASGI app for ``GET path?query`` on a long-lived event loop; returns the body size."""

    async def call() -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        size = 0

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            nonlocal size
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))

        await app(scope, receive, send)
        return size

    return _LOOP.run_until_complete(call())


def profile_instance(data_dir: Path, args: argparse.Namespace) -> dict:
    from sqlalchemy import text

    from paperfeed.app import create_app
    from paperfeed.clock import SystemClock
    from paperfeed.db import feed_store
    from paperfeed.papers.periods import day_period, parse_day
    from paperfeed.papers.service import PaperService, attach_people
    from paperfeed.web.responses import json_response
    from paperfeed.web.serialize import daily_item

    settings = Settings(data_dir=data_dir)
    engine = get_engine(settings)
    with engine.connect() as conn:
        day = args.date or str(
            conn.execute(
                text(
                    "SELECT feed_date FROM feed_entries GROUP BY feed_date "
                    "ORDER BY count(*) DESC, feed_date DESC LIMIT 1"
                )
            ).scalar_one()
        )
    app = create_app(settings)
    out: dict = {"day": day, "asgi": {}}
    urls = {
        "api_daily": ("/api/daily_papers", f"date={day}"),
        "page_daily": ("/papers", f"date={day}"),
        "api_search": ("/api/papers/search", "q=diffusion+transformers"),
        "healthz": ("/healthz", ""),
        "unrouted_404 (framework floor)": ("/no-such-route-bench", ""),
    }
    for name, (path, query) in urls.items():
        size = asgi_request(app, path, query)
        out["asgi"][name] = {
            "bytes": size,
            **cpu_ms(lambda p=path, q=query: asgi_request(app, p, q), args.repeat),
        }
        print(f"[bench] {name}: {out['asgi'][name]}", file=sys.stderr)

    papers = PaperService(engine, settings, SystemClock())
    period = day_period(parse_day(day))
    pieces: dict = {}
    pieces["PaperService.listing (all of it)"] = cpu_ms(lambda: papers.listing(period, limit=50), args.repeat)
    with engine.connect() as conn:
        rows = feed_store.featured_between(conn, period.start, period.end, order="upvotes", limit=50)
        ids = [row["id"] for row in rows]
        pieces["featured_between (main SELECT, 50 rows)"] = cpu_ms(
            lambda: feed_store.featured_between(conn, period.start, period.end, order="upvotes", limit=50),
            args.repeat,
        )
        pieces["count_featured_between"] = cpu_ms(
            lambda: feed_store.count_featured_between(conn, period.start, period.end), args.repeat
        )
        pieces["attach_people (authors + categories)"] = cpu_ms(
            lambda: attach_people(conn, rows), args.repeat
        )
        pieces["authors_of"] = cpu_ms(lambda: feed_store.authors_of(conn, ids), args.repeat)
        pieces["neighbour_days x2"] = cpu_ms(
            lambda: (
                feed_store.neighbour_days(conn, period.start),
                feed_store.neighbour_days(conn, period.end),
            ),
            args.repeat,
        )
        raw = conn.connection.driver_connection
        pieces["same main SELECT as raw sqlite3 (reference)"] = cpu_ms(
            lambda: raw.execute(
                "SELECT p.id, p.arxiv_id, p.title, p.abstract, p.published_at, p.upvotes, p.num_comments, "
                "p.github_repo, p.project_page, p.primary_category, p.ai_keywords, p.ai_summary, "
                "f.feed_date, f.featured_at, f.submitted_by FROM feed_entries f JOIN papers p "
                "ON p.id = f.paper_id WHERE f.feed_date = ? AND p.hidden = 0 "
                "ORDER BY p.upvotes DESC, f.featured_at DESC, p.id DESC LIMIT 50",
                (day,),
            ).fetchall(),
            args.repeat,
        )
        items = attach_people(conn, rows)
    pieces["daily_item x50 (JSON shaping)"] = cpu_ms(lambda: [daily_item(i) for i in items], args.repeat)
    shaped = [daily_item(i) for i in items]
    pieces["json_response (orjson)"] = cpu_ms(lambda: json_response(shaped), args.repeat)
    out["listing_pieces"] = pieces
    engine.dispose()
    return out


def run(args: argparse.Namespace) -> dict:
    result: dict = {
        "benchmark": "request_profile",
        "machine": machine_facts(),
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    if args.data_dir:
        result.update(profile_instance(args.data_dir, args))
    else:
        from paperfeed.ingest.service import ingest_file
        from paperfeed.search.indexer import update_keyword_index
        from paperfeed.search.keyword import TantivyKeywordIndex

        with temp_dir("paperfeed-bench-req-") as base:
            settings = Settings(data_dir=base / "data")
            upgrade(settings)
            ingest_file(settings, get_engine(settings), "hf-daily", args.hf)
            update_keyword_index(get_engine(settings), TantivyKeywordIndex(settings.index_dir))
            result.update(profile_instance(base / "data", args))
    result["machine"]["loadavg_at_end"] = loadavg()
    return result


def summary(result: dict) -> str:
    lines = [f"in-process CPU per request (day {result['day']})"]
    for name, r in result["asgi"].items():
        lines.append(f"  {name:<44} {r['median_cpu_ms']:7.2f} ms  ({r['bytes']:,} bytes)")
    lines.append("  daily listing, piece by piece:")
    for name, r in result["listing_pieces"].items():
        lines.append(f"    {name:<42} {r['median_cpu_ms']:7.2f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    write_result("request_profile", result, args.out)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
