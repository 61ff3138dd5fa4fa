"""arXiv Atom API client and parser: fetch papers by id (``id_list=``) or query, politely.

:class:`ArxivClient` keeps at least ``min_interval`` seconds between requests (arXiv asks for 3 s),
times requests out, and retries with exponential backoff on 5xx answers, timeouts and connection
errors (never on 4xx) — the transport is :class:`paperfeed.ingest.polite_http.PoliteFetcher`.
Failures become domain errors the web layer and CLI can show:
:class:`ArxivUnavailable` (down or too slow after the retries), :class:`ArxivBadResponse` (not an
Atom feed), :class:`ArxivUnknownId` (arXiv has no such paper) and :class:`ArxivInvalidId`
(arXiv's documented error entry, ``<id>http://arxiv.org/api/errors#...</id>``).

:func:`parse_feed` reads both the classic and the newer (2025) response format: it never relies
on ``rel``/``title`` attributes of links, and accepts ``http(s)://arxiv.org/abs/<id>v<n>`` ids.
"""

from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.errors import InvalidInput, NotFound, PaperfeedError
from paperfeed.ingest.polite_http import FetchGaveUp, PoliteFetcher
from paperfeed.ingest.records import PaperRecord, clean_abstract, clean_title, find_github_repo

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
MAX_RESPONSE_BYTES = 20 * 1024 * 1024
_VERSION = re.compile(r"v(\d+)$")
_ERROR_ID = "arxiv.org/api/errors"


# --------------------------------------------------------------------------- errors
class ArxivError(PaperfeedError):
    """Base of the errors talking to arXiv can produce."""

    code = "arxiv_error"
    http_status = 502


class ArxivUnavailable(ArxivError):
    """arXiv did not answer usefully (5xx, connection refused) even after the retries."""

    code = "arxiv_unavailable"
    http_status = 503


class ArxivTimeout(ArxivUnavailable):
    """arXiv was too slow (every attempt timed out)."""

    code = "arxiv_timeout"


class ArxivBadResponse(ArxivError):
    """arXiv answered something that is not an arXiv Atom feed."""

    code = "arxiv_bad_response"
    http_status = 502


class ArxivUnknownId(ArxivError, NotFound):
    """arXiv has no paper with this id."""

    code = "unknown_arxiv_id"
    http_status = 404


class ArxivInvalidId(ArxivError):
    """The id is not a valid arXiv id (ours or arXiv's verdict). 422 on the API, not remapped."""

    code = "invalid_arxiv_id"
    http_status = 422


# --------------------------------------------------------------------------- parsing
@dataclass
class ArxivEntry:
    """One parsed ``<entry>``: the paper record plus what only the API says."""

    record: PaperRecord
    version: int | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    links: list[str] = field(default_factory=list)


@dataclass
class ArxivFeed:
    """A parsed API answer."""

    total_results: int | None
    start_index: int | None
    entries: list[ArxivEntry]


def _text(elem: ET.Element | None) -> str | None:
    if elem is None or elem.text is None:
        return None
    text = elem.text.strip()
    return text or None


def _timestamp(value: str | None) -> datetime | None:
    """``2022-01-31T18:59:34Z`` → naive UTC datetime (``None`` when absent or unreadable)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _id_and_version(id_url: str) -> tuple[str, int | None]:
    """``https://arxiv.org/abs/2201.13452v1`` → ``("2201.13452", 1)``."""
    tail = id_url.split("/abs/", 1)[1] if "/abs/" in id_url else id_url
    match = _VERSION.search(tail)
    return normalize_arxiv_id(tail), (int(match.group(1)) if match else None)


def is_error_entry(entry: ET.Element) -> bool:
    """True for arXiv's documented error entry (id ``http://arxiv.org/api/errors#...``)."""
    return _ERROR_ID in (_text(entry.find(f"{ATOM}id")) or "")


def parse_entry(entry: ET.Element, record_hash: str = "") -> ArxivEntry:
    """One ``<entry>`` → :class:`ArxivEntry`; raises ``ValueError`` when it has no usable id/title."""
    id_url = _text(entry.find(f"{ATOM}id"))
    if not id_url:
        raise ValueError("entry without <id>")
    try:
        arxiv_id, version = _id_and_version(id_url)
    except InvalidInput as exc:
        raise ValueError(f"entry id {id_url!r} is not an arXiv id") from exc
    title = clean_title(_text(entry.find(f"{ATOM}title")))
    if not title:
        raise ValueError(f"entry {arxiv_id} without a title")
    authors = [
        clean_title(_text(author.find(f"{ATOM}name")))
        for author in entry.findall(f"{ATOM}author")
        if _text(author.find(f"{ATOM}name"))
    ]
    categories = [c.get("term", "").strip() for c in entry.findall(f"{ATOM}category") if c.get("term")]
    primary = entry.find(f"{ARXIV}primary_category")
    if primary is not None and primary.get("term"):
        term = primary.get("term").strip()
        categories = [term, *(c for c in categories if c != term)]
    links = [link.get("href", "") for link in entry.findall(f"{ATOM}link") if link.get("href")]
    abs_url = next((h for h in links if "/abs/" in h), None)
    pdf_url = next((h for h in links if "/pdf/" in h), None)
    abstract = clean_abstract(_text(entry.find(f"{ATOM}summary")))
    comment = _text(entry.find(f"{ARXIV}comment"))
    doi = _text(entry.find(f"{ARXIV}doi"))
    if doi is None:  # older answers only carry the DOI as a link
        doi_link = next((h for h in links if "doi.org/" in h), None)
        doi = doi_link.split("doi.org/", 1)[1] if doi_link else None
    record = PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=list(dict.fromkeys(categories)),
        published_at=_timestamp(_text(entry.find(f"{ATOM}published"))),
        updated_at=_timestamp(_text(entry.find(f"{ATOM}updated"))),
        doi=doi,
        journal_ref=clean_title(_text(entry.find(f"{ARXIV}journal_ref"))) or None,
        comments=clean_title(comment) or None,
        latest_version=version,
        github_repo=find_github_repo(comment, abstract),
        record_hash=record_hash,
    )
    return ArxivEntry(record=record, version=version, abs_url=abs_url, pdf_url=pdf_url, links=links)


def parse_feed(body: bytes | str) -> ArxivFeed:
    """Parse an API answer; raises :class:`ArxivBadResponse` (not Atom) or :class:`ArxivInvalidId`."""
    raw = body.encode() if isinstance(body, str) else body
    if b"<!DOCTYPE" in raw[:4096].upper() or b"<!ENTITY" in raw.upper():
        raise ArxivBadResponse("arXiv answered an unexpected document (not an Atom feed)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ArxivBadResponse(f"arXiv answered something that is not XML ({exc})") from None
    if root.tag != f"{ATOM}feed":
        raise ArxivBadResponse(f"arXiv answered XML that is not an Atom feed (root <{root.tag}>)")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        if is_error_entry(entry):
            message = _text(entry.find(f"{ATOM}summary")) or "arXiv rejected the request"
            raise ArxivInvalidId(f"arXiv says: {message}")
    parsed = []
    for entry in entries:
        digest = hashlib.sha256(ET.tostring(entry)).hexdigest()[:32]
        try:
            parsed.append(parse_entry(entry, digest))
        except ValueError as exc:
            raise ArxivBadResponse(f"arXiv answered an unreadable entry: {exc}") from None
    return ArxivFeed(
        total_results=_int(_text(root.find(f"{OPENSEARCH}totalResults"))),
        start_index=_int(_text(root.find(f"{OPENSEARCH}startIndex"))),
        entries=parsed,
    )


# --------------------------------------------------------------------------- client
class ArxivClient:
    """A polite arXiv API client (one per process; thread-safe, requests are serialised)."""

    def __init__(
        self,
        base_url: str,
        *,
        min_interval: float = 3.0,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = PoliteFetcher(
            base_url,
            purpose="arXiv API client",
            min_interval=min_interval,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            sleep=sleep,
            monotonic=monotonic,
        )
        self.base_url = base_url

    def close(self) -> None:
        self._fetcher.close()

    # ------------------------------------------------------------ public
    def fetch_by_ids(self, ids: Sequence[str]) -> list[PaperRecord]:
        """Records for ``ids`` in arXiv's order; raises :class:`ArxivUnknownId` if none is known.

        Ids are normalised first (versions and URLs accepted); unknown ids among known ones are
        simply absent from the result.
        """
        try:
            wanted = list(dict.fromkeys(normalize_arxiv_id(i) for i in ids))
        except InvalidInput as exc:
            raise ArxivInvalidId(exc.message) from None
        if not wanted:
            return []
        feed = self.query({"id_list": ",".join(wanted), "max_results": str(len(wanted))})
        records = [e.record for e in feed.entries if e.record.arxiv_id in wanted]
        if not records:
            shown = ", ".join(wanted[:5])
            raise ArxivUnknownId(f"arXiv has no paper {shown}")
        return records

    def fetch_one(self, arxiv_id: str) -> PaperRecord:
        """The record of one paper; raises :class:`ArxivUnknownId` when arXiv does not know it."""
        return self.fetch_by_ids([arxiv_id])[0]

    def search(self, search_query: str, *, start: int = 0, max_results: int = 100) -> ArxivFeed:
        """One page of a ``search_query=`` (e.g. ``cat:cs.CL``), newest submissions first."""
        return self.query(
            {
                "search_query": search_query,
                "start": str(start),
                "max_results": str(max_results),
                "sortBy": "submittedDate",
                "sortOrder": "descending",
            }
        )

    def query(self, params: dict[str, str]) -> ArxivFeed:
        """GET the API with ``params`` (rate-limited, retried) and parse the answer."""
        return parse_feed(self._get(params))

    # ------------------------------------------------------------ transport
    def _get(self, params: dict[str, str]) -> bytes:
        try:
            response = self._fetcher.get(params)
        except FetchGaveUp as exc:
            message = f"arXiv is unavailable: {exc.describe()}. Try again later."
            raise (ArxivTimeout if exc.timed_out else ArxivUnavailable)(message) from None
        body = response.content
        if len(body) > MAX_RESPONSE_BYTES:
            raise ArxivBadResponse("arXiv answered an unexpectedly large document")
        if response.status_code >= 400:
            return self._client_error(response.status_code, body)
        return body

    @staticmethod
    def _client_error(status: int, body: bytes) -> bytes:
        """4xx: arXiv's error feed means an invalid id; anything else is a bad answer (no retry)."""
        try:
            parse_feed(body)  # raises ArxivInvalidId for the documented error entry
        except ArxivInvalidId:
            raise
        except ArxivBadResponse:
            pass
        raise ArxivBadResponse(f"arXiv refused the request (HTTP {status})")
