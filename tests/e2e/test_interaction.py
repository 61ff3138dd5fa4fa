"""Interaction in a real Chromium: keyboard shortcuts (j/k/u, /, ?), search-as-you-type suggestions and
load-more (in place with JavaScript, a plain link without)."""

from __future__ import annotations

import re

from tests.e2e.conftest import axe_violations, describe_violations, new_context


def current_card_id(page) -> str | None:
    return page.evaluate(
        "(() => { const c = document.querySelector('article.card.is-current');"
        " return c ? c.getAttribute('aria-labelledby') : null; })()"
    )


def test_j_and_k_move_between_cards_with_a_visible_focus(page):
    page.goto("/papers/week/2026-W34")
    ids = page.locator("article.card").evaluate_all("cs => cs.map(c => c.getAttribute('aria-labelledby'))")
    page.keyboard.press("j")
    assert current_card_id(page) == ids[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert current_card_id(page) == ids[2]
    page.keyboard.press("k")
    assert current_card_id(page) == ids[1]
    assert page.evaluate("document.activeElement.getAttribute('aria-labelledby')") == ids[1]
    style = page.evaluate("getComputedStyle(document.querySelector('article.card.is-current')).outlineStyle")
    assert style == "solid"
    # o opens the selected paper
    title = page.locator("article.card.is-current h2 a").inner_text()
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r"/papers/\d{4}\.\d{4,5}$"))
    assert page.locator("h1").inner_text() == title


def test_u_upvotes_the_selected_card_in_place(signed_in):
    page, _ = signed_in
    page.goto("/papers/month/2026-07")
    page.evaluate("window.__noReload = true")
    page.keyboard.press("j")
    page.keyboard.press("j")
    card = page.locator("article.card.is-current")
    before = int(card.locator(".votes-count").inner_text())
    page.keyboard.press("u")
    page.wait_for_function(
        "([n]) => document.querySelector('article.card.is-current .votes-count').textContent == String(n)",
        arg=[before + 1],
    )
    assert card.locator(".vote-button").get_attribute("aria-pressed") == "true"
    assert page.evaluate("window.__noReload") is True


def test_u_when_signed_out_goes_to_sign_in(page):
    page.goto("/")
    page.keyboard.press("j")
    page.keyboard.press("u")
    page.wait_for_url(re.compile(r"/login\?next="))


def test_slash_focuses_search_and_shortcuts_stay_off_while_typing(page):
    page.goto("/")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "header-q"
    page.keyboard.type("jku")  # typed into the box, not taken as shortcuts
    assert page.locator("#header-q").input_value() == "jku"
    assert current_card_id(page) is None


def test_question_mark_shows_the_help(page):
    page.goto("/")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert dialog.is_visible()
    assert "Upvote" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()


def test_search_as_you_type_suggestions(page):
    page.goto("/papers/trending")
    box = page.locator("#header-q")
    box.click()
    box.press_sequentially("video generation", delay=20)
    listbox = page.get_by_role("listbox", name="Suggested papers")
    listbox.wait_for()
    options = listbox.get_by_role("option")
    assert 1 <= options.count() <= 8
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("role") == "combobox"
    if found := axe_violations(page):
        raise AssertionError(describe_violations(found))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = options.nth(1)
    assert second.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    title = second.locator(".suggest-title").inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/papers/\d{4}\.\d{4,5}$"))
    assert page.locator("h1").inner_text() == title


def test_escape_closes_suggestions_and_enter_still_searches(page):
    page.goto("/")
    box = page.locator("#header-q")
    box.click()
    box.press_sequentially("agents", delay=20)
    page.get_by_role("listbox").wait_for()
    page.keyboard.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")  # no option chosen: the ordinary search
    page.wait_for_url(re.compile(r"/search\?q=agents"))


def test_next_page_loads_more_cards_in_place(page):
    page.goto("/papers/month/2026-07")
    first_page = page.locator("article.card").count()
    assert first_page == 50
    page.evaluate("window.__noReload = true")
    page.locator(".pager a[rel=next]").click()
    page.wait_for_function("() => document.querySelectorAll('article.card').length > 50")
    assert page.evaluate("window.__noReload") is True
    assert page.url.endswith("/papers/month/2026-07")
    ranks = page.locator("article.card .rank").all_inner_texts()
    assert ranks[50].strip().endswith("#51")
    assert page.evaluate("document.activeElement === document.querySelectorAll('article.card')[50]")
    ids = page.locator("article.card").evaluate_all("cs => cs.map(c => c.getAttribute('aria-labelledby'))")
    assert len(ids) == len(set(ids))  # no paper twice


def test_next_page_is_a_plain_link_without_javascript(browser, site):
    context = new_context(browser, site, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/papers/month/2026-07")
        page.locator(".pager a[rel=next]").click()
        page.wait_for_url("**/papers/month/2026-07?p=1")
        assert page.locator("article.card .rank").first.inner_text().strip().endswith("#51")
    finally:
        context.close()
