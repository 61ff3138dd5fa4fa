"""The arXiv Atom parser on real recorded answers (newer 2025 format) and the documented error shape."""

from __future__ import annotations

from datetime import datetime

import pytest

from paperfeed.ingest.arxiv_api import ArxivBadResponse, ArxivInvalidId, parse_feed
from tests.arxiv_server import ERROR_FEED, FIXTURE_DIR


def _read(name: str) -> bytes:
    return (FIXTURE_DIR / name).read_bytes()


def test_query_answer_has_ten_entries_with_full_metadata():
    feed = parse_feed(_read("rsxiv_query_electron_proton.xml"))
    assert feed.total_results == 7432 and feed.start_index == 0
    assert len(feed.entries) == 10
    ids = [e.record.arxiv_id for e in feed.entries]
    assert ids[0] == "nucl-ex/0408020" and ids[1] == "1309.4668" and "nucl-th/9910021" in ids
    first = feed.entries[0]
    record = first.record
    assert record.title.startswith("Two-photon exchange and elastic scattering of electrons/positrons")
    assert record.abstract.startswith("It has been suggested that two-photon exchange")  # stripped
    assert record.authors[0] == "J. Arrington" and record.authors[-1] == "H. de Vries"
    assert len(record.authors) == 9
    assert record.categories == ["nucl-ex", "hep-ph"]  # primary first
    assert record.published_at == datetime(2004, 8, 18, 23, 13, 32)
    assert record.updated_at == datetime(2005, 9, 17, 15, 4, 24)
    assert record.comments.startswith("13 pages, 10 figures")
    assert record.latest_version == 1 and first.version == 1
    assert first.abs_url == "https://arxiv.org/abs/nucl-ex/0408020v1"
    assert first.pdf_url == "https://arxiv.org/pdf/nucl-ex/0408020v1"
    assert record.record_hash
    second = feed.entries[1].record
    assert second.doi == "10.5170/CERN-2013-002.237"
    assert second.journal_ref == "CERN Yellow Report CERN-2013-002, pp.237-240"
    versions = {e.record.arxiv_id: e.version for e in feed.entries}
    assert versions["1610.08734"] == 3 and versions["2102.00018"] == 2
    assert all(e.record.title and e.record.authors and e.record.published_at for e in feed.entries)


def test_partial_id_list_answer_keeps_the_one_known_paper():
    feed = parse_feed(_read("rsxiv_query_id_list_partial.xml"))
    assert feed.total_results == 1
    (entry,) = feed.entries
    record = entry.record
    assert record.arxiv_id == "2201.13452"
    assert record.title.startswith("Asymptotic Analysis for a Nonlinear Reaction-Diffusion System")
    assert record.authors == ["Hong-Ming Yin", "Jun Zou"]
    assert record.categories == ["math.AP"]
    assert record.published_at == datetime(2022, 1, 31, 18, 59, 34)
    assert record.comments == "34 pages"
    assert record.doi is None and record.journal_ref is None


def test_empty_answer_has_no_entries():
    feed = parse_feed(_read("rsxiv_query_empty.xml"))
    assert feed.total_results == 0 and feed.entries == []


def test_documented_error_entry_means_invalid_id():
    with pytest.raises(ArxivInvalidId, match="incorrect id format for notanid"):
        parse_feed(ERROR_FEED.replace("{id}", "notanid"))


@pytest.mark.parametrize(
    "body",
    [
        b"<!doctype html><html><body>Service unavailable</body></html>",
        b"",
        b"not xml at all",
        b"<?xml version='1.0'?><rss version='2.0'><channel/></rss>",
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed xmlns="http://www.w3.org/2005/Atom">&a;</feed>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/bogus</id></entry></feed>',
    ],
)
def test_malformed_answers_are_bad_responses(body):
    with pytest.raises(ArxivBadResponse):
        parse_feed(body)
