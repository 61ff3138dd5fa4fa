"""Comment markdown rendering: XSS payloads come out inert, allowed markdown works, TeX math survives."""

from __future__ import annotations

import re

import pytest

from paperfeed.community.markdown import render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '<div onmouseover="alert(1)">hover</div>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    '[x](https://ok.example "title" onclick="alert(1)")',
    "<style>body{display:none}</style>",
    "$<script>alert(1)</script>$",
    "$$</p><script>alert(1)</script>$$",
    "[$x$](javascript:alert(1))",
    "[a](http://x/$a$)",
]


def _tags(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*([a-zA-Z0-9]+)", html)}


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_inert(payload):
    html = render_markdown(payload)
    assert _tags(html) <= {"p", "a", "em", "strong", "code"}, html
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<iframe" not in lowered
    assert "<svg" not in lowered and "<style" not in lowered
    assert not re.search(r"<[^>]*\son\w+\s*=", lowered), html  # no event-handler attribute in any tag
    for href in re.findall(r'<a\s[^>]*href="([^"]*)"', html):  # links that are real tags
        assert href.lower().startswith(("http://", "https://", "mailto:")), html


def test_raw_html_is_shown_as_text():
    assert render_markdown("<b>bold</b> & more") == "<p>&lt;b&gt;bold&lt;/b&gt; &amp; more</p>"


def test_allowed_markdown_renders():
    html = render_markdown(
        "Some *emphasis*, **strong**, `code` and ~~gone~~.\n\n"
        "> quoted\n\n- one\n- two\n\n1. first\n\n```\nx = 1 < 2\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n[site](https://example.org/path?q=1)"
    )
    for fragment in (
        "<em>emphasis</em>",
        "<strong>strong</strong>",
        "<code>code</code>",
        "<s>gone</s>",
        "<blockquote>",
        "<ul>",
        "<ol>",
        "<pre><code>x = 1 &lt; 2",
        "<table>",
        "<td>2</td>",
        '<a href="https://example.org/path?q=1" rel="nofollow noopener ugc">site</a>',
    ):
        assert fragment in html, (fragment, html)


def test_links_get_rel_and_only_absolute_safe_schemes():
    html = render_markdown("[mail](mailto:a@example.org) [rel](/papers/1) <https://auto.example>")
    assert '<a href="mailto:a@example.org" rel="nofollow noopener ugc">mail</a>' in html
    assert 'href="/papers/1"' not in html
    assert '<a href="https://auto.example" rel="nofollow noopener ugc">' in html


def test_inline_and_display_math_survive_unchanged():
    source = r"Loss $L = \sum_i a_i * b_i$ and $$\int_0^1 f(x)_{k} \, dx$$ also \(x_1 * y_2\)."
    html = render_markdown(source)
    assert r"$L = \sum_i a_i * b_i$" in html
    assert r"$$\int_0^1 f(x)_{k} \, dx$$" in html
    assert r"\(x_1 * y_2\)" in html
    assert "<em>" not in html


def test_math_is_html_escaped():
    html = render_markdown("$a<b & c>d$")
    assert "$a&lt;b &amp; c&gt;d$" in html


def test_dollar_amounts_are_not_math():
    assert render_markdown("costs $5 and *then* $10") == "<p>costs $5 and <em>then</em> $10</p>"


def test_private_use_markers_cannot_be_injected():
    html = render_markdown("\ue0000\ue001 $x$")
    assert "\ue000" not in html and "\ue001" not in html
    assert "$x$" in html


def test_empty_and_whitespace():
    assert render_markdown("") == ""
    assert render_markdown("   \n ") == ""
