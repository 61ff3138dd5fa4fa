"""OAI-PMH parsing: both arXiv metadata formats, deleted records, tokens and error answers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from paperfeed.ingest.oai_pmh import (
    OaiBadResponse,
    OaiProtocolError,
    parse_page,
    split_authors,
)
from paperfeed.ingest.polite_http import retry_after_seconds
from tests.conftest import FIXTURES
from tests.oai_server import raw_pages

OAI = FIXTURES / "oai_pmh"


def test_arxiv_raw_page_fields_exact():
    page = parse_page((OAI / "saelim_ListRecordsResponse.xml").read_bytes())
    assert [r.record.arxiv_id for r in page.records] == [
        "0704.0471",
        "0704.0716",
        "0704.0874",
        "0704.1109",
        "0704.1114",
        "0704.1586",
    ]
    assert page.token == "726959|1001"
    assert page.complete_list_size == 58011
    assert page.cursor == 0
    first = page.records[0]
    record = first.record
    assert first.datestamp == date(2014, 11, 18)
    assert first.is_new is True
    assert record.title == (
        "Density dependence of the symmetry energy and the nuclear equation of state: "
        "A Dynamical and Statistical model perspective"
    )
    assert record.authors == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert record.categories == ["nucl-ex", "nucl-th"]
    assert record.submitter == "Dinesh Shetty"
    assert record.comments == "16 pages, 14 figures"
    assert record.journal_ref == "Phys.Rev.C76:024606,2007; Erratum-ibid.C76:039902,2007"
    assert record.doi == "10.1103/PhysRevC.76.024606"  # the first of two
    assert record.published_at == datetime(2007, 4, 3, 22, 4, 11)
    assert record.updated_at is None
    assert record.latest_version == 1
    assert record.license is None
    assert record.abstract.startswith(
        "The density dependence of the symmetry energy in the equation of state of"
    )
    assert 'extremely " stiff " and " soft " form' in record.abstract
    assert len(record.record_hash) == 32

    four_versions = page.records[1]
    assert four_versions.is_new is False
    assert four_versions.record.latest_version == 4
    assert four_versions.record.published_at == datetime(2007, 4, 5, 12, 45, 3)
    assert four_versions.record.updated_at == datetime(2008, 11, 14, 9, 7, 25)
    assert four_versions.record.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert four_versions.record.categories == ["math-ph", "math.MP"]
    assert page.records[3].record.authors == ["Valeria M. Rosa", "Patricio S. letelier"]


def test_arxiv_format_fields_exact():
    page = parse_page((OAI / "hepcrawl_arxiv-physics-hep-ex.xml").read_bytes())
    assert page.token is None
    assert len(page.records) == 3
    record = page.records[1].record
    assert record.arxiv_id == "1706.09418"
    assert record.title == "R-Parity Violation at the LHC"
    assert record.authors == [
        "Daniel Dercks",
        "Herbi Dreiner",
        "Manuel E. Krauss",
        "Toby Opferkuch",
        "Annika Reinert",
    ]
    assert record.categories == ["hep-ph", "hep-ex"]
    assert record.published_at == datetime(2017, 6, 28)
    assert record.updated_at == datetime(2017, 11, 26)
    assert record.doi == "10.1140/epjc/s10052-017-5414-4"
    assert record.journal_ref == "Eur. Phys. J. C (2017) 77:856"
    assert record.report_no == "BONN-TH-2017-03"
    assert record.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert record.latest_version is None
    assert page.records[1].is_new is False
    assert page.records[1].datestamp == date(2017, 12, 14)


def test_get_record_with_two_versions():
    page = parse_page((OAI / "saelim_GetRecordResponse.xml").read_bytes())
    (item,) = page.records
    assert item.record.arxiv_id == "1302.2146"
    assert item.record.authors == ["Joshua Berger", "Maxim Perelstein", "Michael Saelim", "Philip Tanedo"]
    assert item.record.published_at == datetime(2013, 2, 8, 21, 0, 1)
    assert item.record.updated_at == datetime(2013, 4, 2, 1, 50, 8)
    assert item.record.latest_version == 2


def test_deleted_records_are_skipped_and_counted():
    last = parse_page(raw_pages()[2])
    assert [r.record.arxiv_id for r in last.records] == ["0704.1114", "0704.1586"]
    assert last.deleted == 1
    assert last.token is None  # empty token: the last page


def test_no_records_match_is_an_empty_final_page():
    page = parse_page((OAI / "saelim_ErrorResponseNoRecordsMatch.xml").read_bytes())
    assert page.records == [] and page.token is None and page.deleted == 0


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("saelim_ErrorResponseBadArgument.xml", "badArgument"),
        ("saelim_ErrorResponseBadResumptionToken.xml", "badResumptionToken"),
        ("saelim_ErrorResponseBadVerb.xml", "badVerb"),
        ("saelim_ErrorResponseIdDoesNotExist.xml", "idDoesNotExist"),
    ],
)
def test_oai_error_codes_become_domain_errors(name, code):
    with pytest.raises(OaiProtocolError) as info:
        parse_page((OAI / name).read_bytes())
    assert info.value.oai_code == code
    assert info.value.message.startswith(f"OAI-PMH error {code}: ")


@pytest.mark.parametrize(
    "body",
    [
        b"<OAI-PMH><ListRecords><record>",
        b"<!DOCTYPE html><html><body>down</body></html>",
        b"<?xml version='1.0'?><rss/>",
        b"",
    ],
)
def test_malformed_answers_are_bad_responses(body):
    with pytest.raises(OaiBadResponse):
        parse_page(body)


def test_split_authors_keeps_affiliation_commas_together():
    assert split_authors("A. One (Univ X, Y), B. Two, and C. Three") == [
        "A. One (Univ X, Y)",
        "B. Two",
        "C. Three",
    ]
    assert split_authors("  ") == []


def test_retry_after_seconds_or_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
