"""Community flows in a real Chromium: a comment with math (typeset by KaTeX), the digest subscription
with its confirmation mail."""

from __future__ import annotations

import re

PAPER = "2608.19880"  # the top paper of the demo's last day


def test_comment_with_math_is_typeset(signed_in):
    page, username = signed_in
    page.goto(f"/papers/{PAPER}")
    page.fill("#comment-text", "Nice bound: $O(n \\log n)$ and **bold** text")
    page.get_by_role("button", name="Comment").click()
    page.wait_for_url(re.compile(rf"/papers/{PAPER}.*#comment-\d+"))
    comment = page.locator("li.comment", has=page.locator(f"a.comment-author:text-is('{username}')")).last
    comment.locator(".katex").first.wait_for()
    assert comment.locator("strong").inner_text() == "bold"
    assert "$O(" not in comment.locator(".comment-body").inner_text()


def test_subscribe_to_the_digest_and_confirm(page, site):
    page.goto("/subscribe")
    page.fill("#email", "digest-reader@example.org")
    page.get_by_label("Weekly").check()
    page.get_by_role("button", name="Subscribe").click()
    assert "Check your inbox" in page.get_by_role("status").inner_text()
    mails = [m for m in site.mailer.outbox if m.recipient == "digest-reader@example.org"]
    assert len(mails) == 1
    link = re.search(r"https?://\S+/subscriptions/confirm\S*", mails[0].body_text).group(0)
    path = link[link.index("/subscriptions/") :]
    page.goto(path)
    button = page.get_by_role("button", name=re.compile("confirm", re.IGNORECASE))
    if button.count():  # a confirm page with a POST button (GET never changes state)
        button.first.click()
    page.wait_for_load_state("load")
    assert re.search(r"confirmed|subscribed", page.locator("main").inner_text(), re.IGNORECASE)
