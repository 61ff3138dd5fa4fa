"""Shared fixtures: a fresh instance (real SQLite via Alembic, real tantivy index) per test.

Nothing is mocked: tests get real settings, a migrated database in a temporary data dir, the
real ingest and index code, and the real ASGI app.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# A developer's own instance settings (database URL, SMTP server, data dir...) must never reach
# the tests or the CLI subprocesses they start: only the test-control variables stay.
for _name in [n for n in os.environ if n.startswith("PAPERFEED_") and not n.startswith("PAPERFEED_TEST_")]:
    del os.environ[_name]
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
DEMO_DATA = REPO / "src" / "paperfeed" / "demo_data"
# the clock the tests pin: a few days after the last day of the bundled HF data
TEST_NOW = datetime(2026, 8, 22, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def postgres_template():
    """The migrated template database of this session (PostgreSQL backend only)."""
    from tests import databases

    if databases.BACKEND != "postgres":
        yield None
        return
    reason = databases.check_reachable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: the PostgreSQL suite must run)", pytrace=False)
        pytest.skip(reason)
    databases.drop_leftovers()
    name = databases.create_template()
    yield name
    databases.drop_leftovers(own=True)


@pytest.fixture
def database_url(postgres_template, monkeypatch):
    """``None`` on SQLite (the data dir's file); on PostgreSQL a fresh database for this test.

    The URL is also exported as ``PAPERFEED_DATABASE_URL`` so CLI subprocesses and any
    ``Settings()`` built inside the test use the same database.
    """
    if postgres_template is None:
        yield None
        return
    from tests import databases

    url = databases.create_database(postgres_template)
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", url)
    yield url
    databases.drop_database(url)


@pytest.fixture
def settings(tmp_path, database_url):
    from paperfeed.config import Settings

    return Settings(
        data_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        database_url=database_url,
    )


@pytest.fixture
def clock():
    from paperfeed.clock import FixedClock

    return FixedClock(TEST_NOW)


@pytest.fixture
def engine(settings):
    from paperfeed.db.engine import get_engine, upgrade

    upgrade(settings)
    engine = get_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def keyword_index(settings):
    from paperfeed.search.keyword import TantivyKeywordIndex

    return TantivyKeywordIndex(settings.index_dir, refresh_seconds=0.0)


@pytest.fixture
def ingest(settings, engine, clock, keyword_index):
    """Call ``ingest(kind, path, **kw)`` to load a file and bring the keyword index up to date."""
    from paperfeed.ingest.service import ingest_file
    from paperfeed.search.indexer import update_keyword_index

    def _ingest(kind: str, path: Path, **kwargs):
        report = ingest_file(settings, engine, kind, Path(path), clock=clock, **kwargs)
        update_keyword_index(engine, keyword_index)
        return report

    return _ingest


@pytest.fixture
def loaded(ingest):
    """An instance with the test snapshot sample and the three HF day files."""
    ingest("arxiv-snapshot", FIXTURES / "snapshot_300.jsonl.gz")
    ingest("hf-daily", FIXTURES / "hf_daily")
    return ingest


@pytest.fixture
def app(settings, engine, clock, keyword_index, loaded):
    """The real ASGI app over the ``loaded`` instance."""
    from paperfeed.app import create_app

    return create_app(settings, clock=clock, engine=engine, keyword_index=keyword_index)


@pytest.fixture
def client(app):
    """A TestClient for ``app`` (startup and shutdown run)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client
