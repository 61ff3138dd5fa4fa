"""User text → safe tantivy query strings."""

from __future__ import annotations

import pytest

from paperfeed.search.query import build_query_string


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("value networks", "value networks"),
        ('"reinforcement learning" agents', '"reinforcement learning" agents'),
        ("diffusion -video", "diffusion -video"),
        ("title:foo", "title foo"),
        ("AND( [x TO y]", "and x to y"),
        ("' OR 1=1 --", "or 1 1"),
        ("GPT-4o vs. C++", "gpt 4o vs c"),
        ('"unbalanced quote', "unbalanced quote"),
        ("-", ""),
        ("-only", ""),
        ("   ", ""),
        ("***", ""),
        ("Über Straße", "über straße"),
    ],
)
def test_build_query_string(text, expected):
    assert build_query_string(text) == expected


def test_query_is_cut_to_max_chars():
    assert build_query_string("a" * 300 + " tail", max_chars=250) == "a" * 250


def test_single_word_phrase_is_a_word():
    assert build_query_string('"transformer"') == "transformer"
