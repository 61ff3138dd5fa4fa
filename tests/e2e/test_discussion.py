"""The paper page's discussion in a real Chromium: comment (with math), reply and edit in place with
JavaScript (static/forms.js swaps in the thread the server re-renders — no page load, focus on the
new comment, a polite status message, KaTeX on the new fragment), errors shown in place, and the
same flow by plain form POSTs with JavaScript off."""

from __future__ import annotations

import re

from tests.e2e.conftest import new_context, sign_in

PAPER = "2608.19880"  # the top paper of the demo's last day


def mine(page, username: str):
    return page.locator("li.comment", has=page.locator(f"a.comment-author:text-is('{username}')"))


def test_comment_reply_and_edit_without_reloading(signed_in):
    page, username = signed_in
    page.goto(f"/papers/{PAPER}")
    page.evaluate("window.__noReload = true")

    page.fill("#comment-text", "In place: $e^{i\\pi} + 1 = 0$ and *style*")
    page.get_by_role("button", name="Comment", exact=True).click()
    comment = mine(page, username).last
    comment.locator(".katex").first.wait_for()  # typeset on the swapped fragment
    comment_id = comment.get_attribute("id")
    assert re.fullmatch(r"comment-\d+", comment_id)
    assert page.evaluate("document.activeElement.id") == comment_id  # focus moved to the new comment
    assert page.url.endswith(f"#{comment_id}")
    page.wait_for_function(
        "() => document.getElementById('fragment-status').textContent == 'Comment posted.'"
    )
    assert page.locator("#fragment-status").get_attribute("aria-live") == "polite"
    assert page.locator("#comment-text").input_value() == ""  # a fresh form

    # reply to it
    comment = page.locator(f"#{comment_id}")
    comment.locator("summary", has_text="Reply").click()
    comment.locator("textarea[id^=reply-]").fill("A reply with $x^2$")
    comment.get_by_role("button", name="Reply", exact=True).click()
    reply = page.locator(
        "li.comment.comment-depth-1", has=page.locator(f"a.comment-author:text-is('{username}')")
    )
    reply.locator(".katex").first.wait_for()
    reply_id = reply.get_attribute("id")
    assert page.evaluate("document.activeElement.id") == reply_id
    page.wait_for_function("() => document.getElementById('fragment-status').textContent == 'Reply posted.'")

    # edit the reply
    reply.locator("summary", has_text="Edit").click()
    reply = page.locator(f"#{reply_id}")
    reply.locator("textarea[id^=edit-]").fill("An **edited** reply")
    reply.get_by_role("button", name="Save", exact=True).click()
    page.locator(f"#{reply_id} strong", has_text="edited").wait_for()
    assert "edited" in page.locator(f"#{reply_id} .comment-meta").inner_text()
    page.wait_for_function(
        "() => document.getElementById('fragment-status').textContent == 'Comment updated.'"
    )
    assert page.evaluate("window.__noReload") is True  # none of it loaded a page

    # the server has it all: a fresh load shows the same thread
    page.reload()
    assert page.locator(f"#{reply_id} strong").inner_text() == "edited"
    assert page.locator(f"#{comment_id} .katex").count() > 0


def test_an_error_is_shown_in_place_and_the_draft_kept(signed_in):
    page, _ = signed_in
    page.goto(f"/papers/{PAPER}")
    page.evaluate("window.__noReload = true")
    page.fill("#comment-text", "    ")  # passes `required`, the server says no
    page.get_by_role("button", name="Comment", exact=True).click()
    error = page.locator("#comment-error")
    error.wait_for()
    assert error.get_attribute("role") == "alert" and "empty" in error.inner_text().lower()
    assert page.evaluate("document.activeElement.id") == "comment-error"
    assert page.evaluate("window.__noReload") is True
    # then a real comment goes through and the error disappears
    page.fill("#comment-text", "Second try")
    page.get_by_role("button", name="Comment", exact=True).click()
    page.wait_for_function(
        "() => document.getElementById('fragment-status').textContent == 'Comment posted.'"
    )
    assert page.locator("#comment-error").count() == 0


def test_comment_reply_and_edit_with_javascript_off(browser, site):
    context = new_context(browser, site, java_script_enabled=False)
    try:
        username = sign_in(context, site)
        page = context.new_page()
        page.goto(f"/papers/{PAPER}")
        page.fill("#comment-text", "No script here")
        page.get_by_role("button", name="Comment", exact=True).click()
        page.wait_for_url(re.compile(rf"/papers/{PAPER}#comment-\d+$"))
        comment_id = page.url.rsplit("#", 1)[1]
        comment = page.locator(f"#{comment_id}")
        assert comment.locator("a.comment-author").inner_text() == username

        comment.locator("summary", has_text="Reply").click()
        comment.locator("textarea[id^=reply-]").fill("Replying without script")
        comment.get_by_role("button", name="Reply", exact=True).click()
        page.wait_for_url(re.compile(rf"/papers/{PAPER}#comment-\d+$"))
        reply_id = page.url.rsplit("#", 1)[1]
        assert reply_id != comment_id
        assert "comment-depth-1" in page.locator(f"#{reply_id}").get_attribute("class")

        reply = page.locator(f"#{reply_id}")
        reply.locator("summary", has_text="Edit").click()
        reply.locator("textarea[id^=edit-]").fill("Edited without script")
        reply.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url(re.compile(rf"/papers/{PAPER}#{reply_id}$"))
        assert "Edited without script" in page.locator(f"#{reply_id} .comment-body").inner_text()
    finally:
        context.close()
