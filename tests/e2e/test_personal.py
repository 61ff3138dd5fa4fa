"""Personal pages in a real Chromium: follow a category from a paper page in place (and without
JavaScript), see it on /following and as the reason on /for-you; the library and profile pages;
the admin report queue; axe-core on every personal and admin page."""

from __future__ import annotations

import re

from tests.e2e.conftest import PASSWORD, axe_violations, describe_violations, new_context, sign_in

PAPER = "2603.18846"  # featured 2026-08-10, categories cs.CV cs.LG stat.CO
RECENT = "2608.19880"  # the top paper of the demo's last day (recent papers carry no categories)


def test_follow_a_category_in_place_then_following_and_for_you(signed_in):
    page, _ = signed_in
    page.goto(f"/papers/{PAPER}")
    page.evaluate("window.__noReload = true")
    form = page.locator(".follow-box form.follow-form:has(input[name=kind][value=category])").first
    category = form.locator("input[name=value]").get_attribute("value")
    button = form.locator("button")
    assert button.inner_text() == f"+ Follow {category}"
    button.click()
    following = page.locator(".follow-box form.follow-form.following button")
    following.wait_for()
    assert f"Following {category}" in following.inner_text(), following.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('btn-following')")  # focus kept
    page.wait_for_function(
        f"() => document.getElementById('fragment-status').textContent == 'Following {category}.'"
    )
    assert page.evaluate("window.__noReload") is True

    page.get_by_role("link", name="Manage what you follow").click()
    page.wait_for_url(re.compile(r"/following$"))
    assert page.locator("table.follows td", has_text=category).count() == 1

    # For you ranks the last week's papers, which in the demo data have authors but no categories:
    # follow an author of a recent paper the same way, and For you gives that as the reason
    page.goto(f"/papers/{RECENT}")
    form = page.locator(".follow-box form.follow-form:has(input[name=kind][value=author])").first
    author = form.locator("input[name=value]").get_attribute("value")
    form.locator("button").click()
    page.locator(".follow-box form.follow-form.following").first.wait_for()
    page.goto("/for-you")
    reasons = page.locator(".reason").all_inner_texts()
    assert f"because you follow {author}" in reasons, reasons[:5]
    page.goto("/following")
    assert page.locator("table.follows td", has_text=author).count() == 1

    # and unfollow in place again
    page.goto(f"/papers/{PAPER}")
    page.locator(".follow-box form.follow-form.following button").click()
    page.locator(f".follow-box button:text-is('+ Follow {category}')").wait_for()
    page.goto("/following")
    assert page.locator("table.follows td", has_text=category).count() == 0


def test_follow_without_javascript(browser, site):
    context = new_context(browser, site, java_script_enabled=False)
    try:
        sign_in(context, site)
        page = context.new_page()
        page.goto(f"/papers/{PAPER}")
        form = page.locator(".follow-box form.follow-form").first
        value = form.locator("input[name=value]").get_attribute("value")
        form.locator("button").click()
        page.wait_for_url(re.compile(rf"/papers/{PAPER}$"))  # back on the paper page
        assert f"Following {value}" in page.locator(".follow-box form.following button").first.inner_text()
    finally:
        context.close()


def test_library_and_profile_pages(signed_in, site):
    page, username = signed_in
    account = site.services.accounts.user(username)
    site.services.library.save(account, PAPER)
    site.services.comments.post(account, PAPER, "Profile comment with $a+b$")
    page.goto("/library")
    assert page.locator(f'article.card a[href="/papers/{PAPER}"]').count() >= 1
    assert page.get_by_role("link", name="Export BibTeX").is_visible()
    page.goto(f"/u/{username}")
    assert page.get_by_role("heading", name=username, level=1).is_visible()
    assert "1 comment" in page.locator("main").inner_text()
    assert "Profile comment" in page.locator("#comments").inner_text()


def new_admin(site) -> tuple[str, str]:
    """An administrator, created as ``paperfeed users create --admin`` does (the account service)."""
    accounts = site.services.accounts
    name, _ = site.new_account("adminbase")  # for a unique name
    admin_name = f"boss{name.removeprefix('adminbase')}"
    account = accounts.sign_up(admin_name, f"{admin_name}@example.org", PASSWORD, is_admin=True)
    return admin_name, accounts.create_session(account.id)


def with_session(context, site, token: str) -> None:
    from paperfeed.web.auth import SESSION_COOKIE

    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": site.url}])


def test_admin_report_queue(browser, site):
    author_name, author_token = site.new_account("author")
    author = site.services.accounts.session_account(author_token)
    comment = site.services.comments.post(author, PAPER, "Buy cheap pills at example.com")
    reporter = new_context(browser, site)
    admin = new_context(browser, site)
    try:
        sign_in(reporter, site, "reporter")
        page = reporter.new_page()
        page.goto(f"/papers/{PAPER}#comment-{comment.id}")
        item = page.locator(f"#comment-{comment.id}")
        item.locator("summary", has_text="Report").click()
        item.get_by_label("Why should a moderator look at this?").fill("spam")
        item.get_by_role("button", name="Report", exact=True).click()
        page.wait_for_url(re.compile(rf"#comment-{comment.id}$"))

        _, token = new_admin(site)
        with_session(admin, site, token)
        page = admin.new_page()
        page.goto("/admin")
        page.get_by_role("link", name=re.compile("report", re.IGNORECASE)).first.click()
        page.wait_for_url(re.compile(r"/admin/reports$"))
        report = page.locator("li.report", has=page.locator(f'a[href$="#comment-{comment.id}"]'))
        assert "spam" in report.locator(".report-reason").inner_text()
        assert author_name in report.inner_text()
        report.get_by_role("button", name="Hide comment").click()
        page.wait_for_load_state("load")
        assert page.locator(f'li.report a[href$="#comment-{comment.id}"]').count() == 0
        page.goto(f"/papers/{PAPER}")
        assert "hidden by a moderator" in page.locator(f"#comment-{comment.id}").inner_text()
    finally:
        reporter.close()
        admin.close()


def test_personal_and_admin_pages_have_no_serious_violations(browser, site):
    context = new_context(browser, site)
    try:
        username = sign_in(context, site)
        page = context.new_page()
        page.goto(f"/papers/{PAPER}")
        page.locator(".follow-box form.follow-form button").first.click()  # something on /following
        page.locator(".follow-box form.following").first.wait_for()
        _, admin_token = new_admin(site)
        failures = []
        pages = ["/for-you", "/following", "/library", f"/u/{username}", "/subscribe"]
        for path in [*pages, "admin:/admin", "admin:/admin/reports"]:
            if path.startswith("admin:"):
                path = path.removeprefix("admin:")
                with_session(context, site, admin_token)
            assert page.goto(path).status == 200, path
            page.wait_for_load_state("load")
            if found := axe_violations(page):
                failures.append(f"{path}:\n{describe_violations(found)}")
        # the paper page after an in-place follow (a swapped fragment) is still clean
        page.goto(f"/papers/{PAPER}")
        if found := axe_violations(page):
            failures.append(f"/papers/{PAPER} (admin):\n{describe_violations(found)}")
        assert not failures, "\n".join(failures)
    finally:
        context.close()
