"""The ``paperfeed`` command as a user runs it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.cli import run_cli
from tests.conftest import FIXTURES

run = run_cli


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "instance"


def test_ingest_index_search_round_trip(data_dir):
    result = run(data_dir, "ingest", "arxiv-snapshot", str(FIXTURES / "snapshot_300.jsonl.gz"))
    assert result.returncode == 0, result.stderr
    assert "300 new" in result.stderr
    assert "keyword index: 300 papers indexed" in result.stderr
    again = run(data_dir, "ingest", "arxiv-snapshot", str(FIXTURES / "snapshot_300.jsonl.gz"))
    assert "0 new, 0 updated, 300 unchanged" in again.stderr
    found = run(data_dir, "search", "gesture recognition", "--json", "--limit", "3")
    assert found.returncode == 0, found.stderr
    items = json.loads(found.stdout)
    assert len(items) == 3 and items[0]["paper"]["id"]
    text = run(data_dir, "search", "gesture recognition", "--mode", "keyword")
    assert "Gesture" in text.stdout


def test_hf_daily_directory(data_dir):
    result = run(data_dir, "ingest", "hf-daily", str(FIXTURES / "hf_daily"))
    assert result.returncode == 0, result.stderr
    assert "14 records" in result.stderr and "14 feed entries" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("ingest", "arxiv-snapshot", "/no/such/file.jsonl.gz"),
        ("ingest", "hf-daily", "/no/such/dir"),
    ],
)
def test_user_errors_are_one_line(data_dir, args):
    result = run(data_dir, *args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_abort_on_bad_line_names_the_line(data_dir, tmp_path):
    lines = gzip.decompress((FIXTURES / "snapshot_300.jsonl.gz").read_bytes()).splitlines()[:10]
    lines.insert(4, b"{not json")
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join(lines) + b"\n")
    result = run(data_dir, "ingest", "arxiv-snapshot", str(broken), "--on-error", "abort")
    assert result.returncode == 1
    assert "line 5" in result.stderr and "Traceback" not in result.stderr
    skipped = run(data_dir, "ingest", "arxiv-snapshot", str(broken), "--no-resume")
    assert skipped.returncode == 0
    assert "1 bad" in skipped.stderr and "line 5" in skipped.stderr


def test_truncated_gzip_is_a_clear_error(data_dir, tmp_path):
    data = (FIXTURES / "snapshot_300.jsonl.gz").read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    result = run(data_dir, "ingest", "arxiv-snapshot", str(cut))
    assert result.returncode == 1
    assert "truncated" in result.stderr and "Traceback" not in result.stderr


def test_usage_errors_exit_2(data_dir):
    assert run(data_dir, "search").returncode == 2
    assert run(data_dir, "ingest", "nonsense", "x").returncode == 2
    assert run(data_dir, "--help").returncode == 0


def test_db_upgrade_is_idempotent(data_dir):
    assert run(data_dir, "db", "upgrade").returncode == 0
    assert run(data_dir, "db", "upgrade").returncode == 0
    assert (data_dir / "paperfeed.db").exists()


def test_unreachable_database_is_a_one_line_error(data_dir):
    result = run(
        data_dir,
        "db",
        "upgrade",
        env={"PAPERFEED_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
    )
    assert result.returncode == 1
    assert (
        result.stderr.startswith("error: the database is unavailable:") and "Traceback" not in result.stderr
    )
