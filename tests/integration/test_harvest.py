"""Harvesting against real HTTP servers on loopback: OAI-PMH pages, resume after SIGKILL,
503 + Retry-After, OAI errors, and ``ingest arxiv`` over the recorded Atom search."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from sqlalchemy import select, text

from paperfeed.config import Settings
from paperfeed.db.engine import get_engine, upgrade
from paperfeed.db.ingest_runs import save_progress, start_run
from paperfeed.db.models import IngestRun
from paperfeed.ingest.harvest import harvest_location, harvest_oai
from paperfeed.ingest.oai_pmh import OaiClient, OaiProtocolError, OaiUnavailable
from tests.cli import run_cli
from tests.oai_server import fake_arxiv_search, fake_oai

RAW_IDS = ["0704.0471", "0704.0716", "0704.0874", "0704.1109", "0704.1114", "0704.1586"]


@pytest.fixture
def server():
    with fake_oai() as srv:
        yield srv


def fast_settings(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={"oai_url": url, "oai_min_interval_seconds": 0.0, "oai_backoff_seconds": 0.0, "oai_retries": 2}
    )


def cli_env(url: str) -> dict[str, str]:
    return {
        "PAPERFEED_OAI_URL": url,
        "PAPERFEED_OAI_MIN_INTERVAL_SECONDS": "0",
        "PAPERFEED_OAI_BACKOFF_SECONDS": "0",
        "PAPERFEED_OAI_RETRIES": "1",
        "PAPERFEED_SEMANTIC_SEARCH": "false",
    }


def paper_rows(data_dir) -> list[tuple]:
    """Every paper (minus ids and wall-clock stamps) with its ordered authors and categories."""
    engine = get_engine(Settings(data_dir=data_dir))
    with engine.connect() as conn:
        papers = conn.execute(
            text(
                "SELECT arxiv_id, title, abstract, published_at, updated_at, primary_category, doi,"
                " journal_ref, comments, license, report_no, submitter, latest_version, github_repo,"
                " source_hashes, change_seq, upvotes FROM papers ORDER BY arxiv_id"
            )
        ).all()
        authors = conn.execute(
            text(
                "SELECT p.arxiv_id, a.position, a.name FROM paper_authors a"
                " JOIN papers p ON p.id = a.paper_id ORDER BY p.arxiv_id, a.position"
            )
        ).all()
        feed = conn.execute(text("SELECT count(*) FROM feed_entries")).scalar_one()
    return [tuple(r) for r in papers] + [tuple(r) for r in authors] + [("feed", feed)]


def test_full_harvest_over_three_pages(settings, engine, clock, server):
    report = harvest_oai(fast_settings(settings, server.url), engine, set_spec="cs", clock=clock)
    assert (report.pages, report.records, report.deleted, report.inserted) == (3, 6, 1, 6)
    assert report.feed_entries == 0  # harvested papers are searchable, not featured
    assert server.tokens_requested() == [None, "page2", "page3"]
    first = server.log[0][1]
    assert first == {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs"}
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT arxiv_id FROM papers ORDER BY arxiv_id")).scalars().all()
        run = conn.execute(select(IngestRun).order_by(IngestRun.id.desc())).first()
        authors = (
            conn.execute(
                text(
                    "SELECT a.name FROM paper_authors a JOIN papers p ON p.id = a.paper_id"
                    " WHERE p.arxiv_id = '0704.0471' ORDER BY a.position"
                )
            )
            .scalars()
            .all()
        )
    assert ids == RAW_IDS
    assert authors == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert run.status == "done" and run.source == "oai" and run.records_read == 6

    again = harvest_oai(fast_settings(settings, server.url), engine, set_spec="cs", clock=clock)
    assert (again.pages, again.inserted, again.unchanged) == (3, 0, 6)  # a finished harvest starts over


def test_feature_puts_new_papers_on_their_announcement_day(settings, engine, clock, server):
    report = harvest_oai(
        fast_settings(settings, server.url), engine, set_spec="cs", feature=True, clock=clock
    )
    assert report.feed_entries == 3  # the three papers still in their first version
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.arxiv_id, f.feed_date FROM feed_entries f JOIN papers p ON p.id = f.paper_id"
                " ORDER BY p.arxiv_id"
            )
        ).all()
    assert [(r[0], str(r[1])) for r in rows] == [
        ("0704.0471", "2014-11-18"),
        ("0704.1114", "2014-11-18"),
        ("0704.1586", "2014-11-18"),
    ]


def test_arxiv_metadata_format(settings, engine, clock, server):
    report = harvest_oai(
        fast_settings(settings, server.url),
        engine,
        set_spec="physics:hep-th",
        metadata_prefix="arXiv",
        clock=clock,
    )
    assert (report.pages, report.inserted) == (1, 3)
    assert server.log[0][1]["metadataPrefix"] == "arXiv"


def test_retry_after_503_is_honoured(server):
    server.script = [("status", 503, "1")]
    client = OaiClient(server.url, min_interval=0, backoff=0, retries=2, timeout=5)
    started = time.monotonic()
    page = client.list_records(set_spec="cs")
    elapsed = time.monotonic() - started
    assert len(page.records) == 2
    assert elapsed >= 1.0
    gap = server.log[1][0] - server.log[0][0]
    assert gap >= 1.0


def test_503_forever_is_unavailable_after_the_retries(server):
    server.script = [("status", 503, None)] * 3
    client = OaiClient(server.url, min_interval=0, backoff=0, retries=2, timeout=5)
    with pytest.raises(OaiUnavailable, match="HTTP 503 after 3 attempts"):
        client.list_records()
    assert len(server.log) == 3


def test_min_interval_between_requests(server):
    client = OaiClient(server.url, min_interval=0.3, backoff=0, retries=0, timeout=5)
    list(client.pages(set_spec="cs"))
    stamps = [t for t, _ in server.log]
    assert len(stamps) == 3
    assert all(b - a >= 0.3 for a, b in itertools.pairwise(stamps))


def test_bad_token_is_a_protocol_error(server):
    client = OaiClient(server.url, min_interval=0, retries=0)
    with pytest.raises(OaiProtocolError) as info:
        client.list_records(token="nope")
    assert info.value.oai_code == "badResumptionToken"


def test_cli_no_records_match_is_an_empty_harvest(tmp_path, server):
    result = run_cli(tmp_path / "var", "ingest", "oai", "--set", "moo", "--no-index", env=cli_env(server.url))
    assert result.returncode == 0, result.stderr
    assert "oai: 0 records in 1 pages" in result.stderr


def test_cli_malformed_answer_is_one_line_exit_1(tmp_path, server):
    server.script = [("malformed",)]
    result = run_cli(tmp_path / "var", "ingest", "oai", "--set", "cs", "--no-index", env=cli_env(server.url))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the OAI-PMH server answered malformed XML")
    assert "Traceback" not in result.stderr


def test_cli_expired_token_fails_clearly_then_starts_over(tmp_path, server):
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir)
    upgrade(settings)
    engine = get_engine(settings)
    location = harvest_location(server.url, "arXivRaw", "cs", None, None)
    with engine.begin() as conn:  # an interrupted harvest whose token the server no longer knows
        run_id = start_run(conn, source="oai", location=location, now=date(2026, 1, 1))
        save_progress(conn, run_id, checkpoint={"token": "expired", "pages": 1}, counts={})
    env = cli_env(server.url)
    result = run_cli(data_dir, "ingest", "oai", "--set", "cs", "--no-index", env=env)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: OAI-PMH error badResumptionToken: ")
    assert server.tokens_requested() == ["expired"]
    again = run_cli(data_dir, "ingest", "oai", "--set", "cs", "--no-index", env=env)
    assert again.returncode == 0, again.stderr
    assert "oai: 6 records in 3 pages" in again.stderr


def test_cli_bad_dates_are_usage_errors(tmp_path, server):
    env = cli_env(server.url)
    result = run_cli(tmp_path / "var", "ingest", "oai", "--from", "yesterday", env=env)
    assert result.returncode == 2 and "is not a date" in result.stderr
    result = run_cli(
        tmp_path / "var", "ingest", "oai", "--from", "2026-02-02", "--until", "2026-01-01", env=env
    )
    assert result.returncode == 1 and "is after --until" in result.stderr
    assert server.log == []


def test_killed_harvest_resumes_where_it_stopped(tmp_path, server):
    env = cli_env(server.url)
    reference = run_cli(tmp_path / "ref", "ingest", "oai", "--set", "cs", "--no-index", env=env)
    assert reference.returncode == 0, reference.stderr
    server.log.clear()

    data_dir = tmp_path / "var"
    server.delays["page3"] = 30.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", "ingest", "oai", "--set", "cs", "--no-index"],
        env=dict(os.environ, PAPERFEED_DATA_DIR=str(data_dir), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while "page3" not in server.tokens_requested():  # page 2 is stored before page 3 is asked for
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    engine = get_engine(Settings(data_dir=data_dir))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        status = conn.execute(text("SELECT status FROM ingest_runs ORDER BY id DESC")).scalar()
    assert count == 4 and status == "running"

    server.delays.clear()
    server.log.clear()
    resumed = run_cli(data_dir, "ingest", "oai", "--set", "cs", "--no-index", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after page 2" in resumed.stderr
    assert server.tokens_requested() == ["page3"]  # pages 1-2 are not requested again
    assert paper_rows(data_dir) == paper_rows(tmp_path / "ref")


def test_cli_ingest_arxiv_query_since_and_max(tmp_path):
    with fake_arxiv_search() as api:
        env = {"PAPERFEED_ARXIV_API_URL": api.url, "PAPERFEED_ARXIV_MIN_INTERVAL_SECONDS": "0"}
        data_dir = tmp_path / "var"
        result = run_cli(
            data_dir,
            "ingest",
            "arxiv",
            "--query",
            "all:electron AND all:proton",
            "--since",
            "2010-01-01",
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert "arxiv: 7 records" in result.stderr and "7 new" in result.stderr
        assert len(api.log) == 1  # an older paper on the page ends the walk (newest first)
        assert api.log[0]["search_query"] == "all:electron AND all:proton"
        assert api.log[0]["sortBy"] == "submittedDate" and api.log[0]["sortOrder"] == "descending"

        capped = run_cli(tmp_path / "var2", "ingest", "arxiv", "--category", "hep-ph", "--max", "3", env=env)
        assert capped.returncode == 0, capped.stderr
        assert "arxiv: 3 records" in capped.stderr
        assert api.log[-1]["search_query"] == "cat:hep-ph" and api.log[-1]["max_results"] == "3"

        everything = run_cli(
            tmp_path / "var3", "ingest", "arxiv", "--query", "all:electron", "--no-index", env=env
        )
        assert "arxiv: 10 records" in everything.stderr
        assert api.log[-1]["start"] == "10"  # paged on until an empty page

        both = run_cli(tmp_path / "var4", "ingest", "arxiv", "--query", "x", "--category", "cs.CL", env=env)
        assert both.returncode == 2 and "exactly one of" in both.stderr
    rows = get_engine(Settings(data_dir=data_dir))
    with rows.connect() as conn:
        years = conn.execute(text("SELECT published_at FROM papers")).scalars().all()
    assert len(years) == 7 and all(str(y) >= "2010" for y in years)
