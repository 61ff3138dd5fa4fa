"""SearchService: runs a query on the keyword index and returns listing items with highlights.

Modes: ``keyword`` (BM25). ``semantic`` and ``hybrid`` need a vector index; until one is
configured they answer with keyword results and report the mode actually used.
"""

from __future__ import annotations

from dataclasses import dataclass

from paperfeed.errors import InvalidInput
from paperfeed.papers.models import PaperItem
from paperfeed.papers.service import PaperService
from paperfeed.search.interfaces import KeywordIndex, SearchFilters

MODES = ("keyword", "semantic", "hybrid")
SORTS = ("relevance", "date")
MAX_LIMIT = 120


@dataclass
class SearchResults:
    """Ranked items plus the mode that produced them."""

    query: str
    mode: str
    items: list[PaperItem]


class SearchService:
    """Keyword search over the instance's papers."""

    def __init__(self, keyword: KeywordIndex, papers: PaperService, *, max_query_chars: int = 250) -> None:
        self.keyword = keyword
        self.papers = papers
        self.max_query_chars = max_query_chars

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        mode: str = "hybrid",
        filters: SearchFilters | None = None,
        sort: str = "relevance",
        highlight: bool = True,
    ) -> SearchResults:
        """Search; raises :class:`InvalidInput` for a bad mode, sort or limit."""
        if mode not in MODES:
            raise InvalidInput(f"invalid mode {mode!r}: expected keyword, semantic or hybrid")
        if sort not in SORTS:
            raise InvalidInput(f"invalid sort {sort!r}: expected relevance or date")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise InvalidInput("offset must be 0 or more")
        query = (query or "").strip()[: self.max_query_chars]
        if not query:
            return SearchResults(query, "keyword", [])
        hits = self.keyword.search(query, limit=limit, offset=offset, filters=filters, sort=sort)
        by_id = self.papers.items_for([h.arxiv_id for h in hits])
        items = []
        for hit in hits:
            item = by_id.get(hit.arxiv_id)
            if item is None:  # hidden or deleted since the index was built
                continue
            item.score = hit.score
            items.append(item)
        if highlight and items:
            titles = self.keyword.highlight(query, "title", [i.title for i in items])
            abstracts = self.keyword.highlight(query, "abstract", [i.abstract for i in items])
            for item, title, abstract in zip(items, titles, abstracts, strict=True):
                item.highlighted_title = title
                item.highlighted_summary = abstract
        return SearchResults(query, "keyword", items)
