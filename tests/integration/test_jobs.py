"""Job leases (one holder at a time, expiry, renewal), run_job bookkeeping, the scheduler loop and
the ``jobs`` / ``scheduler`` CLI, on a real migrated SQLite database."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from paperfeed.clock import FixedClock
from paperfeed.db.engine import make_engine
from paperfeed.db.jobs_store import get_lease
from paperfeed.errors import InvalidInput
from paperfeed.jobs.leases import Lease
from paperfeed.jobs.runner import JobResult, Scheduler, run_job
from tests.cli import run_cli
from tests.oai_server import fake_oai

NY = ZoneInfo("America/New_York")


def test_racing_holders_exactly_one_wins(settings, engine):
    contenders = 4
    barrier = threading.Barrier(contenders)
    won: list[str] = []

    def race(i: int) -> None:
        own_engine = make_engine(settings.resolved_database_url)  # separate connections, real contention
        lease = Lease(own_engine, "harvest", duration=60, holder=f"node-{i}", renew=False)
        barrier.wait()
        if lease.acquire():
            won.append(lease.holder)
        own_engine.dispose()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    with engine.connect() as conn:
        assert get_lease(conn, "harvest").holder == won[0]


def test_run_job_runs_once_while_another_holds_the_lease(settings, engine):
    started, release = threading.Event(), threading.Event()
    results: list[JobResult] = []

    def slow() -> list[str]:
        started.set()
        release.wait(10)
        return ["slow done"]

    worker = threading.Thread(
        target=lambda: results.append(run_job("index", settings, engine, holder="a", work=slow))
    )
    worker.start()
    assert started.wait(10)
    second = run_job("index", settings, engine, holder="b", work=lambda: ["should not run"])
    release.set()
    worker.join()
    assert second.ran is False and second.ok is True
    assert second.lines == ["index: skipped, lease held by a"]
    assert results[0].ran and results[0].ok and results[0].lines == ["slow done"]
    with engine.connect() as conn:
        row = get_lease(conn, "index")
    assert row.holder is None and row.last_success_at is not None and row.last_error is None


def test_expired_lease_is_taken_over(engine):
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    first = Lease(engine, "digest", duration=60, holder="dead-node", clock=FixedClock(start), renew=False)
    assert first.acquire()
    early = Lease(engine, "digest", duration=60, holder="b", clock=FixedClock(start + timedelta(seconds=30)))
    assert not early.acquire()
    late = Lease(
        engine,
        "digest",
        duration=60,
        holder="c",
        clock=FixedClock(start + timedelta(seconds=61)),
        renew=False,
    )
    assert late.acquire()
    assert first.renew() is False and first.lost
    first.release(success=True)  # no longer ours: changes nothing
    with engine.connect() as conn:
        row = get_lease(conn, "digest")
    assert row.holder == "c" and row.last_success_at is None
    late.release(success=False, error="boom")
    with engine.connect() as conn:
        row = get_lease(conn, "digest")
    assert row.holder is None and row.last_error == "boom"


def test_a_running_job_keeps_its_lease_alive(settings, engine):
    short = settings.model_copy(update={"job_lease_seconds": 0.3})
    attempts: list[bool] = []

    def work() -> list[str]:
        time.sleep(0.8)  # well past the lease duration: only renewal keeps it
        attempts.append(Lease(engine, "index", duration=0.3, holder="other", renew=False).acquire())
        return []

    result = run_job("index", short, engine, holder="runner", work=work)
    assert result.ok and attempts == [False]


def test_failures_are_recorded_on_the_lease(settings, engine):
    def fail() -> list[str]:
        raise InvalidInput("the OAI server said no")

    result = run_job("harvest", settings, engine, work=fail)
    assert result.ran and not result.ok and result.error == "the OAI server said no"
    with engine.connect() as conn:
        row = get_lease(conn, "harvest")
    assert row.holder is None and row.last_error == "the OAI server said no"


class SteppingClock:
    """A clock that moves only when the scheduler sleeps (or a job takes time)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def test_scheduler_runs_due_jobs_in_order(settings, engine):
    clock = SteppingClock(datetime(2026, 11, 26, 19, 0, tzinfo=NY).astimezone(UTC))
    ran: list[tuple[str, str]] = []

    def runner(job: str) -> JobResult:
        ran.append((job, clock.now().astimezone(NY).strftime("%a %H:%M")))
        clock.sleep(120)  # the job takes two minutes
        return JobResult(job, ran=True, ok=True, lines=["ok"])

    config = settings.model_copy(update={"index_interval_minutes": 0})
    echoed: list[str] = []
    scheduler = Scheduler(config, engine, clock=clock, runner=runner, sleep=clock.sleep, echo=echoed.append)
    assert scheduler.run(max_runs=5) == 5
    assert ran == [
        ("harvest", "Thu 20:30"),
        ("digest", "Fri 07:00"),
        ("digest", "Sat 07:00"),
        ("digest", "Sun 07:00"),
        ("harvest", "Sun 20:30"),
    ]
    assert echoed[0] == "harvest: ok"


def test_cli_jobs_run_harvest_index_and_status(tmp_path):
    data_dir = tmp_path / "var"
    with fake_oai() as server:
        env = {
            "PAPERFEED_OAI_URL": server.url,
            "PAPERFEED_OAI_MIN_INTERVAL_SECONDS": "0",
            "PAPERFEED_OAI_RETRIES": "0",
            "PAPERFEED_HARVEST_SETS": "cs",
            "PAPERFEED_SEMANTIC_SEARCH": "false",
        }
        result = run_cli(data_dir, "jobs", "run", "harvest", env=env)
        assert result.returncode == 0, result.stderr
        assert "harvest set=cs" in result.stderr and "6 new" in result.stderr
        assert "keyword index: 6 papers indexed" in result.stderr
        assert server.log[0][1]["set"] == "cs" and "from" in server.log[0][1]

        server.script = [("malformed",)]
        failed = run_cli(data_dir, "jobs", "run", "harvest", env=env)
        assert failed.returncode == 1
        assert failed.stderr.strip().splitlines()[-1].startswith("error: job harvest failed: ")
        assert "Traceback" not in failed.stderr

        index = run_cli(data_dir, "jobs", "run", "index", env=env)
        assert index.returncode == 0, index.stderr
        status = run_cli(data_dir, "jobs", "status", env=env)
    assert status.returncode == 0
    lines = {line.split()[0]: line for line in status.stdout.splitlines()}
    assert "never succeeded" not in lines["index"] and "free" in lines["index"]
    assert "last error: the OAI-PMH server answered malformed XML" in lines["harvest"]
    assert "never ran" in lines["digest"]
    search = run_cli(data_dir, "search", "symmetry energy", "--mode", "keyword", env=env)
    assert "0704.0471" in search.stdout


def test_cli_jobs_schedule_and_unknown_job(tmp_path):
    result = run_cli(tmp_path / "var", "jobs", "schedule", "--count", "3")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "next run of each job:"
    assert any(line.strip().startswith("harvest") and "20:30" in line for line in result.stdout.splitlines())
    unknown = run_cli(tmp_path / "var", "jobs", "run", "reboot")
    assert unknown.returncode == 2


def test_cli_digest_job_with_no_subscribers(tmp_path):
    result = run_cli(tmp_path / "var", "jobs", "run", "digest", env={"PAPERFEED_SEMANTIC_SEARCH": "false"})
    assert result.returncode == 0, result.stderr
    assert "daily: 0 digest(s) queued" in result.stderr
