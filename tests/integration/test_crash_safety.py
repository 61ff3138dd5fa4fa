"""kill -9 in the middle of long work, restart, and end where an uninterrupted run ends.

Ingest (checkpointed batches) and keyword-index rebuilds (generations swapped atomically) are
killed with SIGKILL from outside, like a power cut or the OOM killer; the restarted command must
leave no lost, duplicated or half-written rows, and readers must be able to search throughout.
Digest sending (the mail outbox) has its own kill test in test_digests.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import text

from tests import databases
from tests.cli import run_cli
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

PAPERS = 12_000


@pytest.fixture(scope="module")
def big_snapshot(tmp_path_factory):
    """12,000 real snapshot lines (the 300-paper sample with fresh ids), gzipped."""
    with gzip.open(FIXTURES / "snapshot_300.jsonl.gz", "rt") as handle:
        lines = [json.loads(line) for line in handle]
    path = tmp_path_factory.mktemp("crash") / "snapshot_12k.jsonl.gz"
    with gzip.open(path, "wt") as out:
        for number in range(PAPERS):
            record = dict(lines[number % len(lines)])
            record["id"] = f"2409.{number + 10000:05d}"
            out.write(json.dumps(record) + "\n")
    return path


def _start(data_dir, *args, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", *args],
        env=dict(os.environ, PAPERFEED_DATA_DIR=str(data_dir), **(env or {})),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, *, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before it could be killed")
        time.sleep(0.02)
    pytest.fail("the process never reached the point to kill it at")


def _content_fingerprint(engine) -> tuple[int, str]:
    """Paper count and a checksum of everything stored about papers (not timestamps/sequences)."""
    digest = hashlib.sha256()
    queries = [
        "SELECT arxiv_id, title, abstract, published_at, primary_category, doi, journal_ref, license,"
        " latest_version, source_hashes FROM papers ORDER BY arxiv_id",
        "SELECT p.arxiv_id, a.position, a.name FROM paper_authors a JOIN papers p ON p.id = a.paper_id"
        " ORDER BY p.arxiv_id, a.position",
        "SELECT p.arxiv_id, c.position, c.category FROM paper_categories c JOIN papers p ON p.id = c.paper_id"
        " ORDER BY p.arxiv_id, c.position",
    ]
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        for query in queries:
            for row in conn.execute(text(query)):
                digest.update(repr(tuple(row)).encode())
    return count, digest.hexdigest()


@pytest.fixture
def reference_instance(tmp_path, postgres_template):
    """An empty second instance (its own data dir, and its own database on PostgreSQL)."""
    from paperfeed.config import Settings
    from paperfeed.db.engine import get_engine

    url = databases.create_database(postgres_template) if postgres_template else None
    settings = Settings(data_dir=tmp_path / "reference", database_url=url)
    yield settings, ({"PAPERFEED_DATABASE_URL": url} if url else {})
    get_engine(settings).dispose()
    if url:
        databases.drop_database(url)


def test_ingest_killed_mid_run_resumes_to_the_same_state(settings, engine, big_snapshot, reference_instance):
    small_batches = {"PAPERFEED_INGEST_BATCH_SIZE": "500"}
    args = ("ingest", "arxiv-snapshot", str(big_snapshot), "--no-index")
    process = _start(settings.data_dir, *args, env=small_batches)

    def some_batches_committed() -> bool:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        return count >= 1_500

    _wait_for(some_batches_committed, timeout=120, process=process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        run = conn.execute(text("SELECT status, checkpoint FROM ingest_runs")).one()
    assert 0 < stored < PAPERS, "the kill should land mid-run"
    assert run.status == "running" and run.checkpoint  # the run is left resumable
    # whole batches only: the checkpoint and the papers of a batch commit together
    assert stored % 500 == 0

    resumed = run_cli(settings.data_dir, *args, env=small_batches)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed" in resumed.stderr

    reference_settings, reference_env = reference_instance
    straight = run_cli(reference_settings.data_dir, *args, env=reference_env)
    assert straight.returncode == 0, straight.stderr
    from paperfeed.db.engine import get_engine

    assert _content_fingerprint(engine) == _content_fingerprint(get_engine(reference_settings))
    assert _content_fingerprint(engine)[0] == PAPERS
    with engine.connect() as conn:
        duplicates = conn.execute(
            text(
                "SELECT count(*) FROM"
                " (SELECT change_seq FROM papers GROUP BY change_seq HAVING count(*) > 1) d"
            )
        ).scalar_one()
    assert duplicates == 0  # every paper got its own change sequence number exactly once


def test_index_rebuild_killed_mid_way_never_breaks_readers(settings, engine, big_snapshot):
    from paperfeed.search.keyword import TantivyKeywordIndex

    loaded = run_cli(settings.data_dir, "ingest", "arxiv-snapshot", str(big_snapshot))
    assert loaded.returncode == 0, loaded.stderr
    reader = TantivyKeywordIndex(settings.index_dir, refresh_seconds=0.0)

    def top_scores() -> list[float]:
        # the sample is replicated 40 times, so equal scores tie in any order: compare scores
        return [round(hit.score, 4) for hit in reader.search("gesture recognition", limit=20)]

    expected = top_scores()
    assert len(expected) == 20

    failures: list[str] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                hits = reader.search("gesture recognition", limit=20)
                if len(hits) != 20:
                    failures.append(f"{len(hits)} hits")
            except Exception as exc:  # any reader error is a failure of the atomic swap
                failures.append(repr(exc))

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        index_root = settings.index_dir / "keyword"
        generations_before = set(index_root.glob("gen-*"))
        process = _start(settings.data_dir, "index", "--rebuild", "--no-vectors")
        _wait_for(lambda: set(index_root.glob("gen-*")) - generations_before, timeout=60, process=process)
        time.sleep(0.3)  # let it write part of the new generation
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL, "the rebuild finished before the kill"
        time.sleep(0.2)
        again = run_cli(settings.data_dir, "index", "--rebuild", "--no-vectors")
        assert again.returncode == 0, again.stderr
        time.sleep(0.2)
    finally:
        stop.set()
        searcher.join()
    assert failures == []
    assert top_scores() == expected
    assert reader.num_docs() == PAPERS
    leftovers = sorted(path.name for path in (settings.index_dir / "keyword").glob("gen-*"))
    assert len(leftovers) == 1, leftovers  # the killed half-built generation was cleaned up
