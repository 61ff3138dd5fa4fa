"""Email digests at scale: render + queue for many subscribers, then SMTP send rate to a local sink.

    python bench/digest_bench.py                                  # 100,000 subscribers, 10% with accounts
    python bench/digest_bench.py --subscribers 5000 --send 500    # quick run

Builds a temporary instance from the bundled demo data set, pins the clock to 2026-08-22 15:00 UTC
(the daily digest covers the demo's last feed day), inserts ``--accounts`` users and
``--subscribers`` active daily subscriptions directly through the stores (a share of them linked to
the accounts, whose digests get personal picks from ``RecommendationService``), then times

1. ``DigestService.queue_due("daily")``: find due subscriptions, render the shared trending part
   once, render each mail (personal picks only for account holders) and insert the outbox rows;
2. ``Outbox.deliver_due`` of ``--send`` mails over one kept-open SMTP connection to an aiosmtpd
   sink (``aiosmtpd.handlers.Sink``, its own process) on 127.0.0.1; each mail is built
   (shared part put in, MIME serialised) and marked sent in its own transaction, as in production.

Raw results go to ``bench/out/digest_bench-<time>.json``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from common import cpu_seconds, dir_size, loadavg, machine_facts, peak_rss_mb, temp_dir, write_result
from paperfeed.clock import FixedClock
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.config import Settings
from paperfeed.db import accounts_store, mail_store
from paperfeed.db.engine import get_engine, upgrade
from paperfeed.db.models import OutboxMessage
from paperfeed.demo import demo_files
from paperfeed.ingest.service import ingest_file
from paperfeed.mail.digests import DigestService
from paperfeed.mail.senders import SmtpSender
from paperfeed.mail.subscriptions import SubscriptionService
from paperfeed.papers.service import PaperService
from paperfeed.personal.recommend import RecommendationService
from paperfeed.search.keyword import TantivyKeywordIndex
from paperfeed.search.semantic import EmbedderProvider
from paperfeed.search.service import SearchService
from paperfeed.search.vectors import VectorIndex

NOW = datetime(2026, 8, 22, 15, 0, tzinfo=UTC)
SINK_HANDLER = "aiosmtpd.handlers.Sink"


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument(
        "--account-share", type=float, default=0.10, help="share of subscribers with an account"
    )
    parser.add_argument("--send", type=int, default=2000, help="mails sent to the local SMTP sink")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance")
    args = parser.parse_args()

    result: dict = {"machine": machine_facts(), "args": vars(args)}
    with temp_dir("pf-digest-", keep=args.keep) as root:
        settings = Settings(data_dir=root / "var", secret_key="bench-secret-key-not-for-production")
        upgrade(settings)
        engine = get_engine(settings)
        clock = FixedClock(NOW)
        t0 = time.perf_counter()
        for kind, path in demo_files():
            ingest_file(settings, engine, kind, path, clock=clock)
        result["demo_load_s"] = round(time.perf_counter() - t0, 2)

        accounts = int(args.subscribers * args.account_share)
        t0 = time.perf_counter()
        now = NOW.replace(tzinfo=None)
        with engine.begin() as conn:
            user_ids = [
                accounts_store.insert_user(
                    conn,
                    username=f"u{n}",
                    email=f"u{n}@example.org",
                    password_hash="x",
                    is_admin=False,
                    now=now,
                )
                for n in range(accounts)
            ]
            rows = [
                {
                    "email": f"reader{n}@example.org" if n >= accounts else f"u{n}@example.org",
                    "frequency": "daily",
                    "status": "active",
                    "user_id": user_ids[n] if n < accounts else None,
                    "created_at": now,
                    "confirmed_at": now,
                }
                for n in range(args.subscribers)
            ]
            for start in range(0, len(rows), 5000):
                mail_store.insert_subscriptions(conn, rows[start : start + 5000])
        result["setup_subscribers_s"] = round(time.perf_counter() - t0, 2)

        papers = PaperService(engine, settings, clock)
        vectors = VectorIndex(settings.index_dir)
        search = SearchService.from_settings(
            settings,
            TantivyKeywordIndex(settings.index_dir),
            papers,
            vectors=vectors,
            embedder=EmbedderProvider(None, enabled=False),
        )
        recommender = RecommendationService(engine, settings, clock, papers, search, vectors)
        subs = SubscriptionService(engine, settings, clock, RateLimiter(engine, settings, clock))
        service = DigestService(engine, settings, clock, papers, subs, recommender)

        db_before = dir_size(settings.data_dir)
        t0, cpu0 = time.perf_counter(), cpu_seconds()
        report = service.queue_due("daily")
        queue_s, queue_cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        result["queue"] = {
            "period": report.period,
            "queued": report.queued,
            "seconds": round(queue_s, 2),
            "cpu_seconds": round(queue_cpu, 2),
            "per_second": round(report.queued / queue_s, 1),
            "loadavg_after": loadavg(),
            "db_growth_mb": round((dir_size(settings.data_dir) - db_before) / 1e6, 1),
        }
        print(f"[bench] queued {report.queued} digests for {report.period} in {queue_s:.1f}s", flush=True)

        t0 = time.perf_counter()
        again = service.queue_due("daily")
        result["requeue_idempotent"] = {"queued": again.queued, "seconds": round(time.perf_counter() - t0, 2)}

        # the sink runs in its own process (as a real relay would), so it does not share our GIL
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sink = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", SINK_HANDLER],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port)
            sender = SmtpSender.from_url(f"smtp://127.0.0.1:{port}")
            t0, cpu0 = time.perf_counter(), cpu_seconds()
            delivery = service.outbox.deliver_due(sender, limit=args.send)
            send_s, send_cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            sender.close()
        finally:
            sink.terminate()
            sink.wait(10)
        with engine.connect() as conn:
            sizes = conn.execute(
                select(
                    func.avg(func.length(OutboxMessage.body_text) + func.length(OutboxMessage.body_html))
                ).where(OutboxMessage.kind == "digest")
            ).scalar_one()
        result["send"] = {
            "sent": delivery.sent,
            "failed_or_retried": delivery.failed + delivery.retried,
            "seconds": round(send_s, 2),
            "cpu_seconds": round(send_cpu, 2),
            "per_second": round(delivery.sent / send_s, 1),
            "loadavg_after": loadavg(),
            "stored_digest_body_kb": round(float(sizes or 0) / 1024, 2),
        }
        print(f"[bench] sent {delivery.sent} mails in {send_s:.1f}s", flush=True)
        result["peak_rss_mb"] = peak_rss_mb()
    write_result("digest_bench", result)
    print(result)


if __name__ == "__main__":
    main()
