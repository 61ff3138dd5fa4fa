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


def test_parse_user_query_drops_stop_words_but_not_from_phrases():
    from paperfeed.search.query import parse_user_query

    parsed = parse_user_query('Hacking in the Era of "state of the art" -survey')
    assert parsed.words == ["hacking", "era"]
    assert parsed.phrases == ["state of the art"]
    assert parsed.excluded == ["survey"]
    only_stop = parse_user_query("to be or not to be")
    assert only_stop.words == ["to", "be", "or", "not"]  # nothing else left: keep them
    assert parse_user_query("-x").empty
