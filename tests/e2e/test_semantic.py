"""Semantic and hybrid search in a real Chromium, with the real embedding model.

A small instance of its own (the 300-paper test snapshot, embedded at 64 tokens so it builds
in seconds) rather than the shared demo site, whose thousands of papers would take minutes to
embed on two cores.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

import pytest

from tests.conftest import FIXTURES, TEST_NOW
from tests.e2e.conftest import new_context
from tests.servers import serve_app

GESTURE_PAPER = "1812.06145"  # "Improving the Performance of Unimodal Dynamic Hand-Gesture Recognition ..."
PARAPHRASE = "classifying finger and palm motions using extra sensors only while fitting"


@pytest.fixture(scope="module")
def semantic_site(browser, tmp_path_factory):
    from paperfeed.app import create_app
    from paperfeed.clock import FixedClock
    from paperfeed.config import Settings
    from paperfeed.db.engine import get_engine, upgrade
    from paperfeed.ingest.service import ingest_file
    from paperfeed.search.embed import MiniLMEmbedder
    from paperfeed.search.indexer import update_keyword_index
    from paperfeed.search.keyword import TantivyKeywordIndex
    from paperfeed.search.semantic import EmbedderProvider
    from paperfeed.search.vector_indexer import update_vector_index
    from paperfeed.search.vectors import VectorIndex

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("e2e-semantic") / "var",
        secret_key="test-secret-key-not-for-production",
        embedding_max_tokens=64,
        vector_index_interval_seconds=0,
    )
    upgrade(settings)
    engine = get_engine(settings)
    clock = FixedClock(TEST_NOW)
    ingest_file(settings, engine, "arxiv-snapshot", FIXTURES / "snapshot_300.jsonl.gz", clock=clock)
    ingest_file(settings, engine, "hf-daily", FIXTURES / "hf_daily", clock=clock)
    keyword = TantivyKeywordIndex(settings.index_dir, refresh_seconds=0.0)
    update_keyword_index(engine, keyword)
    embedder = MiniLMEmbedder(max_length=64)
    vectors = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    update_vector_index(engine, vectors, embedder)
    app = create_app(
        settings,
        clock=clock,
        engine=engine,
        keyword_index=keyword,
        vector_index=vectors,
        embedder=EmbedderProvider.of(embedder),
    )
    with serve_app(app) as url:
        yield SimpleNamespace(url=url)
    engine.dispose()


@pytest.fixture
def semantic_page(browser, semantic_site):
    context = new_context(browser, semantic_site)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def result_ids(page) -> list[str]:
    hrefs = page.locator("article.card h2 a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return [href.rsplit("/", 1)[-1] for href in hrefs]


def test_a_paraphrase_is_found_by_meaning_not_by_words(semantic_page):
    page = semantic_page
    page.goto(f"/search?q={quote(PARAPHRASE)}&mode=keyword")
    assert GESTURE_PAPER not in result_ids(page)  # no shared words: BM25 can't find it

    # switch the mode with the page's own control, as a reader would
    page.get_by_role("radio", name="Semantic").check()
    page.locator("form.search-form button[type=submit]").click()
    page.wait_for_url("**mode=semantic**")
    assert "semantic search" in page.locator("main").inner_text()
    assert GESTURE_PAPER in result_ids(page)[:3]

    page.goto(f"/search?q={quote('multimodal hand gesture recognition')}")  # default mode: hybrid
    assert "hybrid search" in page.locator("main").inner_text()
    assert result_ids(page)[0] == GESTURE_PAPER
    assert page.locator("article.card h2 b, article.card h2 mark").count() >= 1  # keyword highlights


def test_paper_page_lists_similar_papers(semantic_page):
    page = semantic_page
    page.goto(f"/papers/{GESTURE_PAPER}")
    similar = page.locator("section.similar-papers li a")
    assert similar.count() >= 3
    assert GESTURE_PAPER not in similar.evaluate_all("links => links.map(a => a.getAttribute('href'))")
