"""Accessibility in a real Chromium: axe-core (WCAG 2.1 A/AA + best practices) on every main page, light
and dark, finds no serious or critical violation; keyboard focus is visible."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import axe_violations, describe_violations, new_context, sign_in

PAPER = "2503.11945"
ANONYMOUS_PAGES = [
    "/",
    "/papers?date=2026-08-20",
    "/papers/week/2026-W34",
    "/papers/month/2026-08",
    "/papers/trending",
    f"/papers/{PAPER}",
    "/papers/2608.14250",
    "/search",
    "/search?q=video+generation",
    "/search?q=zzzzqqq",
    "/login",
    "/signup",
    "/subscribe",
]
DARK_PAGES = ["/", f"/papers/{PAPER}", "/search?q=video+generation", "/signup"]
SIGNED_IN_PAGES = ["/", f"/papers/{PAPER}", "/submit", "/settings", "/search?q=agents"]


@pytest.mark.parametrize(
    ("scheme", "paths"), [("light", ANONYMOUS_PAGES), ("dark", DARK_PAGES)], ids=["light", "dark"]
)
def test_anonymous_pages_have_no_serious_violations(browser, site, scheme, paths):
    context = new_context(browser, site, color_scheme=scheme)
    try:
        page = context.new_page()
        failures = []
        for path in paths:
            response = page.goto(path)
            assert response.status in (200, 404), (path, response.status)
            page.wait_for_load_state("load")
            if found := axe_violations(page):
                failures.append(f"{path} ({scheme}):\n{describe_violations(found)}")
        assert not failures, "\n".join(failures)
    finally:
        context.close()


def test_signed_in_pages_have_no_serious_violations(browser, site):
    context = new_context(browser, site)
    try:
        sign_in(context, site)
        page = context.new_page()
        failures = []
        for path in SIGNED_IN_PAGES:
            assert page.goto(path).status == 200, path
            page.wait_for_load_state("load")
            if found := axe_violations(page):
                failures.append(f"{path}:\n{describe_violations(found)}")
        assert not failures, "\n".join(failures)
    finally:
        context.close()


def test_phone_pages_have_no_serious_violations(browser, site):
    context = new_context(browser, site, viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        failures = []
        for path in ("/", f"/papers/{PAPER}", "/search?q=agents"):
            page.goto(path)
            if found := axe_violations(page):
                failures.append(f"{path}:\n{describe_violations(found)}")
        assert not failures, "\n".join(failures)
    finally:
        context.close()


def test_keyboard_focus_is_visible(page):
    page.goto("/")
    page.keyboard.press("Tab")  # the skip link comes first and becomes visible
    focused = page.evaluate("document.activeElement.className")
    assert "skip-link" in focused
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
    for _ in range(4):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
        )
        assert outline[0] != "none" or outline[2] != "none", outline
