"""HTML pages through the real ASGI app: every template renders, navigation, escaping, redirects.

Real instance (SQLite via Alembic, tantivy index, fixture data loaded by the real ingest code);
nothing is mocked.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from paperfeed.app import create_app


class _Outline(HTMLParser):
    """Collects headings, links and `rel=alternate` feeds of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.links: list[dict[str, str]] = []
        self.alternates: list[dict[str, str]] = []
        self.inputs: list[dict[str, str]] = []
        self.labels_for: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "a":
            self.links.append(attributes)
        elif tag == "link" and attributes.get("rel") == "alternate":
            self.alternates.append(attributes)
        elif tag == "input" and attributes.get("type") not in ("hidden", "radio", "submit"):
            self.inputs.append(attributes)
        elif tag == "label" and attributes.get("for"):
            self.labels_for.add(attributes["for"])


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def assert_well_formed_page(html: str) -> _Outline:
    """One h1, no skipped heading levels, every text input labelled."""
    page = outline(html)
    assert page.headings.count(1) == 1, page.headings
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        assert after <= before + 1, page.headings
    for field in page.inputs:
        assert field.get("id") in page.labels_for, field
    return page


def hrefs(page: _Outline, rel: str) -> list[str]:
    return [link["href"] for link in page.links if link.get("rel") == rel]


def card_ids(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title math" id="t-[^"]+">\s*<a href="/papers/([^"]+)"', html)


def upvote_counts(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="votes-count">(\d+)</span>', html)]


# --------------------------------------------------------------------------- listings


def test_home_is_the_latest_day(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "public" in response.headers["cache-control"]
    html = response.text
    assert "June 20, 2025" in html
    assert set(card_ids(html)) == {"2506.15154", "2506.14837"}
    page = assert_well_formed_page(html)
    assert {"type": "application/atom+xml", "href": "/feeds/daily.xml"}.items() <= page.alternates[0].items()
    assert 'href="/feeds/daily.xml"' in html  # visible link too
    assert client.get("/papers").text.count("2506.15154") == html.count("2506.15154")


def test_day_page_orders_by_upvotes_with_rank(client):
    response = client.get("/papers", params={"date": "2025-01-10"})
    assert response.status_code == 200
    html = response.text
    ids = card_ids(html)
    assert len(ids) == 9
    assert ids[0] == "2501.05441"
    votes = upvote_counts(html)
    assert votes[0] == 51
    assert votes == sorted(votes, reverse=True)
    assert ">#1<" in html and ">#9<" in html
    assert "Yiwen Huang" in html  # authors on the card
    assert 'href="/papers/week/2025-W02"' in html
    assert 'href="/papers/month/2025-01"' in html
    assert '<input id="date-input" type="date" name="date" value="2025-01-10"' in html
    assert_well_formed_page(html)


def test_previous_and_next_day_skip_empty_days(client):
    page = outline(client.get("/papers", params={"date": "2025-01-10"}).text)
    assert hrefs(page, "prev") == ["/papers?date=2025-01-02"]
    assert hrefs(page, "next") == ["/papers?date=2025-06-20"]

    latest = outline(client.get("/papers", params={"date": "2025-06-20"}).text)
    assert hrefs(latest, "prev") == ["/papers?date=2025-01-10"]
    assert hrefs(latest, "next") == []

    empty = client.get("/papers", params={"date": "2025-01-05"})  # a Sunday without papers
    assert empty.status_code == 200
    assert "No papers on this day" in empty.text
    nav = outline(empty.text)
    assert hrefs(nav, "prev") == ["/papers?date=2025-01-02"]
    assert hrefs(nav, "next") == ["/papers?date=2025-01-10"]


def test_day_paging(settings, engine, clock, keyword_index, loaded):
    small = settings.model_copy(update={"page_size": 4})
    app = create_app(small, clock=clock, engine=engine, keyword_index=keyword_index)
    with TestClient(app) as client:
        first = client.get("/papers", params={"date": "2025-01-10"}).text
        second = client.get("/papers", params={"date": "2025-01-10", "p": 1}).text
        past_end = client.get("/papers", params={"date": "2025-01-10", "p": 9})
    assert len(card_ids(first)) == 4 and ">#1<" in first
    assert hrefs(outline(first), "next")[-1] == "/papers?date=2025-01-10&p=1"
    assert ">#5<" in second and ">#1<" not in second
    assert not set(card_ids(first)) & set(card_ids(second))
    assert past_end.status_code == 200 and "No more papers" in past_end.text


def test_week_and_month_pages(client):
    week = client.get("/papers/week/2025-W02")
    assert week.status_code == 200
    assert "Week 2, 2025" in week.text
    assert card_ids(week.text)[0] == "2501.05441"
    nav = outline(week.text)
    # neighbours are the nearest weeks with papers (2025-01-02 and 2025-06-20)
    assert hrefs(nav, "prev") == ["/papers/week/2025-W01"]
    assert hrefs(nav, "next") == ["/papers/week/2025-W25"]
    assert 'href="/papers?date=2025-01-10"' in week.text  # the day strip links days with papers
    assert_well_formed_page(week.text)

    month = client.get("/papers/month/2025-01")
    assert month.status_code == 200
    assert "January 2025" in month.text
    ids = card_ids(month.text)
    assert len(ids) == 12
    assert upvote_counts(month.text) == sorted(upvote_counts(month.text), reverse=True)
    month_nav = outline(month.text)
    assert hrefs(month_nav, "prev") == []  # nothing before January 2025 in the fixtures
    assert hrefs(month_nav, "next") == ["/papers/month/2025-06"]
    assert 'href="/papers/week/2025-W02"' in month.text
    assert_well_formed_page(month.text)

    assert client.get("/papers/week", follow_redirects=False).headers["location"] == "/papers/week/2025-W25"
    assert client.get("/papers/month", follow_redirects=False).headers["location"] == "/papers/month/2025-06"


@pytest.mark.parametrize(
    "url",
    [
        "/papers?date=2025-13-45",
        "/papers?date=garbage",
        "/papers?date=2025-02-30",
        "/papers/week/2025-W99",
        "/papers/week/nope",
        "/papers/month/2025-13",
        "/search?q=x&mode=psychic",
        "/search?q=x&sort=random",
    ],
)
def test_bad_period_or_option_is_a_400_page(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "error-message" in response.text
    assert "Traceback" not in response.text
    assert_well_formed_page(response.text)


def test_bad_date_message_is_shown(client):
    response = client.get("/papers", params={"date": "2025-13-45"})
    assert "invalid date" in response.text and "2025-13-45" in response.text


def test_trending_page_shows_formula_and_staleness(client, settings):
    response = client.get("/papers/trending")
    assert response.status_code == 200
    html = response.text
    assert "score = upvotes / (age_hours + 2.0)<sup>1.8</sup>" in html
    assert f"last {settings.trending_window_days} days" in html
    # the fixture data ends on 2025-06-20, the test clock is in 2026: trending is stale
    assert "No new papers in the last 7 days; trending as of Jun 20, 2025" in html
    assert set(card_ids(html)) == {"2506.15154", "2506.14837"}
    page = assert_well_formed_page(html)
    assert page.alternates[0]["href"] == "/feeds/trending.xml"
    assert "cache-control" in response.headers


# --------------------------------------------------------------------------- paper page


def test_paper_page_shows_everything(client):
    api = client.get("/api/papers/2501.05441").json()
    response = client.get("/papers/2501.05441")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    html = response.text
    assert "The GAN is dead; long live the GAN! A Modern GAN Baseline" in html
    for author in api["authors"]:
        assert author["name"] in html
    assert 'href="https://arxiv.org/abs/2501.05441"' in html
    assert 'href="https://arxiv.org/pdf/2501.05441"' in html
    assert 'href="/papers?date=2025-01-10"' in html  # the day it was featured
    assert 'href="/papers/2501.05441.md"' in html
    assert '<span class="votes-count">51</span>' in html
    assert "4 comments" in html
    assert api["summary"].split()[0] in html
    assert "Published" in html
    assert_well_formed_page(html)


def test_paper_page_with_keywords_and_ai_summary(client):
    api = client.get("/api/papers/2506.15154").json()
    html = client.get("/papers/2506.15154").text
    assert api["ai_keywords"]
    for keyword in api["ai_keywords"]:
        assert f">{keyword}</a>" in html
    assert "AI-generated summary" in html


def test_github_repo_on_card_and_paper_page(client):
    repo = "https://github.com/XiaoduoAILab/Xmodel-2"
    day = client.get("/papers", params={"date": "2025-01-02"}).text
    assert f'href="{repo}"' in day and "XiaoduoAILab/Xmodel-2" in day
    assert f'href="{repo}"' in client.get("/papers/2412.19638").text


def test_paper_with_long_author_list_shows_all_authors(client):
    api = client.get("/api/papers/2412.19723").json()  # 15 authors
    assert len(api["authors"]) > 6
    paper_html = client.get("/papers/2412.19723").text
    for author in api["authors"]:
        assert author["name"] in paper_html
    day_html = client.get("/papers", params={"date": "2025-01-02"}).text
    assert f"+{len(api['authors']) - 6} more" in day_html  # collapsed on the card


def test_snapshot_paper_without_feed_entry_shows_categories(client):
    # a paper from the arXiv snapshot that was never featured still has a page
    api = client.get("/api/papers/1812.06145").json()
    html = client.get("/papers/1812.06145").text
    assert "Not featured yet" in html
    assert api["categories"]
    for category in api["categories"]:
        assert f'<li class="chip">{category}</li>' in html
    assert_well_formed_page(html)


def test_versioned_id_redirects_to_canonical_url(client):
    response = client.get("/papers/2501.05441v2", follow_redirects=False)
    assert response.status_code in (301, 308)
    assert response.headers["location"] == "/papers/2501.05441"
    md = client.get("/papers/2501.05441v1.md", follow_redirects=False)
    assert md.status_code in (301, 308)
    assert md.headers["location"] == "/papers/2501.05441.md"
    assert client.get("/papers/arXiv:2501.05441", follow_redirects=False).headers["location"] == (
        "/papers/2501.05441"
    )


def test_markdown_version(client, settings):
    response = client.get("/papers/2501.05441.md")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    body = response.text
    assert body.startswith("# The GAN is dead")
    assert "https://arxiv.org/abs/2501.05441" in body
    assert f"{settings.base_url.rstrip('/')}/papers/2501.05441" in body
    assert "2025-01-10" in body


@pytest.mark.parametrize(
    "path", ["/papers/2501.99999", "/papers/not-an-id", "/papers/2501.99999.md", "/no/such/page"]
)
def test_unknown_paper_or_page_is_a_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text
    assert_well_formed_page(response.text)


# --------------------------------------------------------------------------- search


def test_search_with_hits_highlights_matches(client):
    response = client.get("/search", params={"q": "GAN baseline"})
    assert response.status_code == 200
    html = response.text
    assert card_ids(html)[0] == "2501.05441"
    assert "<b>GAN</b>" in html
    assert re.search(r"\d+ results?|Results \d+–\d+", html)
    page = assert_well_formed_page(html)
    feed = [a["href"] for a in page.alternates if a["type"] == "application/atom+xml"]
    assert feed and unquote(feed[0].replace("+", " ")) == "/feeds/search.xml?q=GAN baseline"
    assert 'value="GAN baseline"' in html  # the query stays in the box


def test_search_without_hits(client):
    html = client.get("/search", params={"q": "zzqxv nonexistentterm"}).text
    assert "No results for" in html
    assert card_ids(html) == []


def test_empty_search_is_just_the_search_box(client):
    response = client.get("/search")
    assert response.status_code == 200
    html = response.text
    assert '<input id="q" type="search" name="q"' in html
    assert "No results" not in html and card_ids(html) == []
    assert not [a for a in outline(html).alternates if "search.xml" in a["href"]]
    assert_well_formed_page(html)


def test_search_mode_note_when_mode_differs(client, app):
    html = client.get("/search", params={"q": "GAN", "mode": "semantic"}).text
    used = app.state.services.search.search("GAN", mode="semantic").mode
    assert ("isn’t available on this instance" in html) == (used != "semantic")
    assert 'value="semantic" checked' in html


@pytest.mark.parametrize(
    "query",
    [
        '"mixture of experts',
        "title:GAN",
        "[GAN]",
        "AND(",
        "' OR 1=1 --",
        "GAN) OR (1",
        "{}\\^~*?",
        "🙂 GAN",
        "a" * 2000,
        "%00",
        "<b>GAN</b>",
    ],
)
def test_odd_queries_render(client, query):
    response = client.get("/search", params={"q": query})
    assert response.status_code == 200
    assert "Traceback" not in response.text


def test_search_query_is_escaped(client):
    payload = "<script>alert(1)</script>"
    response = client.get("/search", params={"q": payload})
    assert response.status_code == 200
    assert payload not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    attribute = client.get("/search", params={"q": '"><img src=x onerror=alert(1)>'}).text
    assert "<img src=x" not in attribute


def test_search_paging_links(client):
    html = client.get("/search", params={"q": "model", "sort": "date"}).text
    page = outline(html)
    if hrefs(page, "next"):
        assert "p=1" in hrefs(page, "next")[-1] and "sort=date" in hrefs(page, "next")[-1]
        second = client.get(hrefs(page, "next")[-1]).text
        assert not set(card_ids(html)) & set(card_ids(second))


# --------------------------------------------------------------------------- empty instance, assets


def test_empty_instance_home_explains_how_to_load_data(settings, engine, clock, keyword_index):
    app = create_app(settings, clock=clock, engine=engine, keyword_index=keyword_index)
    with TestClient(app) as client:
        for url in ("/", "/papers"):
            response = client.get(url)
            assert response.status_code == 200
            assert "paperfeed demo" in response.text
            assert "paperfeed ingest" in response.text
            assert_well_formed_page(response.text)
        assert client.get("/papers/trending").status_code == 200
        assert client.get("/papers/week/2025-W02").status_code == 200
        assert client.get("/search", params={"q": "anything"}).status_code == 200


def test_static_assets_are_served_without_cdn(client):
    html = client.get("/").text
    css = re.search(r'href="(/static/site\.css\?v=[0-9a-f]+)"', html).group(1)
    js = re.search(r'src="(/static/site\.js\?v=[0-9a-f]+)"', html).group(1)
    assert client.get(css).status_code == 200
    assert client.get(js).status_code == 200
    katex = re.search(r'data-katex-js="([^"]+)"', html).group(1)
    assert client.get(katex).status_code == 200
    assert client.get(re.search(r'data-katex-css="([^"]+)"', html).group(1)).status_code == 200
    assert client.get("/static/vendor/katex/fonts/KaTeX_Main-Regular.woff2").status_code == 200
    assert "https://" not in re.sub(r'href="https://arxiv\.org"', "", html.split("<body>")[0])


def test_anonymous_listing_pages_are_cached_until_the_data_changes(client, loaded, tmp_path):
    import json

    url = "/papers?date=2025-01-10"
    first = client.get(url)
    assert first.status_code == 200 and "set-cookie" not in first.headers
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url).text == first.text
    day_file = tmp_path / "2025-01-10.json"
    day_file.write_text(
        json.dumps([{"paper": {"id": "2501.05441", "title": "GAN", "upvotes": 777, "authors": []}}])
    )
    loaded("hf-daily", day_file)
    fresh = client.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and ">777<" in fresh.text.replace(" ", "")
