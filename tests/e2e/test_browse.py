"""Browsing in a real Chromium: days, weeks, months, trending, a paper page with math, search,
dark mode and a 360-px phone."""

from __future__ import annotations

import re

from tests.e2e.conftest import PHONE, new_context

LATEST_DAY = "2026-08-21"  # the last feed day of the demo data (the submit flow may add "today")
MATH_PAPER = "2503.11945"  # from the test snapshot; its abstract has $W_*$ and $99\\%$


def card_titles(page) -> list[str]:
    return page.locator("article.card h2 a").all_inner_texts()


def test_home_is_the_latest_day_and_day_navigation_works(page, site):
    page.goto("/")
    latest = site.services.papers.resolve_period().start  # Aug 21, or today once a paper was submitted
    assert page.locator("h1").inner_text() == f"{latest:%A, %B} {latest.day}, {latest.year}"
    assert page.locator("article.card").count() >= 1

    page.goto(f"/papers?date={LATEST_DAY}")
    assert page.locator("h1").inner_text() == "Friday, August 21, 2026"
    first_day = card_titles(page)
    assert len(first_day) >= 5
    assert page.locator("article.card").first.locator(".votes-count").inner_text().isdigit()

    page.get_by_role("link", name=re.compile(r"previous day")).click()
    page.wait_for_url(re.compile(r"/papers\?date=2026-08-2\d$"))
    assert "August 21" not in page.locator("h1").inner_text()
    assert card_titles(page) and card_titles(page) != first_day

    page.get_by_role("link", name=re.compile(r"next day")).click()
    page.wait_for_url(f"**/papers?date={LATEST_DAY}")
    assert card_titles(page) == first_day


def test_date_picker_jumps_to_a_day(page):
    page.goto("/")
    page.fill("#date-input", "2026-07-15")
    page.get_by_role("button", name="Go").click()
    page.wait_for_url("**/papers?date=2026-07-15")
    assert "July 15, 2026" in page.locator("h1").inner_text()
    # the strip shows the week's days with paper counts, linking days that have papers
    strip = page.locator("ol.strip li")
    assert strip.count() == 7
    assert page.locator("ol.strip a.strip-cell .strip-count").first.inner_text().strip()[0].isdigit()


def test_week_and_month_views(page):
    page.goto(f"/papers?date={LATEST_DAY}")
    page.locator(".view-switch").get_by_role("link", name="Week").click()
    page.wait_for_url("**/papers/week/2026-W34")
    assert page.locator("h1").inner_text() == "Week 34, 2026"
    assert len(card_titles(page)) > 10
    page.locator(".view-switch").get_by_role("link", name="Month").click()
    page.wait_for_url("**/papers/month/2026-08")
    assert page.locator("h1").inner_text() == "August 2026"
    assert len(card_titles(page)) >= 20


def test_trending(page):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trending").click()
    page.wait_for_url("**/papers/trending")
    assert len(card_titles(page)) >= 5
    assert page.locator("[aria-current=page]", has_text="Trending").count() == 1


def test_open_a_paper_and_math_is_typeset(page):
    page.goto("/")
    first = page.locator("article.card h2 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/papers/\d{4}\.\d{4,5}$"))
    assert page.locator("h1").inner_text() == title
    assert page.locator(".abstract p").first.inner_text()

    page.goto(f"/papers/{MATH_PAPER}")
    page.locator(".abstract .katex").first.wait_for()
    assert "$W_" not in page.locator(".abstract").inner_text()


def test_keyword_search_from_the_header(page):
    page.goto("/")
    page.fill("#header-q", "video generation")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=video"))
    titles = card_titles(page)
    assert titles
    assert page.locator("article.card mark, article.card b").count() > 0  # highlights
    assert page.locator("#q").input_value() == "video generation"


def test_dark_mode_has_a_dark_background(browser, site):
    context = new_context(browser, site, color_scheme="dark")
    try:
        page = context.new_page()
        for path in ("/", f"/papers/{MATH_PAPER}"):
            page.goto(path)
            rgb = page.evaluate("getComputedStyle(document.body).backgroundColor")
            r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
            assert r + g + b < 120, rgb
            text = page.evaluate("getComputedStyle(document.body).color")
            assert sum(int(x) for x in re.findall(r"\d+", text)[:3]) > 500, text
    finally:
        context.close()


def test_phone_viewport_has_no_horizontal_scroll(browser, site):
    context = new_context(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        for path in (
            "/",
            "/papers/week/2026-W34",
            "/papers/trending",
            f"/papers/{MATH_PAPER}",
            "/search?q=agents",
        ):
            page.goto(path)
            page.wait_for_load_state("load")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path}: page is {width}px wide"
        # the header is usable: the search box can be reached and used
        page.goto("/")
        search = page.locator("#header-q")
        assert search.is_visible()
        search.fill("diffusion")
        search.press("Enter")
        page.wait_for_url(re.compile(r"/search\?q=diffusion"))
        assert card_titles(page)
    finally:
        context.close()
