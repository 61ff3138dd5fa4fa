"""The month calendar and listings in a real Chromium: the calendar works without JavaScript (day
page → calendar → previous month → a day), its counts match the listings, axe-core finds nothing
serious (light, dark, phone); "load more" typesets the math of the cards it adds."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import PHONE, axe_violations, describe_violations, new_context

DAY = "2026-08-20"
MATH = re.compile(r"(?<!\\)\$(?=[^\s$])((?:\\\$|[^$])+?)(?<=[^\s\\])\$(?!\d)")


def test_calendar_without_javascript(browser, site):
    context = new_context(browser, site, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/papers?date={DAY}")
        page.get_by_role("link", name="Calendar", exact=True).click()
        page.wait_for_url(re.compile(rf"/papers/calendar/2026-08\?date={DAY}$"))
        assert page.get_by_role("heading", level=1).inner_text() == "August 2026"
        table = page.get_by_role("table", name="Papers featured each day of August 2026")
        assert table.locator("thead th").all_inner_texts()[:2] == ["Week", "Mon"]
        current = table.locator('a[aria-current="date"]')
        assert current.get_attribute("href") == f"/papers?date={DAY}"
        count = site.services.papers.day_counts(_d(DAY), _d(DAY))[_d(DAY)]
        assert current.text_content().strip() == f"Thursday, August 20, {count} papers"  # its name

        page.get_by_role("link", name=re.compile(r"July 2026 \(previous month\)")).click()
        page.wait_for_url(re.compile(r"/papers/calendar/2026-07$"))
        days = page.locator("table.calendar td.cal-has a")
        assert days.count() > 10
        counts = {
            a.get_attribute("href").split("=")[1]: int(re.search(r"(\d+) papers?", a.inner_text()).group(1))
            for a in days.all()
        }
        expected = site.services.papers.day_counts(min(map(_d, counts)), max(map(_d, counts)))
        assert {k.isoformat(): v for k, v in expected.items()} == counts
        busiest = max(counts, key=counts.get)
        page.locator(f'table.calendar a[href="/papers?date={busiest}"]').click()
        page.wait_for_url(re.compile(rf"/papers\?date={busiest}$"))
        assert page.locator(".result-line").inner_text().startswith(f"{counts[busiest]} paper")
        # empty days are no links
        assert page.goto("/papers/calendar/2026-07").status == 200
        empty = page.locator("table.calendar td.cal-none")
        if empty.count():
            assert empty.first.locator("a").count() == 0 and "no papers" in empty.first.inner_text()
    finally:
        context.close()


def _d(text: str):
    from datetime import date

    return date.fromisoformat(text)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_calendar_has_no_serious_violations(browser, site, scheme):
    context = new_context(browser, site, color_scheme=scheme)
    try:
        page = context.new_page()
        assert page.goto(f"/papers/calendar/2026-08?date={DAY}").status == 200
        page.wait_for_load_state("load")
        found = axe_violations(page)
        assert not found, describe_violations(found)
    finally:
        context.close()


def test_calendar_on_a_phone_does_not_scroll_sideways(browser, site):
    context = new_context(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto("/papers/calendar")
        page.wait_for_url(re.compile(r"/papers/calendar/\d{4}-\d{2}$"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"calendar is {width}px wide"
        found = axe_violations(page)
        assert not found, describe_violations(found)
    finally:
        context.close()


def _query_with_math_on_page_two(site) -> str:
    """A search whose second page (results 21–40) has a paper title with TeX math."""
    for query in ("codes", "quantum codes", "diffusion", "memory", "mamba", "image"):
        results = site.services.search.search(query, limit=40, offset=0, mode="keyword")
        titles = [item.title for item in results.items]
        if len(titles) > 21 and any(MATH.search(t) for t in titles[20:40]):
            return query
    pytest.fail("no search in the demo data has a math title on its second page")


def test_load_more_typesets_math_in_the_new_cards(page, site):
    query = _query_with_math_on_page_two(site)
    page.goto(f"/search?q={query}&mode=keyword")
    page.wait_for_load_state("load")
    first_page = page.locator("main .cards > article.card").count()
    page.evaluate("window.__noReload = true")
    page.locator(".pager a[rel=next]").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('main .cards > article.card').length > {first_page}"
    )
    added = page.locator(f"main .cards > article.card:nth-child(n+{first_page + 1})")
    added.locator(".katex").first.wait_for()
    raw = [t for t in added.locator(".card-title").all_inner_texts() if MATH.search(t)]
    assert not raw, f"untypeset math after load more: {raw}"
    assert page.evaluate("window.__noReload") is True
