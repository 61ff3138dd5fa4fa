"""A real arXiv OAI-PMH stand-in on loopback, serving the recordings in ``fixtures/oai_pmh``.

Answers by request parameters:

* ``ListRecords&metadataPrefix=arXivRaw`` (any set but ``moo``): a **3-page sequence derived from**
  ``saelim_ListRecordsResponse.xml``: its 6 recorded records split 2 + 2 + 2, with resumption
  tokens ``page2`` / ``page3`` and an empty token on the last page; page 3 also carries one
  synthetic deleted record (``<header status="deleted">``, id ``0704.9999``). The record XML is the
  recording's, byte for byte; only the page envelope and tokens are made up.
* ``set=moo`` → the recorded ``noRecordsMatch`` answer; an unknown token → the recorded
  ``badResumptionToken``; an ``identifier`` argument → ``badArgument``; an unknown verb → ``badVerb``.
* ``ListRecords&metadataPrefix=arXiv&set=physics:hep-th|physics:hep-ex`` → the hepcrawl recordings.
* ``GetRecord`` → the recorded record, or ``idDoesNotExist``.

``server.script`` is a list of behaviours for the next requests, consumed in order:
``("status", 503, "1")`` (status with a Retry-After value, ``None`` for none), ``("malformed",)``,
``("html",)``. ``server.delays[token]`` sleeps that long before answering the page a token names.
``server.log`` records ``(time.monotonic(), params)`` for every request.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "oai_pmh"
RAW_LIST = FIXTURE_DIR / "saelim_ListRecordsResponse.xml"
DELETED_RECORD = """<record>
<header status="deleted">
 <identifier>oai:arXiv.org:0704.9999</identifier>
 <datestamp>2014-11-20</datestamp>
 <setSpec>cs</setSpec>
</header>
</record>
"""


def raw_pages() -> list[bytes]:
    """The derived 3-page arXivRaw sequence (see the module docstring)."""
    text = RAW_LIST.read_text()
    head = text[: text.index("<ListRecords>") + len("<ListRecords>\n")]
    records = re.findall(r"<record>.*?</record>\n", text, flags=re.S)
    assert len(records) == 6
    tail = "</ListRecords>\n</OAI-PMH>\n"
    pages = []
    for number in range(3):
        body = "".join(records[number * 2 : number * 2 + 2])
        if number == 2:
            body += DELETED_RECORD
            token = '<resumptionToken cursor="4" completeListSize="7"/>\n'
        else:
            token = (
                f'<resumptionToken cursor="{number * 2}" completeListSize="7">'
                f"page{number + 2}</resumptionToken>\n"
            )
        pages.append((head + body + token + tail).encode())
    return pages


class FakeOai(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages = raw_pages()
        self.script: list[tuple] = []
        self.delays: dict[str, float] = {}
        self.log: list[tuple[float, dict[str, str]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/oai"

    def tokens_requested(self) -> list[str | None]:
        """The resumption token of every ListRecords request (``None`` for a first page)."""
        with self.lock:
            return [q.get("resumptionToken") for _, q in self.log if q.get("verb") == "ListRecords"]


def _fixture(name: str) -> bytes:
    return (FIXTURE_DIR / name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: FakeOai

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None, content_type: str = "text/xml"):
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        with self.server.lock:
            self.server.log.append((time.monotonic(), params))
            action = self.server.script.pop(0) if self.server.script else None
        if action is not None:
            if action[0] == "status":
                headers = {"Retry-After": action[2]} if action[2] is not None else {}
                self._send(action[1], b"<html><body>busy</body></html>", headers, "text/html")
            elif action[0] == "malformed":
                self._send(200, b"<?xml version='1.0'?><OAI-PMH><ListRecords><record>")
            else:
                self._send(200, b"<!DOCTYPE html><html><body>Maintenance</body></html>", None, "text/html")
            return
        self._send(200, self._answer(params))

    def _answer(self, params: dict[str, str]) -> bytes:
        verb = params.get("verb")
        if verb == "GetRecord":
            identifier = params.get("identifier", "")
            if identifier == "oai:arXiv.org:1302.2146":
                return _fixture("saelim_GetRecordResponse.xml")
            if identifier == "oai:arXiv.org:1401.2122":
                return _fixture("hepcrawl_arxiv-single.xml")
            return _fixture("saelim_ErrorResponseIdDoesNotExist.xml")
        if verb != "ListRecords":
            return _fixture("saelim_ErrorResponseBadVerb.xml")
        if "identifier" in params:
            return _fixture("saelim_ErrorResponseBadArgument.xml")
        token = params.get("resumptionToken")
        if token is not None:
            if token not in ("page2", "page3"):
                return _fixture("saelim_ErrorResponseBadResumptionToken.xml")
            time.sleep(self.server.delays.get(token, 0))
            return self.server.pages[int(token[-1]) - 1]
        if params.get("set") == "moo":
            return _fixture("saelim_ErrorResponseNoRecordsMatch.xml")
        if params.get("metadataPrefix") == "arXiv":
            if params.get("set") == "physics:hep-ex":
                return _fixture("hepcrawl_arxiv-physics-hep-ex.xml")
            return _fixture("hepcrawl_arxiv-physics-hep-th.xml")
        return self.server.pages[0]


@contextmanager
def fake_oai() -> Iterator[FakeOai]:
    """Run a :class:`FakeOai` in a background thread for the ``with`` block."""
    server = FakeOai()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- arXiv API searches
ARXIV_FIXTURES = Path(__file__).parent / "fixtures" / "arxiv_api"


class FakeArxivSearch(ThreadingHTTPServer):
    """Answers every ``search_query`` with ``start=0`` with the recorded search
    (``rsxiv_query_electron_proton.xml``, 10 entries of 7432) and later pages with the recorded
    empty answer. ``log`` holds the params of every request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SearchHandler)
        self.log: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/query"


class _SearchHandler(BaseHTTPRequestHandler):
    server: FakeArxivSearch

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        self.server.log.append(params)
        name = (
            "rsxiv_query_electron_proton.xml" if params.get("start", "0") == "0" else "rsxiv_query_empty.xml"
        )
        body = (ARXIV_FIXTURES / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def fake_arxiv_search() -> Iterator[FakeArxivSearch]:
    server = FakeArxivSearch()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
