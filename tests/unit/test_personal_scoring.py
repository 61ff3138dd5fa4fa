"""Pure parts of personalisation: follow validation and the per-paper For you terms."""

from __future__ import annotations

import numpy as np
import pytest

from paperfeed.community.follows import KNOWN_CATEGORIES, normalize_category, validate
from paperfeed.errors import InvalidInput
from paperfeed.papers.models import PaperItem
from paperfeed.personal.recommend import WEIGHTS, RecommendationService, _unit


def item(arxiv_id: str, categories: list[str], authors: list[str]) -> PaperItem:
    return PaperItem(
        id=1,
        arxiv_id=arxiv_id,
        title="t",
        abstract="a",
        authors=authors,
        categories=categories,
        published_at=None,
        upvotes=0,
        num_comments=0,
    )


def test_known_categories_cover_the_taxonomy_shapes():
    assert {
        "cs.LG",
        "math.AP",
        "hep-th",
        "astro-ph.CO",
        "cond-mat.stat-mech",
        "q-bio.NC",
        "eess.IV",
    } <= KNOWN_CATEGORIES
    assert normalize_category("ASTRO-PH.co") == "astro-ph.CO"
    for bad in ("", "cs", "cs.", "cs.ZZ", "foo.bar", "cs.LG cs.AI", "x" * 500):
        with pytest.raises(InvalidInput):
            normalize_category(bad)


def test_validate():
    assert validate("Category", "cs.lg") == ("category", "cs.LG", None)
    assert validate("author", "  Jane \n Doe ") == ("author", "Jane Doe", None)
    assert validate("query", "diffusion  models") == ("query", "diffusion models", "hybrid")
    assert validate("query", "x", "Semantic") == ("query", "x", "semantic")
    assert validate("author", "a" * 200)[1] == "a" * 200
    for args in (
        ("author", "a" * 201),
        ("query", "q" * 251),
        ("query", "q", "regex"),
        ("topic", "x"),
        ("author", ""),
    ):
        with pytest.raises(InvalidInput):
            validate(*args)


def test_category_term_names_the_first_followed_category_of_the_paper():
    follows = [{"kind": "category", "value": "cs.AI"}, {"kind": "category", "value": "cs.CL"}]
    items = [item("1", ["cs.CL", "cs.AI"], []), item("2", ["cs.CV"], []), item("3", ["stat.ML", "cs.AI"], [])]
    assert RecommendationService._category_terms(items, follows) == [
        (1.0, "because you follow cs.CL"),
        (0.0, ""),
        (1.0, "because you follow cs.AI"),
    ]


def test_author_term_matches_case_insensitively_and_shows_the_followed_spelling():
    follows = [{"kind": "author", "value": "yann lecun"}, {"kind": "category", "value": "cs.LG"}]
    items = [item("1", [], ["Y. Bengio", "Yann LeCun"]), item("2", [], ["Yann Le Cun"])]
    assert RecommendationService._author_terms(items, follows) == [
        (1.0, "because you follow yann lecun"),
        (0.0, ""),
    ]


def test_weights_order_the_reasons():
    # an author match beats a category match; similarity (up to 2.0) beats both at high cosine
    assert (
        WEIGHTS["similar"]
        > WEIGHTS["author"]
        > WEIGHTS["search"]
        > WEIGHTS["category"]
        > WEIGHTS["popularity"]
    )
    # popularity alone can never outrank a category match
    assert WEIGHTS["popularity"] < WEIGHTS["category"]


def test_unit_rows_and_zero_rows():
    rows = _unit(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])
