"""arXiv OAI-PMH client and parsers: ``ListRecords`` pages in ``arXivRaw`` / ``arXiv`` format.

:class:`OaiClient` is as polite as :class:`paperfeed.ingest.arxiv_api.ArxivClient`: at least
``min_interval`` seconds between requests, timeouts, retries with exponential backoff on 5xx,
timeouts and connection errors, and **503 + Retry-After** (seconds or an HTTP date, capped at
``max_retry_after``) honoured before the retry (the shared transport,
:class:`paperfeed.ingest.polite_http.PoliteFetcher`). Failures are domain errors:
:class:`OaiUnavailable` (down after the retries), :class:`OaiBadResponse` (not an OAI-PMH document)
and :class:`OaiProtocolError` (an OAI ``<error code=...>``: ``badArgument``, ``badResumptionToken``,
``badVerb``, ``idDoesNotExist``, ``cannotDisseminateFormat``...). ``noRecordsMatch`` is not an
error: it is an empty, final page.

:func:`parse_page` turns one response into an :class:`OaiPage`: the parsed records (deleted
records, ``<header status="deleted">``, are skipped and counted), the next ``resumptionToken``
(``None`` on the last page) and ``completeListSize``.
"""

from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.errors import InvalidInput, PaperfeedError
from paperfeed.ingest.polite_http import FetchGaveUp, PoliteFetcher
from paperfeed.ingest.records import PaperRecord, clean_abstract, clean_title, find_github_repo
from paperfeed.ingest.snapshot import parse_version_date

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
METADATA_PREFIXES = ("arXivRaw", "arXiv")
MAX_RESPONSE_BYTES = 100 * 1024 * 1024

# what each OAI-PMH error code means for a harvest (protocol spec §3.6)
_OAI_MESSAGES = {
    "badArgument": "the repository rejected the request's arguments",
    "badResumptionToken": (
        "the repository no longer accepts the resumption token (expired?); "
        "the next run starts the harvest over"
    ),
    "badVerb": "the repository does not understand the request verb",
    "idDoesNotExist": "the repository has no record with this identifier",
    "cannotDisseminateFormat": "the repository does not offer this metadata format",
    "noSetHierarchy": "the repository does not support sets",
}


# --------------------------------------------------------------------------- errors
class OaiError(PaperfeedError):
    """Base of the errors an OAI-PMH harvest can produce."""

    code = "oai_error"
    http_status = 502


class OaiUnavailable(OaiError):
    """The repository did not answer usefully (5xx, 503 busy, timeouts) even after the retries."""

    code = "oai_unavailable"
    http_status = 503


class OaiBadResponse(OaiError):
    """The repository answered something that is not an OAI-PMH document (or malformed XML)."""

    code = "oai_bad_response"


class OaiProtocolError(OaiError):
    """An OAI-PMH ``<error code="...">`` answer; ``oai_code`` is the protocol's code."""

    code = "oai_protocol_error"

    def __init__(self, oai_code: str, detail: str) -> None:
        meaning = _OAI_MESSAGES.get(oai_code, "the repository refused the request")
        text = f"OAI-PMH error {oai_code}: {meaning}"
        super().__init__(f"{text} ({detail})" if detail else text)
        self.oai_code = oai_code


# --------------------------------------------------------------------------- parsing
@dataclass
class OaiRecord:
    """One harvested record: the paper plus the header's datestamp (the day arXiv changed it)."""

    record: PaperRecord
    datestamp: date | None
    is_new: bool  # only one version so far: a new submission, not a replacement


@dataclass
class OaiPage:
    """One ``ListRecords`` answer."""

    records: list[OaiRecord] = field(default_factory=list)
    deleted: int = 0
    token: str | None = None
    complete_list_size: int | None = None
    cursor: int | None = None


def _text(elem: ET.Element | None) -> str | None:
    if elem is None or elem.text is None:
        return None
    text = elem.text.strip()
    return text or None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def split_authors(text: str | None) -> list[str]:
    """arXivRaw's author string (``A, B, and C`` / ``A and B``) → names, in order.

    Commas inside parentheses (affiliations) do not split.
    """
    if not text:
        return []
    flat = " ".join(text.split())
    names: list[str] = []
    depth, start = 0, 0
    pieces: list[str] = []
    for i, char in enumerate(flat):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            pieces.append(flat[start:i])
            start = i + 1
    pieces.append(flat[start:])
    for piece in pieces:
        piece = piece.strip()
        if piece.startswith("and "):
            piece = piece[4:]
        names.extend(p.strip() for p in re.split(r"\s+and\s+", piece) if p.strip())
    return names


def _common_fields(meta: ET.Element, ns: str) -> dict:
    comments = clean_title(_text(meta.find(f"{ns}comments"))) or None
    abstract = clean_abstract(_text(meta.find(f"{ns}abstract")))
    doi = _text(meta.find(f"{ns}doi"))
    return {
        "title": clean_title(_text(meta.find(f"{ns}title"))),
        "abstract": abstract,
        "categories": list(dict.fromkeys((_text(meta.find(f"{ns}categories")) or "").split())),
        "doi": doi.split()[0] if doi else None,  # several DOIs are space-separated: keep the first
        "journal_ref": clean_title(_text(meta.find(f"{ns}journal-ref"))) or None,
        "comments": comments,
        "license": _text(meta.find(f"{ns}license")),
        "report_no": clean_title(_text(meta.find(f"{ns}report-no"))) or None,
        "github_repo": find_github_repo(comments, abstract),
    }


def parse_arxiv_raw(meta: ET.Element, record_hash: str = "") -> tuple[PaperRecord, bool]:
    """An ``<arXivRaw>`` element → (record, is_new); raises ``ValueError`` when unusable."""
    arxiv_id = _id_of(meta, ARXIV_RAW)
    versions: list[tuple[int, datetime]] = []
    for version in meta.findall(f"{ARXIV_RAW}version"):
        stamp = _text(version.find(f"{ARXIV_RAW}date"))
        number = (version.get("version") or "").lstrip("v")
        if stamp and number.isdigit():
            try:
                versions.append((int(number), parse_version_date(stamp)))
            except (KeyError, ValueError, IndexError):
                raise ValueError(f"{arxiv_id}: unreadable version date {stamp!r}") from None
    versions.sort()
    fields = _common_fields(meta, ARXIV_RAW)
    if not fields["title"]:
        raise ValueError(f"{arxiv_id}: record without a title")
    record = PaperRecord(
        arxiv_id=arxiv_id,
        authors=split_authors(_text(meta.find(f"{ARXIV_RAW}authors"))),
        published_at=versions[0][1] if versions else None,
        updated_at=versions[-1][1] if len(versions) > 1 else None,
        latest_version=versions[-1][0] if versions else None,
        submitter=clean_title(_text(meta.find(f"{ARXIV_RAW}submitter"))) or None,
        record_hash=record_hash,
        **fields,
    )
    return record, len(versions) == 1


def parse_arxiv(meta: ET.Element, record_hash: str = "") -> tuple[PaperRecord, bool]:
    """An ``<arXiv>`` element → (record, is_new); raises ``ValueError`` when unusable."""
    arxiv_id = _id_of(meta, ARXIV)
    authors = []
    for author in meta.findall(f"{ARXIV}authors/{ARXIV}author"):
        parts = [
            _text(author.find(f"{ARXIV}forenames")),
            _text(author.find(f"{ARXIV}keyname")),
            _text(author.find(f"{ARXIV}suffix")),
        ]
        name = " ".join(" ".join(p.split()) for p in parts if p)
        if name:
            authors.append(name)
    created = _date(_text(meta.find(f"{ARXIV}created")))
    updated = _date(_text(meta.find(f"{ARXIV}updated")))
    fields = _common_fields(meta, ARXIV)
    if not fields["title"]:
        raise ValueError(f"{arxiv_id}: record without a title")
    record = PaperRecord(
        arxiv_id=arxiv_id,
        authors=authors,
        published_at=datetime(created.year, created.month, created.day) if created else None,
        updated_at=datetime(updated.year, updated.month, updated.day) if updated else None,
        record_hash=record_hash,
        **fields,
    )
    return record, updated is None


def _id_of(meta: ET.Element, ns: str) -> str:
    raw = _text(meta.find(f"{ns}id"))
    if not raw:
        raise ValueError("record without <id>")
    try:
        return normalize_arxiv_id(raw)
    except InvalidInput:
        raise ValueError(f"record id {raw!r} is not an arXiv id") from None


def parse_page(body: bytes | str) -> OaiPage:
    """Parse a ``ListRecords`` (or ``GetRecord``) answer.

    Raises :class:`OaiBadResponse` (not XML / not OAI-PMH / unreadable record) and
    :class:`OaiProtocolError` (an OAI error other than ``noRecordsMatch``, which gives an empty page).
    """
    raw = body.encode() if isinstance(body, str) else body
    if b"<!DOCTYPE" in raw[:4096].upper() or b"<!ENTITY" in raw.upper():
        raise OaiBadResponse("the OAI-PMH server answered an unexpected document (HTML?)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise OaiBadResponse(f"the OAI-PMH server answered malformed XML ({exc})") from None
    if root.tag != f"{OAI}OAI-PMH":
        raise OaiBadResponse(f"the OAI-PMH server answered XML that is not OAI-PMH (root <{root.tag}>)")
    errors = root.findall(f"{OAI}error")
    if errors:
        codes = [(e.get("code") or "unknown", " ".join((e.text or "").split())) for e in errors]
        if all(code == "noRecordsMatch" for code, _ in codes):
            return OaiPage()
        oai_code, detail = next((c, d) for c, d in codes if c != "noRecordsMatch")
        raise OaiProtocolError(oai_code, detail)
    container = root.find(f"{OAI}ListRecords")
    if container is None:
        container = root.find(f"{OAI}GetRecord")
    if container is None:
        raise OaiBadResponse("the OAI-PMH answer has neither <ListRecords> nor <GetRecord>")
    page = OaiPage()
    for record in container.findall(f"{OAI}record"):
        header = record.find(f"{OAI}header")
        if header is not None and header.get("status") == "deleted":
            page.deleted += 1
            continue
        datestamp = _date(_text(header.find(f"{OAI}datestamp"))) if header is not None else None
        digest = hashlib.sha256(ET.tostring(record)).hexdigest()[:32]
        meta = record.find(f"{OAI}metadata")
        try:
            if meta is None or len(meta) == 0:
                raise ValueError("record without <metadata>")
            inner = meta[0]
            if inner.tag == f"{ARXIV_RAW}arXivRaw":
                parsed, is_new = parse_arxiv_raw(inner, digest)
            elif inner.tag == f"{ARXIV}arXiv":
                parsed, is_new = parse_arxiv(inner, digest)
            else:
                raise ValueError(f"unsupported metadata format <{inner.tag}>")
        except ValueError as exc:
            raise OaiBadResponse(f"the OAI-PMH answer holds an unreadable record: {exc}") from None
        page.records.append(OaiRecord(record=parsed, datestamp=datestamp, is_new=is_new))
    token = container.find(f"{OAI}resumptionToken")
    if token is not None:
        page.token = _text(token)  # an empty token marks the last page
        size = token.get("completeListSize")
        cursor = token.get("cursor")
        page.complete_list_size = int(size) if size and size.isdigit() else None
        page.cursor = int(cursor) if cursor and cursor.isdigit() else None
    return page


# --------------------------------------------------------------------------- client
class OaiClient:
    """A polite OAI-PMH client for one repository (requests are serialised)."""

    def __init__(
        self,
        base_url: str,
        *,
        min_interval: float = 3.0,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 5.0,
        max_retry_after: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = PoliteFetcher(
            base_url,
            purpose="OAI-PMH harvester",
            min_interval=min_interval,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_retry_after=max_retry_after,
            sleep=sleep,
            monotonic=monotonic,
        )
        self.base_url = base_url

    def close(self) -> None:
        self._fetcher.close()

    def __enter__(self) -> OaiClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def list_records(
        self,
        *,
        metadata_prefix: str = "arXivRaw",
        set_spec: str | None = None,
        from_date: date | None = None,
        until_date: date | None = None,
        token: str | None = None,
    ) -> OaiPage:
        """One ``ListRecords`` page: the first (by arguments) or the one a resumption token names."""
        if token:
            params = {"verb": "ListRecords", "resumptionToken": token}
        else:
            params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
            if set_spec:
                params["set"] = set_spec
            if from_date:
                params["from"] = from_date.isoformat()
            if until_date:
                params["until"] = until_date.isoformat()
        return parse_page(self._get(params))

    def pages(self, *, token: str | None = None, **arguments) -> Iterator[OaiPage]:
        """Every page of a harvest, following resumption tokens (from ``token`` when resuming)."""
        page = self.list_records(token=token, **arguments)
        yield page
        while page.token:
            page = self.list_records(token=page.token)
            yield page

    # ------------------------------------------------------------ transport
    def _get(self, params: dict[str, str]) -> bytes:
        try:
            response = self._fetcher.get(params)
        except FetchGaveUp as exc:
            raise OaiUnavailable(
                f"the OAI-PMH server is unavailable: {exc.describe()}. "
                "Try again later (the harvest resumes from its last stored page)."
            ) from None
        body = response.content
        if len(body) > MAX_RESPONSE_BYTES:
            raise OaiBadResponse("the OAI-PMH server answered an unexpectedly large document")
        if response.status_code >= 400:
            try:  # some servers send the OAI error document with a 4xx status
                parse_page(body)
            except OaiProtocolError:
                raise
            except OaiBadResponse:
                pass
            raise OaiBadResponse(f"the OAI-PMH server refused the request (HTTP {response.status_code})")
        return body
