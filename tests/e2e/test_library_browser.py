"""The user library and profiles in a real Chromium: Save in place with JavaScript, by form POST
without, the library page with its exports, and the signed-in header on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import PHONE, axe_violations, describe_violations, new_context, sign_in

PAPER_QUERY = "article.card h2 a"


def first_paper_path(page) -> str:
    page.goto("/")
    return page.locator(PAPER_QUERY).first.get_attribute("href")


def test_save_in_place_then_export(signed_in, site):
    page, username = signed_in
    path = first_paper_path(page)
    arxiv_id = path.removeprefix("/papers/")
    page.goto(path)
    page.evaluate("window.__noReload = true")
    button = page.locator("form.save-form .save-button")
    assert button.inner_text() == "Save"
    button.click()
    page.wait_for_function(
        "() => document.querySelector('form.save-form .save-button').textContent == 'Saved'"
    )
    assert page.evaluate("window.__noReload") is True  # the API did it, no navigation
    assert button.get_attribute("aria-pressed") == "true"

    page.get_by_role("link", name="Library").click()
    page.wait_for_url(re.compile(r"/library$"))
    assert page.locator(f'article.card a[href="/papers/{arxiv_id}"]').count() == 1
    with page.expect_download() as info:
        page.get_by_role("link", name="Export BibTeX").click()
    download = info.value
    assert download.suggested_filename == "paperfeed-library.bib"
    assert f"eprint = {{{arxiv_id}}}" in Path(download.path()).read_text(encoding="utf-8")

    page.get_by_role("button", name=re.compile(r"^Remove")).click()
    page.wait_for_url(re.compile(r"/library$"))
    assert "Nothing saved yet" in page.content()

    page.get_by_role("link", name=username).click()
    page.wait_for_url(re.compile(rf"/u/{username}$"))
    assert page.get_by_role("heading", name=username, level=1).is_visible()


def test_save_without_javascript_uses_the_form(browser, site):
    context = new_context(browser, site, java_script_enabled=False)
    try:
        sign_in(context, site)
        page = context.new_page()
        path = first_paper_path(page)
        page.goto(path)
        page.locator("form.save-form .save-button").click()
        page.wait_for_url(re.compile(re.escape(path) + "$"))
        assert page.locator("form.save-form .save-button").inner_text() == "Saved"
    finally:
        context.close()


def test_signed_in_phone_pages_do_not_scroll_sideways(browser, site):
    context = new_context(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        username = sign_in(context, site)
        page = context.new_page()
        path = first_paper_path(page)
        for target in ("/", path, "/library", f"/u/{username}"):
            page.goto(target)
            page.wait_for_load_state("load")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{target}: page is {width}px wide"
    finally:
        context.close()


def test_library_and_profile_pages_pass_axe(signed_in, site):
    page, username = signed_in
    path = first_paper_path(page)
    page.goto(path)
    page.locator("form.save-form .save-button").click()
    page.wait_for_function(
        "() => document.querySelector('form.save-form .save-button').textContent == 'Saved'"
    )
    for target in (path, "/library", f"/u/{username}"):
        page.goto(target)
        violations = axe_violations(page)
        assert not violations, f"{target}: {describe_violations(violations)}"
