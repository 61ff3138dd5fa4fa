"""LibraryService: a user's saved papers — save, remove, list, and export as citations.

Save and remove are idempotent (repeating either changes nothing); an id that names no visible
paper is :class:`~paperfeed.errors.NotFound`. Listings are newest save first. Exports:

- ``json``: the Hugging Face daily-item shape (built by the web layer from :class:`SavedPaper`)
  plus ``savedAt``, ``doi`` and ``journalRef`` — the same objects ``/api/daily_papers`` returns,
  so scripts written against the feed read a library too;
- ``csljson``: CSL-JSON items (Zotero, Pandoc, citeproc);
- ``bibtex`` / ``ris``: citation files from :mod:`paperfeed.papers.citations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.clock import Clock
from paperfeed.community.accounts import Account
from paperfeed.db import library_store, votes_store
from paperfeed.errors import InvalidInput, NotFound, PaperfeedError
from paperfeed.papers.citations import Citation, to_bibtex, to_csl_json, to_ris
from paperfeed.papers.models import PaperItem
from paperfeed.papers.service import attach_people

EXPORT_FORMATS = ("json", "csljson", "bibtex", "ris")
MAX_EXPORT = 10_000  # papers in one export (a library is personal: far more than anyone saves)


class UnknownExportFormat(PaperfeedError):
    """An export format we do not write (422 on the API as well as in the CLI)."""

    code = "invalid_input"
    http_status = 422


@dataclass(frozen=True)
class SavedPaper:
    """A paper in a library: the listing item plus what citations need and when it was saved."""

    item: PaperItem
    saved_at: datetime
    primary_category: str | None
    doi: str | None
    journal_ref: str | None

    def citation(self) -> Citation:
        return Citation(
            arxiv_id=self.item.arxiv_id,
            title=self.item.title,
            authors=list(self.item.authors),
            published_at=self.item.published_at,
            abstract=self.item.abstract,
            primary_category=self.primary_category
            or (self.item.categories[0] if self.item.categories else None),
            doi=self.doi,
            journal_ref=self.journal_ref,
        )


@dataclass(frozen=True)
class LibraryPage:
    """One page of a library listing."""

    papers: list[SavedPaper]
    total: int
    page: int
    page_size: int

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.page_size < self.total


class LibraryService:
    """Per-user saved papers over one database."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def _paper_id(self, raw_id: str) -> tuple[str, int]:
        arxiv_id = normalize_arxiv_id(raw_id)
        with self.engine.connect() as conn:
            paper_id = votes_store.paper_id_for(conn, arxiv_id)
        if paper_id is None:
            raise NotFound(f"no paper {arxiv_id} on this instance")
        return arxiv_id, paper_id

    def save(self, account: Account, raw_id: str) -> bool:
        """Add a paper to the library; ``True`` when it was newly added (``False``: already there)."""
        _, paper_id = self._paper_id(raw_id)
        now = self.clock.now().replace(tzinfo=None)
        return library_store.save(self.engine, user_id=account.id, paper_id=paper_id, now=now)

    def remove(self, account: Account, raw_id: str) -> bool:
        """Take a paper out of the library; ``True`` when it was there."""
        _, paper_id = self._paper_id(raw_id)
        return library_store.remove(self.engine, user_id=account.id, paper_id=paper_id)

    def set_saved(self, account: Account, raw_id: str, on: bool) -> bool:
        """Save (``on``) or remove; returns whether the state changed."""
        return self.save(account, raw_id) if on else self.remove(account, raw_id)

    def is_saved(self, account: Account, raw_id: str) -> bool:
        with self.engine.connect() as conn:
            return library_store.is_saved(conn, account.id, normalize_arxiv_id(raw_id))

    def saved_ids(self, account: Account) -> set[str]:
        """arXiv ids in the user's library (to show "Saved" on buttons)."""
        with self.engine.connect() as conn:
            return library_store.saved_arxiv_ids(conn, account.id)

    def _saved(self, account: Account, *, offset: int, limit: int | None) -> list[SavedPaper]:
        with self.engine.connect() as conn:
            rows = library_store.saved_rows(conn, account.id, offset=offset, limit=limit)
            items = attach_people(conn, rows)
        return [
            SavedPaper(
                item=item,
                saved_at=row["saved_at"],
                primary_category=row.get("primary_category"),
                doi=row.get("doi"),
                journal_ref=row.get("journal_ref"),
            )
            for row, item in zip(rows, items, strict=True)
        ]

    def page(self, account: Account, *, page: int = 0, page_size: int = 50) -> LibraryPage:
        """One page of the library, newest save first."""
        if page < 0:
            raise InvalidInput("page must be 0 or more")
        if not 1 <= page_size <= 100:
            raise InvalidInput("page size must be between 1 and 100")
        papers = self._saved(account, offset=page * page_size, limit=page_size)
        with self.engine.connect() as conn:
            total = library_store.count(conn, account.id)
        return LibraryPage(papers, total, page, page_size)

    def all(self, account: Account) -> list[SavedPaper]:
        """The whole library (up to :data:`MAX_EXPORT` papers), newest save first."""
        return self._saved(account, offset=0, limit=MAX_EXPORT)

    def export_text(self, account: Account, fmt: str) -> str:
        """The library as a ``bibtex`` or ``ris`` file."""
        citations = [saved.citation() for saved in self.all(account)]
        if fmt == "bibtex":
            return to_bibtex(citations)
        if fmt == "ris":
            return to_ris(citations)
        raise UnknownExportFormat(f"invalid format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")

    def export_csl_json(self, account: Account) -> list[dict]:
        """The library as CSL-JSON items."""
        return to_csl_json(saved.citation() for saved in self.all(account))


def check_format(fmt: str) -> str:
    """``fmt`` when it is an export format, else :class:`UnknownExportFormat` (422)."""
    fmt = (fmt or "").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise UnknownExportFormat(f"invalid format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    return fmt
