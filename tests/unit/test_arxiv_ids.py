"""normalize_arxiv_id / is_arxiv_id: every accepted spelling maps to the bare, version-less id."""

from __future__ import annotations

import pytest

from paperfeed.arxiv_ids import is_arxiv_id, normalize_arxiv_id
from paperfeed.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # new style, 4- and 5-digit numbers
        ("2403.01234", "2403.01234"),
        ("0704.0001", "0704.0001"),
        ("1501.00001", "1501.00001"),
        ("2506.15154", "2506.15154"),
        # versioned
        ("2403.01234v1", "2403.01234"),
        ("2403.01234v2", "2403.01234"),
        ("2403.01234v12", "2403.01234"),
        # surrounding whitespace (pasted ids)
        ("  2403.01234v2 \n", "2403.01234"),
    ],
)
def test_new_style_ids(raw, expected):
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("math.GT/0309136v1", "math.GT/0309136"),
        ("cond-mat/0102536v3", "cond-mat/0102536"),
        ("quant-ph/0201082", "quant-ph/0201082"),
    ],
)
def test_old_style_ids(raw, expected):
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("arXiv:2403.01234", "2403.01234"),
        ("arXiv:2403.01234v3", "2403.01234"),
        ("arxiv:2403.01234", "2403.01234"),
        ("ARXIV:2403.01234", "2403.01234"),
        ("arXiv:hep-th/9901001v2", "hep-th/9901001"),
        ("arXiv:math.GT/0309136", "math.GT/0309136"),
    ],
)
def test_arxiv_prefix(raw, expected):
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://arxiv.org/abs/2403.01234", "2403.01234"),
        ("https://arxiv.org/abs/2403.01234v2", "2403.01234"),
        ("http://arxiv.org/abs/2403.01234v2", "2403.01234"),
        ("https://arxiv.org/abs/2403.01234/", "2403.01234"),
        ("arxiv.org/abs/2403.01234", "2403.01234"),
        ("https://www.arxiv.org/abs/0704.0001", "0704.0001"),
        ("https://export.arxiv.org/abs/2403.01234v1", "2403.01234"),
        ("http://export.arxiv.org/abs/hep-th/9901001", "hep-th/9901001"),
        ("https://arxiv.org/pdf/2403.01234", "2403.01234"),
        ("https://arxiv.org/pdf/2403.01234.pdf", "2403.01234"),
        ("https://arxiv.org/pdf/2403.01234v2", "2403.01234"),
        ("https://arxiv.org/pdf/2403.01234v2.pdf", "2403.01234"),
        ("http://arxiv.org/pdf/2403.01234v2.PDF", "2403.01234"),
        ("https://arxiv.org/pdf/hep-th/9901001v2.pdf", "hep-th/9901001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math.GT/0309136"),
        ("https://arxiv.org/html/2506.14837v1", "2506.14837"),
        ("HTTPS://ARXIV.ORG/ABS/2403.01234", "2403.01234"),
        ("https://arxiv.org/abs/arXiv:2403.01234v2", "2403.01234"),
        # copied from a browser: query string or fragment after the id
        ("https://arxiv.org/abs/2403.01234?context=cs.LG", "2403.01234"),
        ("https://arxiv.org/abs/2403.01234v2#S3", "2403.01234"),
        ("https://arxiv.org/pdf/2403.01234v2.pdf?download=1", "2403.01234"),
    ],
)
def test_urls(raw, expected):
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "garbage",
        "2403.123",  # too few digits
        "2403.012345",  # too many digits
        "12345.6789",
        "2403-01234",
        "2403.01234v",  # version marker without a number
        "2403.01234v2x",
        "hep-th/990100",  # old style needs 7 digits
        "hep-th/99010011",
        "Hep-Th/9901001",
        "math.gt/0309136",  # old-style subject class is upper case
        "/9901001",
        "https://example.com/abs/2403.01234",
        "https://arxiv.org/list/cs.CL/new",
        "https://arxiv.org/abs/",
        "doi:10.1103/PhysRevD.76.013009",
    ],
)
def test_garbage_is_invalid_input(raw):
    with pytest.raises(InvalidInput) as info:
        normalize_arxiv_id(raw)
    message = info.value.message
    assert message.startswith("not an arXiv id: ")
    assert "\n" not in message
    assert repr(raw) in message
    assert info.value.code == "invalid_input"
    assert info.value.http_status == 422
    assert is_arxiv_id(raw) is False


def test_none_is_invalid_input():
    with pytest.raises(InvalidInput, match="not an arXiv id"):
        normalize_arxiv_id(None)  # type: ignore[arg-type]


def test_error_message_is_one_short_line_for_long_multiline_input():
    raw = "line one\nline two\n" * 40
    with pytest.raises(InvalidInput) as info:
        normalize_arxiv_id(raw)
    message = info.value.message
    assert "\n" not in message
    assert message.endswith("...'")
    assert len(message) < 120


def test_is_arxiv_id_accepts_every_valid_spelling():
    for raw in (
        "2403.01234",
        "2403.01234v2",
        "arXiv:hep-th/9901001",
        "https://arxiv.org/pdf/2403.01234v2.pdf",
    ):
        assert is_arxiv_id(raw) is True


def test_normalisation_is_idempotent():
    for raw in ("2403.01234v2", "https://arxiv.org/abs/hep-th/9901001v2", "arXiv:math.GT/0309136v1"):
        once = normalize_arxiv_id(raw)
        assert normalize_arxiv_id(once) == once
