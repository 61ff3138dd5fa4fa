"""The tantivy keyword index kept in sync with the database (real SQLite, real index files)."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import update

from paperfeed.db.models import Paper
from paperfeed.db.sequences import next_change_seqs
from paperfeed.search.indexer import update_keyword_index
from paperfeed.search.interfaces import SearchFilters
from paperfeed.search.keyword import IndexBusy, TantivyKeywordIndex
from tests.conftest import FIXTURES


@pytest.fixture
def index(loaded, keyword_index):
    return keyword_index


def _ids(hits):
    return [h.arxiv_id for h in hits]


def test_bm25_with_stemming_finds_inflected_words(index):
    # "recognizing gestures" must match "Gesture Recognition" through the English stemmer
    hits = index.search("recognizing gestures", limit=5)
    assert "1812.06145" in _ids(hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_title_matches_outrank_abstract_matches(index):
    ranked = _ids(index.search("gesture recognition", limit=3))
    # both papers with "Gesture Recognition" in the title come before one that only mentions it
    assert set(ranked[:2]) == {"2503.12419", "1812.06145"}


def test_phrase_and_exclusion(index):
    phrase = _ids(index.search('"hand gesture recognition"', limit=20))
    assert "1812.06145" in phrase
    excluded = _ids(index.search("gesture recognition -multimodal", limit=20))
    assert "1812.06145" not in excluded


def test_highlight_escapes_html_and_marks_matches(index):
    html = index.highlight("gesture", "title", ["Hand <Gesture> & friends", "nothing here"])
    assert html[0] == "Hand &lt;<b>Gesture</b>&gt; &amp; friends"
    assert html[1] is None


def test_filters_by_category_and_date(index):
    everything = _ids(index.search("learning", limit=300))
    cv_only = _ids(index.search("learning", limit=300, filters=SearchFilters(categories=("cs.CV",))))
    assert cv_only and set(cv_only) < set(everything)
    recent = index.search("learning", limit=300, filters=SearchFilters(published_from=date(2025, 10, 1)))
    old = index.search("learning", limit=300, filters=SearchFilters(published_to=date(2025, 9, 30)))
    assert not set(_ids(recent)) & set(_ids(old))


def test_sort_by_date(index, engine):
    hits = index.search("learning", limit=50, sort="date")
    assert hits
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)  # day numbers


def test_incremental_update_follows_changes(index, engine):
    old_title = '"improving the performance of unimodal"'
    assert _ids(index.search(old_title, limit=3))[:1] == ["1812.06145"]
    with engine.begin() as conn:
        seq = next_change_seqs(conn, 1)[0]
        conn.execute(
            update(Paper.__table__)
            .where(Paper.__table__.c.arxiv_id == "1812.06145")
            .values(title="Zebra crossings for quokkas", change_seq=seq)
        )
    report = update_keyword_index(engine, index)
    assert report.indexed == 1 and not report.rebuilt
    assert _ids(index.search("quokkas", limit=5)) == ["1812.06145"]
    # the old title's words are gone from the index (its abstract does not hold this phrase)
    assert "1812.06145" not in _ids(index.search(old_title, limit=3))
    # hiding a paper removes it from the index
    with engine.begin() as conn:
        seq = next_change_seqs(conn, 1)[0]
        conn.execute(
            update(Paper.__table__)
            .where(Paper.__table__.c.arxiv_id == "1812.06145")
            .values(hidden=True, change_seq=seq)
        )
    update_keyword_index(engine, index)
    assert index.search("quokkas", limit=5) == []


def test_up_to_date_index_does_nothing(index, engine):
    assert update_keyword_index(engine, index).indexed == 0


def test_rebuild_swaps_generations_atomically(index, engine, settings):
    reader = TantivyKeywordIndex(settings.index_dir, refresh_seconds=0.0)
    before = reader.num_docs()
    old_generation = os.readlink(index.current_link)
    report = update_keyword_index(engine, index, rebuild=True)
    assert report.rebuilt and report.indexed >= before
    new_generation = os.readlink(index.current_link)
    assert new_generation != old_generation
    assert not (index.root / old_generation).exists()
    assert reader.num_docs() == before  # the reader reopened the new generation by itself
    assert set(_ids(reader.search("gesture recognition", limit=2))) == {"2503.12419", "1812.06145"}


def test_second_writer_is_refused_clearly(index, settings):
    generation = index.current_generation()
    first = index.open_writer(generation, heap_mb=16, threads=1)
    try:
        with pytest.raises(IndexBusy):
            index.open_writer(generation, heap_mb=16, threads=1)
    finally:
        first.close()


def test_empty_or_missing_index_returns_nothing(tmp_path):
    index = TantivyKeywordIndex(tmp_path / "nothing")
    assert index.search("anything", limit=5) == []
    assert index.num_docs() == 0
    assert index.highlight("x", "title", ["x"]) == [None]


def test_ingest_then_index_counts_match(ingest, keyword_index):
    ingest("hf-daily", FIXTURES / "hf_daily" / "2025-06-20.json")
    assert keyword_index.num_docs() == 2
    assert _ids(keyword_index.search("music captioning", limit=1)) == ["2506.15154"]
