"""Account flows in a real Chromium: sign up, upvote (in place with JavaScript, by form POST without),
submit a paper by arXiv id against the loopback arXiv server."""

from __future__ import annotations

import re

from tests.e2e.conftest import PASSWORD, new_context, sign_in

SUBMITTED = "2102.00018"  # recorded by the loopback arXiv server; its abstract has $x$


def first_card_votes(page) -> tuple[str, int]:
    card = page.locator("article.card").first
    arxiv_id = card.locator("form.vote-form").get_attribute("data-arxiv-id")
    return arxiv_id, int(card.locator(".votes-count").inner_text())


def test_sign_up_shows_the_signed_in_header(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.wait_for_url("**/signup*")
    page.fill("#username", "newreader")
    page.fill("#email", "newreader@example.org")
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/$"))
    header = page.locator("header.site-header")
    assert header.get_by_role("link", name="newreader").is_visible()
    assert header.get_by_role("button", name="Sign out").is_visible()
    assert header.get_by_role("link", name="Submit").is_visible()
    # the upvote buttons are now forms, not sign-in links
    assert page.locator("article.card form.vote-form").count() > 0


def test_sign_up_errors_are_shown_in_the_form(page):
    page.goto("/signup")
    page.fill("#username", "mismatch")
    page.fill("#email", "mismatch@example.org")
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD + "!")
    page.get_by_role("button", name="Sign up").click()
    assert "do not match" in page.get_by_role("alert").inner_text()
    assert page.locator("#username").input_value() == "mismatch"


def test_upvote_in_place_without_a_page_reload(signed_in):
    page, _ = signed_in
    page.goto("/")
    arxiv_id, before = first_card_votes(page)
    page.evaluate("window.__noReload = true")
    card = page.locator("article.card").first
    card.locator(".vote-button").click()
    page.wait_for_function(
        "([n]) => document.querySelector('article.card .votes-count').textContent == String(n)",
        arg=[before + 1],
    )
    assert page.evaluate("window.__noReload") is True  # same document: no navigation happened
    assert card.locator(".vote-button").get_attribute("aria-pressed") == "true"
    # undo
    card.locator(".vote-button").click()
    page.wait_for_function(
        "([n]) => document.querySelector('article.card .votes-count').textContent == String(n)", arg=[before]
    )
    assert page.evaluate("window.__noReload") is True
    # the server has it too
    page.reload()
    assert first_card_votes(page) == (arxiv_id, before)


def test_upvote_with_javascript_off_uses_the_form(browser, site):
    context = new_context(browser, site, java_script_enabled=False)
    try:
        sign_in(context, site)
        page = context.new_page()
        page.goto("/papers/trending")
        arxiv_id, before = first_card_votes(page)
        page.locator("article.card").first.locator(".vote-button").click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/papers/trending")  # redirected back to where the vote was cast
        card = page.locator(f"form.vote-form[data-arxiv-id='{arxiv_id}']").first
        assert int(card.locator(".votes-count").inner_text()) == before + 1
        assert card.locator(".vote-button").get_attribute("aria-pressed") == "true"
    finally:
        context.close()


def test_anonymous_upvote_asks_to_sign_in(page):
    page.goto("/")
    page.locator("article.card a.votes").first.click()
    page.wait_for_url(re.compile(r"/login\?next="))
    assert page.locator("h1").inner_text()


def test_submit_a_paper_by_arxiv_id(signed_in, site):
    page, username = signed_in
    page.goto("/")
    page.get_by_role("link", name="Submit").click()
    page.wait_for_url("**/submit")
    page.fill("#arxiv_id", f"https://arxiv.org/abs/{SUBMITTED}v2")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(rf"/papers/{SUBMITTED}\?submitted=1$"))
    assert site.arxiv.requests_for(SUBMITTED) == 1
    assert page.locator("h1").inner_text()
    assert page.get_by_text(f"by {username}").count() == 1  # "Featured on … by <user>"
    page.locator(".abstract .katex").first.wait_for()  # $x$ typeset by KaTeX

    # submitting it again shows the existing entry instead of featuring it twice
    page.goto("/submit")
    page.fill("#arxiv_id", SUBMITTED)
    page.get_by_role("button", name="Submit").click()
    assert page.get_by_role("alert").is_visible()
    assert page.locator(".form-notice a").get_attribute("href") == f"/papers/{SUBMITTED}"
    assert site.arxiv.requests_for(SUBMITTED) == 1
