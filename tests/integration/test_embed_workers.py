"""Vectors in the database: embedding workers sharing claims, the follower, status, export/import.

Real databases (SQLite, or PostgreSQL with ``PAPERFEED_TEST_BACKEND=postgres``) and the real
bundled model on a few dozen papers; workers run as real ``paperfeed embed work`` processes,
one of them killed with SIGKILL in the middle of a batch.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text, update

from paperfeed.db import vectors_store
from paperfeed.db.models import EmbedClaim, Paper, PaperVector
from paperfeed.db.sequences import current_value, next_change_seqs
from paperfeed.ingest.service import ingest_file
from paperfeed.search.embed import DEFAULT_MODEL_ID, MiniLMEmbedder, document_text
from paperfeed.search.embed_worker import Worker, embed_status, export_vectors, import_vectors
from paperfeed.search.vector_follower import follow_vectors, follower_behind
from paperfeed.search.vector_indexer import content_hash
from paperfeed.search.vectors import VectorIndex, VectorIndexError
from tests.cli import run_cli
from tests.conftest import FIXTURES

PAPERS = 24
FIRST = "1812.06145"  # Unimodal Dynamic Hand-Gesture Recognition with Multimodal Training


class MovableClock:
    """A clock the test moves forward (claims expire without waiting)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder(max_length=64)


@pytest.fixture(scope="module")
def small_snapshot(tmp_path_factory):
    """The first ``PAPERS`` lines of the 300-paper snapshot sample."""
    path = tmp_path_factory.mktemp("embed-workers") / "small.jsonl.gz"
    with gzip.open(FIXTURES / "snapshot_300.jsonl.gz", "rt") as source, gzip.open(path, "wt") as out:
        for number, line in enumerate(source):
            if number == PAPERS:
                break
            out.write(line)
    return path


@pytest.fixture
def papers(settings, engine, clock, small_snapshot):
    ingest_file(settings, engine, "arxiv-snapshot", small_snapshot, clock=clock)
    return engine


def _set_paper(engine, arxiv_id, **values):
    with engine.begin() as conn:
        seq = next_change_seqs(conn, 1)[0]
        table = Paper.__table__
        conn.execute(update(table).where(table.c.arxiv_id == arxiv_id).values(change_seq=seq, **values))


def _never_loaded():
    raise AssertionError("the model was loaded")


def _rows(engine):
    """arxiv_id -> (content hash, paper_seq, change_seq, hash of the current text, hidden)."""
    p, v = Paper.__table__, PaperVector.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                p.c.arxiv_id,
                p.c.title,
                p.c.abstract,
                p.c.change_seq,
                p.c.hidden,
                v.c.content_hash,
                v.c.paper_seq,
            )
            .select_from(p.outerjoin(v, v.c.paper_id == p.c.id))
            .where(v.c.model.is_(None) | (v.c.model == DEFAULT_MODEL_ID))
        ).all()
    return {
        r.arxiv_id: (
            None if r.content_hash is None else vectors_store.to_unsigned(r.content_hash),
            r.paper_seq,
            r.change_seq,
            content_hash(document_text(r.title, r.abstract)),
            r.hidden,
        )
        for r in rows
    }


def _all_current(engine) -> bool:
    rows = _rows(engine)
    return len(rows) == PAPERS and all(
        stored == wanted and seq == change for stored, seq, change, wanted, _hidden in rows.values()
    )


def test_hashes_survive_the_signed_column():
    for value in (0, 1, 2**63 - 1, 2**63, 2**64 - 1):
        assert vectors_store.to_unsigned(vectors_store.to_signed(value)) == value
        assert -(2**63) <= vectors_store.to_signed(value) < 2**63


def test_worker_embeds_once_verifies_changes_and_the_follower_never_serves_stale_vectors(
    settings, papers, embedder
):
    engine = papers
    clock = MovableClock()
    status = embed_status(engine, DEFAULT_MODEL_ID, clock=clock)
    assert (status.done, status.pending, status.claimed, status.vectors) == (0, PAPERS, 0, 0)

    worker = Worker(engine, DEFAULT_MODEL_ID, lambda: embedder, batch=5, clock=clock)
    report = worker.run(until_done=True)
    assert report.embedded == PAPERS and report.batches == 5 and _all_current(engine)
    status = embed_status(engine, DEFAULT_MODEL_ID, clock=clock)
    assert (status.done, status.pending, status.claimed, status.vectors) == (PAPERS, 0, 0, PAPERS)
    assert status.rate_per_second > 0

    index = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    assert follower_behind(engine, index, DEFAULT_MODEL_ID)
    followed = follow_vectors(engine, index, DEFAULT_MODEL_ID)
    assert followed.rebuilt and followed.added == PAPERS and index.num_docs() == PAPERS
    assert not follower_behind(engine, index, DEFAULT_MODEL_ID)
    hits = index.search(embedder.embed_query("hand gesture recognition with several sensor modalities"), 1)
    assert hits[0].arxiv_id == FIRST
    generation = index.current_path()
    assert follow_vectors(engine, index, DEFAULT_MODEL_ID).added == 0 and index.current_path() == generation

    # an upvote-like change (no new text): verified again, never re-embedded, model not needed
    _set_paper(engine, FIRST, upvotes=5)
    assert embed_status(engine, DEFAULT_MODEL_ID, clock=clock).pending == 1
    lazy = Worker(engine, DEFAULT_MODEL_ID, _never_loaded, clock=clock)
    assert lazy.run(until_done=True).verified == 1 and _all_current(engine)
    assert follow_vectors(engine, index, DEFAULT_MODEL_ID).added == 0 and index.vector_of(FIRST) is not None

    # a title change: the follower drops the stale vector before any worker ran...
    _set_paper(engine, FIRST, title="Zebra crossings for quokkas", abstract="Quokkas cross roads at night.")
    assert follow_vectors(engine, index, DEFAULT_MODEL_ID).removed == 1
    assert index.vector_of(FIRST) is None and index.num_docs() == PAPERS - 1
    # ...and serves the new one once a worker embedded the paper again
    assert worker.run(until_done=True).embedded == 1 and _all_current(engine)
    assert follow_vectors(engine, index, DEFAULT_MODEL_ID).added == 1
    assert index.search(embedder.embed_query("quokkas crossing roads"), 1)[0].arxiv_id == FIRST

    # hidden papers leave the index and are nobody's work
    _set_paper(engine, FIRST, hidden=True)
    assert follow_vectors(engine, index, DEFAULT_MODEL_ID).removed == 1 and index.vector_of(FIRST) is None
    status = embed_status(engine, DEFAULT_MODEL_ID, clock=clock)
    assert (status.done, status.pending) == (PAPERS - 1, 0)
    assert lazy.run(until_done=True).claimed == 0

    # a rebuild is a replica of the database again
    rebuilt = follow_vectors(engine, index, DEFAULT_MODEL_ID, rebuild=True)
    assert rebuilt.rebuilt and index.num_docs() == PAPERS - 1


def test_claims_are_disjoint_and_a_dead_workers_claims_expire(papers, embedder):
    engine = papers
    clock = MovableClock()
    alive = Worker(engine, DEFAULT_MODEL_ID, lambda: embedder, batch=10, claim_seconds=60, clock=clock)
    dead = Worker(engine, DEFAULT_MODEL_ID, lambda: embedder, batch=10, claim_seconds=60, clock=clock)
    now = clock.now().replace(tzinfo=None)
    with engine.begin() as conn:  # the dead worker claims a batch and never completes it
        lost = vectors_store.claim_batch(
            conn, DEFAULT_MODEL_ID, dead.name, 10, now=now, until=now + timedelta(seconds=60)
        )
    assert len(lost) == 10
    assert embed_status(engine, DEFAULT_MODEL_ID, clock=clock).claimed == 10
    report = alive.run(until_done=True, wait_for_others=False)
    assert report.embedded == PAPERS - 10  # it never takes a live claim
    assert not alive.finished()  # the dead worker's claims still count
    clock.at += timedelta(seconds=61)
    assert alive.run(until_done=True).embedded == 10 and _all_current(engine)
    with engine.connect() as conn:
        assert conn.execute(select(EmbedClaim.__table__.c.paper_id)).all() == []
        assert current_value(conn, vectors_store.VECTOR_CHANGE) == PAPERS  # none embedded twice


def test_export_import_round_trip_through_the_database(tmp_path, settings, papers, embedder):
    engine = papers
    Worker(engine, DEFAULT_MODEL_ID, lambda: embedder).run(until_done=True)
    exported = tmp_path / "vectors.npz"
    assert export_vectors(engine, DEFAULT_MODEL_ID, exported) == PAPERS
    data = np.load(exported)
    assert data["vectors"].shape == (PAPERS, embedder.dim) and str(data["model"]) == DEFAULT_MODEL_ID

    # into the same database after an edit: that paper's vector is stale, the others current
    _set_paper(engine, FIRST, title="A new title")
    with engine.begin() as conn:
        conn.execute(PaperVector.__table__.delete())
    report = import_vectors(engine, exported, expected_model=DEFAULT_MODEL_ID, expected_dim=embedder.dim)
    assert (report.current, report.stale, report.unknown) == (PAPERS - 1, 1, 0)
    status = embed_status(engine, DEFAULT_MODEL_ID)
    assert (status.done, status.pending, status.vectors) == (PAPERS - 1, 1, PAPERS)
    index = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    follow_vectors(engine, index, DEFAULT_MODEL_ID)
    assert index.num_docs() == PAPERS - 1 and index.vector_of(FIRST) is None  # stale: not served
    again = Worker(engine, DEFAULT_MODEL_ID, lambda: embedder).run(until_done=True)
    assert again.embedded == 1 and _all_current(engine)
    assert follow_vectors(engine, index, DEFAULT_MODEL_ID).added == 1 and index.num_docs() == PAPERS
    before = index.vector_of("1904.11093")
    np.testing.assert_allclose(before, data["vectors"][list(data["ids"]).index("1904.11093")], atol=2e-3)

    # an old local-index export (VectorIndex.export_vectors) still imports
    legacy = tmp_path / "legacy.npz"
    index.export_vectors(legacy)
    assert import_vectors(engine, legacy, expected_model=DEFAULT_MODEL_ID).current == PAPERS
    for bad_model, bad_dim in (("another-model", None), (DEFAULT_MODEL_ID, 8)):
        with pytest.raises(VectorIndexError):
            import_vectors(engine, legacy, expected_model=bad_model, expected_dim=bad_dim)


def test_the_worker_moves_a_nodes_local_vectors_into_the_database(settings, papers, embedder):
    """An index embedded before vectors moved to the database is reused, not embedded again."""
    from paperfeed.search.vector_indexer import update_vector_index

    engine = papers
    index = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    update_vector_index(engine, index, embedder)
    follow_vectors(engine, index, DEFAULT_MODEL_ID)  # the database is empty: local vectors are kept
    assert index.num_docs() == PAPERS
    report = Worker(engine, DEFAULT_MODEL_ID, _never_loaded, reuse=index).run(until_done=True)
    assert report.reused == PAPERS and report.embedded == 0 and _all_current(engine)
    assert follow_vectors(engine, index, DEFAULT_MODEL_ID).rebuilt and index.num_docs() == PAPERS


# ------------------------------------------------------------------ processes
def _worker_process(data_dir, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", "embed", "work", *args],
        env=dict(
            os.environ,
            PAPERFEED_DATA_DIR=str(data_dir),
            PAPERFEED_EMBED_CLAIM_SECONDS="5",
            PAPERFEED_EMBEDDING_MAX_TOKENS="256",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _claims_of(engine, pid: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM embed_claims WHERE worker LIKE :pattern"), {"pattern": f"%:{pid}:%"}
        ).scalar_one()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 3])
def test_concurrent_workers_with_one_killed_mid_batch_embed_every_paper_once(settings, papers, workers):
    engine = papers
    processes = [
        _worker_process(settings.data_dir, "--processes", "1", "--batch", "3", "--until-done")
        for _ in range(workers)
    ]
    victim = processes[0]
    try:
        deadline = time.monotonic() + 90
        while True:  # freeze the worker while it holds a batch, then kill it
            assert victim.poll() is None, victim.stderr.read()
            assert time.monotonic() < deadline, "the worker never held a batch"
            if _claims_of(engine, victim.pid):
                victim.send_signal(signal.SIGSTOP)
                if _claims_of(engine, victim.pid):
                    break
                victim.send_signal(signal.SIGCONT)  # it completed the batch just now: try again
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        assert _claims_of(engine, victim.pid) > 0  # killed while it held a batch
        for process in processes[1:]:
            _out, err = process.communicate(timeout=180)
            assert process.returncode == 0, err
            assert "Traceback" not in err
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert victim.returncode == -signal.SIGKILL
    assert _all_current(engine)  # every paper has exactly one current vector (primary key)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM embed_claims")).scalar_one() == 0
        assert current_value(conn, vectors_store.VECTOR_CHANGE) == PAPERS  # none embedded twice
    status = run_cli(settings.data_dir, "embed", "status", "--json")
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)
    assert (counts["done"], counts["pending"], counts["claimed"]) == (PAPERS, 0, 0)


@pytest.mark.slow
def test_one_command_runs_a_worker_process_per_core_and_stops_them_when_killed(settings, papers):
    engine = papers
    # --processes 2: two single-threaded worker processes share the papers through their claims
    done = _worker_process(settings.data_dir, "--processes", "2", "--batch", "3", "--until-done")
    _out, err = done.communicate(timeout=180)
    assert done.returncode == 0, err
    assert "2 worker processes × 1 thread(s)" in err and "Traceback" not in err
    assert _all_current(engine)
    with engine.connect() as conn:
        assert current_value(conn, vectors_store.VECTOR_CHANGE) == PAPERS  # none embedded twice

    # killing the parent (kill -9, so it cannot clean up) stops its worker processes too
    _set_paper(engine, FIRST, title="A retitled paper about gesture recognition")  # work to find
    parent = _worker_process(settings.data_dir, "--processes", "2", "--poll", "0.2")
    try:
        deadline = time.monotonic() + 60
        while len(_children_of(parent.pid)) < 2:
            assert parent.poll() is None, parent.stderr.read()
            assert time.monotonic() < deadline, "the worker processes never started"
            time.sleep(0.05)
        children = _children_of(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{pid}") and _state(pid) != "Z" for pid in children):
            assert time.monotonic() < deadline, "worker processes outlived their parent"
            time.sleep(0.1)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


@pytest.mark.slow
def test_a_second_node_serves_semantic_search_from_the_database_without_the_model(
    tmp_path, settings, papers, database_url
):
    first = run_cli(settings.data_dir, "index")
    assert first.returncode == 0, first.stderr
    assert f"{PAPERS} papers embedded" in first.stderr
    url = database_url or f"sqlite:///{settings.data_dir / 'paperfeed.db'}"
    node = tmp_path / "node2"
    env = {"PAPERFEED_DATABASE_URL": url}
    gpu = "CUDAExecutionProvider" in __import__("onnxruntime").get_available_providers()
    # on a machine without onnxruntime-gpu, loading the model on cuda fails: --no-embed never does
    no_model = {} if gpu else {"PAPERFEED_EMBEDDING_DEVICE": "cuda"}
    second = run_cli(node, "index", "--no-embed", env={**env, **no_model})
    assert second.returncode == 0, second.stderr
    assert "embedded" not in second.stderr and f"{PAPERS} vectors added" in second.stderr
    assert VectorIndex(node / "index", refresh_seconds=0.0).num_docs() == PAPERS
    if not gpu:
        assert run_cli(node, "index", env={**env, **no_model}).returncode == 0  # nothing to embed: no load
    query = "hand gesture recognition with several sensor modalities"
    result = run_cli(node, "search", query, "--mode", "semantic", "--json", "--limit", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["paper"]["id"] == FIRST and "not available" not in result.stderr
    # a stale vector is never served: after a title change the node drops it at its next follow
    _set_paper(papers, FIRST, title="Zebra crossings for quokkas", abstract="Quokkas cross roads.")
    assert run_cli(node, "index", "--no-embed", env={**env, **no_model}).returncode == 0
    assert VectorIndex(node / "index", refresh_seconds=0.0).vector_of(FIRST) is None
    # export / import from the command line go through the database
    exported = tmp_path / "v.npz"
    assert run_cli(node, "embed", "--export", str(exported), env=env).returncode == 0
    assert np.load(exported)["vectors"].shape[0] == PAPERS
    bad = run_cli(node, "embed", "--import", str(tmp_path / "missing.npz"), env=env)
    assert bad.returncode == 2
    assert run_cli(node, "embed", env=env).returncode == 2


def test_the_follower_rebuilds_an_index_of_another_model(settings, papers, embedder):
    engine = papers
    index = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    index.upsert(["1904.11093"], np.ones((1, 8), np.float32), model="some-old-model")
    Worker(engine, DEFAULT_MODEL_ID, lambda: embedder).run(until_done=True)
    report = follow_vectors(engine, index, DEFAULT_MODEL_ID)
    assert report.rebuilt and index.model() == DEFAULT_MODEL_ID and index.num_docs() == PAPERS
    assert index.generation().dim == embedder.dim


def test_a_slow_batch_keeps_its_claims_alive(papers):
    """Claims are renewed while a batch is embedded: with a lease far shorter than the batch,
    a second worker trying all along takes nothing from the first."""
    import threading

    engine = papers
    slow = MiniLMEmbedder(max_length=256)
    first = Worker(engine, DEFAULT_MODEL_ID, lambda: slow, batch=PAPERS, claim_seconds=0.6)
    second = Worker(engine, DEFAULT_MODEL_ID, _never_loaded, batch=PAPERS, claim_seconds=0.6)
    runner = threading.Thread(target=first.work_once)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while embed_status(engine, DEFAULT_MODEL_ID).claimed == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        while runner.is_alive():
            assert second.work_once().claimed == 0  # would load the model (and fail) on a takeover
            time.sleep(0.05)
    finally:
        runner.join()
    assert _all_current(engine)
    with engine.connect() as conn:
        assert current_value(conn, vectors_store.VECTOR_CHANGE) == PAPERS
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        assert vectors_store.renew_claims(conn, DEFAULT_MODEL_ID, first.name, [1, 2], until=now) == 0
