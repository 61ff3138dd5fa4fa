"""ArxivClient against a real HTTP server on loopback serving recorded arXiv answers and failures."""

from __future__ import annotations

import contextlib
import itertools
import time

import pytest

from paperfeed.ingest.arxiv_api import (
    ArxivBadResponse,
    ArxivClient,
    ArxivInvalidId,
    ArxivTimeout,
    ArxivUnavailable,
    ArxivUnknownId,
)
from tests.arxiv_server import fake_arxiv
from tests.servers import free_port

KNOWN = "2201.13452"


@pytest.fixture
def server():
    with fake_arxiv() as srv:
        yield srv


def client_for(url: str, **kwargs) -> ArxivClient:
    options = {"min_interval": 0.0, "timeout": 2.0, "retries": 2, "backoff": 0.0} | kwargs
    return ArxivClient(url, **options)


def test_fetch_by_ids_sends_id_list_and_keeps_known_papers(server):
    client = client_for(server.url)
    records = client.fetch_by_ids(["2201.13455", "https://arxiv.org/abs/2201.13452v1", "2201.13453"])
    assert [r.arxiv_id for r in records] == [KNOWN]
    assert records[0].authors == ["Hong-Ming Yin", "Jun Zou"]
    ((_, query),) = server.log
    assert query["id_list"] == ["2201.13455,2201.13452,2201.13453"]  # normalised, no versions
    assert (
        client.fetch_one("1309.4668v1").title == "Electron cloud observations at the ISIS Proton Synchrotron"
    )


def test_unknown_id_is_a_clear_error(server):
    with pytest.raises(ArxivUnknownId, match=r"1201\.56789"):
        client_for(server.url).fetch_one("1201.56789")


def test_invalid_id_is_refused_before_any_request(server):
    with pytest.raises(ArxivInvalidId):
        client_for(server.url).fetch_one("not-an-id")
    assert server.log == []


@pytest.mark.parametrize("status", [200, 400])
def test_documented_error_entry_is_an_invalid_id_without_retry(server, status):
    server.script[KNOWN] = [("error_entry", status)]
    with pytest.raises(ArxivInvalidId, match="incorrect id format"):
        client_for(server.url).fetch_one(KNOWN)
    assert server.requests_for(KNOWN) == 1


def test_server_error_then_success_is_retried(server):
    server.script[KNOWN] = [("status", 500), ("status", 502), ("recorded",)]
    record = client_for(server.url, retries=3).fetch_one(KNOWN)
    assert record.arxiv_id == KNOWN
    assert server.requests_for(KNOWN) == 3


def test_always_unavailable_gives_up_after_the_retries(server):
    server.script[KNOWN] = [("status", 503)]
    with pytest.raises(ArxivUnavailable, match="arXiv is unavailable: HTTP 503 after 3 attempts"):
        client_for(server.url, retries=2).fetch_one(KNOWN)
    assert server.requests_for(KNOWN) == 3


def test_backoff_grows_between_retries(server):
    server.script[KNOWN] = [("status", 500)]
    started = time.monotonic()
    with pytest.raises(ArxivUnavailable):
        client_for(server.url, retries=2, backoff=0.05).fetch_one(KNOWN)
    assert time.monotonic() - started >= 0.05 + 0.1
    times = [t for t, _ in server.log]
    assert times[2] - times[1] > times[1] - times[0] >= 0.05


def test_client_errors_are_not_retried(server):
    server.script[KNOWN] = [("status", 404)]
    with pytest.raises(ArxivBadResponse, match="HTTP 404"):
        client_for(server.url).fetch_one(KNOWN)
    assert server.requests_for(KNOWN) == 1


@pytest.mark.parametrize("kind", ["html", "not_atom"])
def test_garbage_answers_are_malformed_responses(server, kind):
    server.script[KNOWN] = [(kind,)]
    with pytest.raises(ArxivBadResponse):
        client_for(server.url).fetch_one(KNOWN)


def test_slow_answers_time_out(server):
    server.script[KNOWN] = [("slow", 1.0)]
    started = time.monotonic()
    with pytest.raises(ArxivTimeout, match=r"no answer within 0\.2 s after 2 attempts"):
        client_for(server.url, timeout=0.2, retries=1).fetch_one(KNOWN)
    assert time.monotonic() - started < 0.9
    assert server.requests_for(KNOWN) == 2


def test_connection_refused_is_unavailable():
    url = f"http://127.0.0.1:{free_port()}/api/query"
    with pytest.raises(ArxivUnavailable, match="connection failed"):
        client_for(url, retries=1).fetch_one(KNOWN)


def test_min_interval_between_requests_is_respected(server):
    client = client_for(server.url, min_interval=0.25)
    for arxiv_id in (KNOWN, "1309.4668", "1201.56789"):
        with contextlib.suppress(ArxivUnknownId):
            client.fetch_one(arxiv_id)
    times = [t for t, _ in server.log]
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.24, gaps


def test_min_interval_applies_to_retries_too(server):
    server.script[KNOWN] = [("status", 500), ("recorded",)]
    client_for(server.url, min_interval=0.2).fetch_one(KNOWN)
    first, second = (t for t, _ in server.log)
    assert second - first >= 0.19
