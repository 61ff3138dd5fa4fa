"""Browser-test harness: a real paperfeed server on loopback driven by Debian's Chromium via Playwright.

One instance per session (the bundled demo data set plus the test snapshot, the clock pinned to
``TEST_NOW``, the loopback arXiv stand-in for submissions), one Chromium per session, a fresh
browser context per test. Nothing is downloaded: the browser is ``/usr/bin/chromium``
(``apt-get install chromium``) and axe-core comes from ``tests/e2e/node_modules``
(``npm ci --prefix tests/e2e``).

When Chromium, the ``playwright`` package or axe-core is missing the tests are skipped with the
reason — except under ``CI=true``, where they fail: CI must run them.

Adding a flow: take the ``page`` fixture (anonymous) or ``signed_in`` (a fresh account with a
session cookie), use relative URLs (the context has ``base_url``), and assert what a person sees.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.arxiv_server import FakeArxiv, fake_arxiv
from tests.conftest import FIXTURES, TEST_NOW
from tests.servers import serve_app

E2E_DIR = Path(__file__).parent
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))  # E2E_CHROMIUM: test-only override
AXE_JS = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PASSWORD = "correct horse battery"
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
_usernames = itertools.count(1)


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when everything is in place."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists() and not shutil.which(str(CHROMIUM)):
        return f"{CHROMIUM} is missing (apt-get install chromium; `make test` does it as root)"
    if not AXE_JS.exists():
        return f"{AXE_JS} is missing (npm ci --prefix tests/e2e)"
    return None


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (skip locally / fail under CI when unavailable)."""
    reason = browser_unavailable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run under CI=true: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Site:
    """A running instance: its base URL, the app (for its services) and the fake arXiv server."""

    url: str
    app: Any
    arxiv: FakeArxiv

    @property
    def mailer(self):
        """The in-memory mail sender (``.outbox``: list of ``OutgoingMail``)."""
        return self.app.state.services.mailer

    @property
    def services(self):
        return self.app.state.services

    def new_account(self, prefix: str = "reader") -> tuple[str, str]:
        """Create an account through the service; returns ``(username, session token)``."""
        username = f"{prefix}{next(_usernames)}"
        account = self.services.accounts.sign_up(username, f"{username}@example.org", PASSWORD)
        return username, self.services.accounts.create_session(account.id)


def build_site(data_dir: Path, arxiv: FakeArxiv, **overrides) -> Any:
    """A migrated instance with the demo data and fresh indexes; returns the ASGI app."""
    from paperfeed.app import create_app
    from paperfeed.clock import FixedClock
    from paperfeed.config import Settings
    from paperfeed.db.engine import get_engine, upgrade
    from paperfeed.demo import demo_files
    from paperfeed.ingest.arxiv_api import ArxivClient
    from paperfeed.ingest.service import ingest_file
    from paperfeed.mail.senders import MemorySender
    from paperfeed.search.indexer import update_keyword_index
    from paperfeed.search.keyword import TantivyKeywordIndex

    settings = Settings(
        data_dir=data_dir,
        secret_key="test-secret-key-not-for-production",
        semantic_search=False,
        submission_max_age_days=36500,
        arxiv_min_interval_seconds=0,
        **CHEAP_ARGON2,
        **overrides,
    )
    clock = FixedClock(TEST_NOW)
    upgrade(settings)
    engine = get_engine(settings)
    # the demo data set, plus the test snapshot: unfeatured papers whose abstracts keep their TeX
    for kind, path in [("arxiv-snapshot", FIXTURES / "snapshot_300.jsonl.gz"), *demo_files()]:
        ingest_file(settings, engine, kind, path, clock=clock)
    keyword = TantivyKeywordIndex(settings.index_dir, refresh_seconds=0.0)
    update_keyword_index(engine, keyword)
    client = ArxivClient(arxiv.url, min_interval=0, timeout=2, retries=1, backoff=0)
    return create_app(
        settings,
        clock=clock,
        engine=engine,
        keyword_index=keyword,
        arxiv_client=client,
        mailer=MemorySender(),  # mails a flow sends are read from ``mailer.outbox``
    )


@pytest.fixture(scope="session")
def site(browser, tmp_path_factory) -> Iterator[Site]:
    """A real server on loopback over the demo data, shared by the session (tests that change
    state — votes, accounts, submissions — use fresh accounts and relative counts)."""
    with fake_arxiv() as arxiv:
        app = build_site(tmp_path_factory.mktemp("e2e") / "var", arxiv)
        with serve_app(app) as url:
            yield Site(url=url, app=app, arxiv=arxiv)
        app.state.services.engine.dispose()


def new_context(browser, site: Site, **options):
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(base_url=site.url, **options)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser, site):
    ctx = new_context(browser, site)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """An anonymous page; failed to load JS or CSS fails the test."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(context, site: Site, prefix: str = "reader") -> str:
    """Give ``context`` the session cookie of a fresh account; returns the username."""
    from paperfeed.web.auth import SESSION_COOKIE

    username, token = site.new_account(prefix)
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": site.url}])
    return username


@pytest.fixture
def signed_in(context, site, page):
    """``(page, username)`` for a fresh signed-in account."""
    return page, sign_in(context, site)


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the page (WCAG 2 A/AA rules); the violations of the given impacts."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations']})"""
    )
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe_violations(violations: list[dict]) -> str:
    """A readable summary: rule, impact, help text and the first few offending nodes."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(
                f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}"
            )
    return "\n".join(lines)
