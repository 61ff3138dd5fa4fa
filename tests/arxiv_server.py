"""A real arXiv API stand-in on loopback: serves the recorded Atom answers in ``fixtures/arxiv_api``.

A request's ``id_list`` is answered with the recorded file that contains those papers (the
recorded "empty" answer when none is known). ``server.script[arxiv_id]`` queues synthetic
behaviours for requests naming that id, consumed in order (the last one repeats):
``("status", 500)``, ``("html",)``, ``("not_atom",)``, ``("slow", seconds)``, ``("error_entry", status)``,
``("recorded",)``. ``server.log`` records ``(time.monotonic(), query)`` for every request.
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

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "arxiv_api"
EMPTY = FIXTURE_DIR / "rsxiv_query_empty.xml"

# the documented shape of arXiv's error answer (API user manual, "Errors"); no recording exists
ERROR_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <link href="http://arxiv.org/api/query?search_query=&amp;id_list={id}" rel="self"
        type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list={id}</title>
  <id>http://arxiv.org/api/errorsquery</id>
  <updated>2025-11-11T00:00:00-05:00</updated>
  <opensearch:totalResults>1</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_{id}</id>
    <title>Error</title>
    <summary>incorrect id format for {id}</summary>
    <updated>2025-11-11T00:00:00-05:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_{id}" rel="alternate" type="text/html"/>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""


def _recorded_index() -> dict[str, Path]:
    """arXiv id (no version) → the recorded file holding its entry."""
    index: dict[str, Path] = {}
    for path in sorted(FIXTURE_DIR.glob("*.xml")):
        for raw in re.findall(r"<id>https?://arxiv\.org/abs/([^<]+)</id>", path.read_text()):
            index.setdefault(re.sub(r"v\d+$", "", raw), path)
    return index


class FakeArxiv(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.recorded = _recorded_index()
        self.script: dict[str, list[tuple]] = {}
        self.log: list[tuple[float, dict[str, list[str]]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/query"

    def requests_for(self, arxiv_id: str) -> int:
        return sum(1 for _, q in self.log if arxiv_id in q.get("id_list", [""])[0].split(","))

    def next_action(self, ids: list[str]) -> tuple:
        with self.lock:
            for arxiv_id in ids:
                queue = self.script.get(arxiv_id)
                if queue:
                    return queue.pop(0) if len(queue) > 1 else queue[0]
        return ("recorded",)


class _Handler(BaseHTTPRequestHandler):
    server: FakeArxiv

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/atom+xml; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (timeouts)
            self.wfile.write(body)

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        with self.server.lock:
            self.server.log.append((time.monotonic(), query))
        ids = [i for i in query.get("id_list", [""])[0].split(",") if i]
        action = self.server.next_action(ids)
        kind = action[0]
        if kind == "status":
            self._send(action[1], f"<html><body>HTTP {action[1]}</body></html>".encode(), "text/html")
        elif kind == "html":
            self._send(
                200, b"<!doctype html><html><body><h1>Maintenance</h1><p>Back soon</body>", "text/html"
            )
        elif kind == "not_atom":
            self._send(200, b"<?xml version='1.0'?><rss version='2.0'><channel/></rss>", "text/xml")
        elif kind == "slow":
            time.sleep(action[1])
            self._send(200, EMPTY.read_bytes())
        elif kind == "error_entry":
            self._send(action[1], ERROR_FEED.replace("{id}", ",".join(ids)).encode())
        else:
            files = {self.server.recorded[i] for i in ids if i in self.server.recorded}
            path = files.pop() if len(files) == 1 else EMPTY
            self._send(200, path.read_bytes())


@contextmanager
def fake_arxiv() -> Iterator[FakeArxiv]:
    """Run a :class:`FakeArxiv` in a background thread for the ``with`` block."""
    server = FakeArxiv()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
