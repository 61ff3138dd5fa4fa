"""Operations: /readyz, /metrics, JSON logs, and online backup + restore (SQLite or PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import text

from tests import databases
from tests.cli import run_cli
from tests.conftest import FIXTURES


def test_readyz_reports_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "keyword_index": "ok"}


def test_readyz_is_503_when_the_schema_is_behind(client, engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "paperfeed db upgrade" in response.json()["checks"]["migrations"]


def _metric(body: str, prefix: str) -> float:
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric line starting with {prefix!r}")


def test_metrics_count_requests_by_route_template_and_read_instance_gauges(client):
    before = client.get("/metrics").text
    key = 'paperfeed_http_requests_total{method="GET",route="/api/papers/{arxiv_id:path}",status="200"}'
    start = _metric(before, key) if key in before else 0.0
    assert client.get("/api/papers/2501.05441").status_code == 200
    assert client.get("/api/papers/2501.05441v3").status_code == 200
    assert client.get("/api/papers/2901.99999").status_code == 404
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert _metric(body, key) == start + 2  # both spellings count under one route label
    assert "2501.05441" not in body  # raw paths never become labels
    assert 'paperfeed_http_request_duration_seconds_bucket{le="0.1",method="GET"' in body
    papers = client.get("/healthz").json()["papers"]
    assert _metric(body, 'paperfeed_rows{table="papers"}') == papers
    assert _metric(body, 'paperfeed_index_lag_changes{index="keyword"}') == 0
    assert _metric(body, 'paperfeed_mail_outbox{status="pending"}') == 0
    model = 'model="all-MiniLM-L6-v2-onnx-int8"'
    assert _metric(body, f'paperfeed_vectors{{{model},state="done"}}') == 0  # nothing embedded here
    assert _metric(body, f'paperfeed_vectors{{{model},state="pending"}}') == papers
    assert _metric(body, f'paperfeed_vectors{{{model},state="claimed"}}') == 0


def test_json_logs(tmp_path):
    result = run_cli(
        tmp_path / "var",
        "ingest",
        "hf-daily",
        str(FIXTURES / "hf_daily"),
        env={"PAPERFEED_LOG_FORMAT": "json"},
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert records, result.stderr
    assert all({"ts", "level", "logger", "msg"} <= set(record) for record in records)
    assert any(record["logger"].startswith("paperfeed") for record in records)


def _fingerprint(engine) -> str:
    """A checksum over the rows that matter: papers, authors, feed entries, users, votes."""
    digest = hashlib.sha256()
    queries = [
        "SELECT arxiv_id, title, abstract, upvotes, change_seq FROM papers ORDER BY arxiv_id",
        "SELECT paper_id, position, name FROM paper_authors ORDER BY paper_id, position",
        "SELECT paper_id, feed_date, upvotes_at_import FROM feed_entries ORDER BY paper_id, feed_date",
        "SELECT username, email, password_hash FROM users ORDER BY username",
        "SELECT user_id, paper_id FROM votes ORDER BY user_id, paper_id",
    ]
    with engine.connect() as conn:
        for query in queries:
            for row in conn.execute(text(query)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def second_instance(tmp_path, postgres_template, monkeypatch):
    """Settings + env for an empty second instance (another data dir; another database on PG)."""
    from paperfeed.config import Settings
    from paperfeed.db.engine import get_engine

    url = databases.create_database(postgres_template) if postgres_template else None
    settings = Settings(
        data_dir=tmp_path / "restored", secret_key="test-secret-key-not-for-production", database_url=url
    )
    env = {"PAPERFEED_DATABASE_URL": url} if url else {}
    if not url:
        monkeypatch.delenv("PAPERFEED_DATABASE_URL", raising=False)
    yield settings, env
    get_engine(settings).dispose()
    if url:
        databases.drop_database(url)


def test_online_backup_and_restore(settings, engine, loaded, tmp_path, second_instance):
    from paperfeed.clock import SystemClock
    from paperfeed.community.accounts import AccountService
    from paperfeed.community.ratelimit import RateLimiter
    from paperfeed.community.votes import VoteService
    from paperfeed.db.engine import get_engine

    clock = SystemClock()
    limiter = RateLimiter(engine, settings.model_copy(update={"rate_limit_enabled": False}), clock)
    accounts = AccountService(engine, settings.model_copy(update={"argon2_memory_kib": 8}), clock, limiter)
    user = accounts.sign_up("backup-user", "b@example.org", "correct horse battery")
    votes = VoteService(engine, clock, limiter)
    arxiv_ids = [row[0] for row in engine.connect().execute(text("SELECT arxiv_id FROM papers LIMIT 40"))]

    # the site keeps writing while the backup runs: votes land before, during and after it
    stop = threading.Event()

    def keep_voting() -> None:
        for arxiv_id in arxiv_ids:
            if stop.is_set():
                return
            votes.set_vote(user, arxiv_id, True)

    writer = threading.Thread(target=keep_voting)
    writer.start()
    backup_dir = tmp_path / "backup"
    result = run_cli(settings.data_dir, "backup", str(backup_dir))
    stop.set()
    writer.join()
    assert result.returncode == 0, result.stderr
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["counts"]["papers"] > 300 and manifest["schemaRevision"]
    assert run_cli(settings.data_dir, "backup", str(backup_dir)).returncode == 1  # never overwrites

    target_settings, env = second_instance
    restored = run_cli(target_settings.data_dir, "restore", str(backup_dir), env=env)
    assert restored.returncode == 0, restored.stderr
    target = get_engine(target_settings)
    with target.connect() as conn:
        restored_votes = conn.execute(text("SELECT count(*) FROM votes")).scalar_one()
        upvote_sum = conn.execute(text("SELECT sum(upvotes - base_upvotes) FROM papers")).scalar_one()
    assert restored_votes == manifest["counts"]["votes"] == upvote_sum  # a consistent snapshot
    if restored_votes == len(arxiv_ids):  # the writer had finished before the snapshot
        assert _fingerprint(target) == _fingerprint(engine)

    # restored instance searches (keyword index rebuilt) and refuses a second restore
    search = run_cli(target_settings.data_dir, "search", "transformer", "--mode", "keyword", env=env)
    assert search.returncode == 0 and search.stdout.strip()
    again = run_cli(target_settings.data_dir, "restore", str(backup_dir), env=env)
    assert again.returncode == 1 and "--force" in again.stderr


def test_restore_refuses_a_damaged_backup(settings, engine, loaded, tmp_path, second_instance):
    backup_dir = tmp_path / "backup"
    assert run_cli(settings.data_dir, "backup", str(backup_dir)).returncode == 0
    database = next(p for p in backup_dir.iterdir() if p.name.startswith("database."))
    data = bytearray(database.read_bytes())
    data[len(data) // 2] ^= 0xFF
    database.write_bytes(bytes(data))
    target_settings, env = second_instance
    result = run_cli(target_settings.data_dir, "restore", str(backup_dir), env=env)
    assert result.returncode == 1
    assert "damaged" in result.stderr and "Traceback" not in result.stderr
    not_a_backup = run_cli(target_settings.data_dir, "restore", str(tmp_path), env=env)
    assert not_a_backup.returncode == 1 and "not a paperfeed backup" in not_a_backup.stderr
