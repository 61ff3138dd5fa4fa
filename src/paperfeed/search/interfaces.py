"""The contracts of the search package: documents in, hits out, and the index protocol.

Semantic search (vector index + embedder) plugs in beside :class:`KeywordIndex` with the same
``IndexDocument``/``SearchFilters`` vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass(frozen=True, slots=True)
class IndexDocument:
    """What the indexes know about a paper (read from the database by the indexer)."""

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: date | None = None
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Optional restrictions applied inside the index."""

    published_from: date | None = None
    published_to: date | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not (self.published_from or self.published_to or self.categories)


@dataclass(frozen=True, slots=True)
class KeywordHit:
    """One ranked match: the paper id and its BM25 score."""

    arxiv_id: str
    score: float


class KeywordIndex(Protocol):
    """A BM25 index over title, abstract and authors."""

    def search(
        self,
        query: str,
        *,
        limit: int,
        offset: int = 0,
        filters: SearchFilters | None = None,
        sort: str = "relevance",
    ) -> list[KeywordHit]: ...

    def highlight(self, query: str, field_name: str, texts: list[str]) -> list[str | None]:
        """Per text: escaped HTML with matches in ``<b>``, or ``None`` when nothing matched."""
        ...

    def num_docs(self) -> int: ...
