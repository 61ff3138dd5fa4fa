"""Hybrid search embeds the query on a helper thread while the keyword index is searched;
the answers are exactly those of doing one after the other (real model, real indexes)."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from paperfeed.search.embed import MiniLMEmbedder
from paperfeed.search.interfaces import SearchFilters
from paperfeed.search.semantic import EmbedderProvider, QueryVectorCache
from paperfeed.search.service import SearchService
from tests.integration.test_semantic import GESTURE_PAPER, PARAPHRASE, instance  # noqa: F401

QUERIES = [
    ("multimodal hand gesture recognition", {}),
    (PARAPHRASE, {}),
    ('"neural networks" -quantum', {}),
    ("language models", {"offset": 5, "limit": 7}),
    ("learning", {"sort": "date"}),
    ("learning", {"filters": SearchFilters(published_from=date(2020, 1, 1))}),
]


class ThreadRecordingEmbedder(MiniLMEmbedder):
    """The real model; remembers which threads embedded queries."""

    def __init__(self) -> None:
        super().__init__(max_length=64)
        self.threads: list[str] = []

    def embed_query(self, text: str):
        self.threads.append(threading.current_thread().name)
        return super().embed_query(text)


@pytest.fixture(scope="module")
def recording(instance):  # noqa: F811
    embedder = ThreadRecordingEmbedder()
    service = instance.service
    twin = SearchService(
        service.keyword,
        service.papers,
        vectors=service.vectors,
        embedder=EmbedderProvider.of(embedder),
        candidates=service.candidates,
        query_cache=QueryVectorCache(size=0),
    )
    return twin, embedder


@pytest.mark.parametrize(("query", "options"), QUERIES)
def test_overlapped_hybrid_equals_sequential(recording, query, options):
    service, _embedder = recording
    service.overlap_query_embedding = True
    overlapped = service.search(query, mode="hybrid", **options)
    service.overlap_query_embedding = False
    sequential = service.search(query, mode="hybrid", **options)
    service.overlap_query_embedding = True
    assert overlapped.mode == sequential.mode == "hybrid"
    assert [(i.arxiv_id, round(i.score, 9)) for i in overlapped.items] == [
        (i.arxiv_id, round(i.score, 9)) for i in sequential.items
    ]
    assert [i.highlighted_title for i in overlapped.items] == [i.highlighted_title for i in sequential.items]


def test_the_query_is_embedded_on_a_helper_thread_only_for_hybrid(recording):
    service, embedder = recording
    embedder.threads.clear()
    assert (
        service.search("multimodal hand gesture recognition", mode="hybrid").items[0].arxiv_id
        == GESTURE_PAPER
    )
    service.search("multimodal hand gesture recognition", mode="semantic")
    service.search("multimodal hand gesture recognition", mode="keyword")
    caller = threading.current_thread().name
    assert len(embedder.threads) == 2
    assert embedder.threads[0].startswith("query-embed") and embedder.threads[1] == caller
