"""Page weight and load timing of the main pages in Debian's Chromium (Lighthouse-like, locally).

Serves a throwaway demo instance (the browser tests' instance: demo data + the test snapshot) on
loopback and loads each page in a fresh browser context (cold cache) and then again in the same
context (warm: static files from cache, feed pages revalidated by ETag). Reports per page the
bytes transferred (document + resources, from the Resource Timing API), the number of requests,
and DOMContentLoaded / load times (Navigation Timing), the median of ``--runs`` cold loads.

    .venv/bin/python bench/page_weight.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from common import REPO_ROOT, machine_facts, write_result

sys.path.insert(0, str(REPO_ROOT))

from tests.arxiv_server import fake_arxiv
from tests.e2e.conftest import CHROMIUM, DESKTOP, LAUNCH_ARGS, browser_unavailable, build_site
from tests.servers import serve_app

PAGES = [
    ("day", "/"),
    ("week", "/papers/week/2026-W34"),
    ("trending", "/papers/trending"),
    ("paper (KaTeX)", "/papers/2503.11945"),
    ("paper", "/papers/2608.19880"),
    ("search", "/search?q=video+generation"),
    ("sign up", "/signup"),
]

MEASURE_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return {
    document_bytes: nav.transferSize, document_body: nav.decodedBodySize,
    resource_bytes: res.reduce((n, r) => n + r.transferSize, 0),
    requests: 1 + res.length,
    dcl_ms: nav.domContentLoadedEventEnd - nav.startTime,
    load_ms: nav.loadEventEnd - nav.startTime,
    dom_nodes: document.getElementsByTagName('*').length,
  };
}"""


def measure(browser, url: str, path: str, runs: int) -> dict:
    cold = []
    warm = None
    for i in range(runs):
        context = browser.new_context(base_url=url, viewport=DESKTOP)
        page = context.new_page()
        page.goto(path, wait_until="networkidle")
        cold.append(page.evaluate(MEASURE_JS))
        if i == 0:
            page.goto(path, wait_until="networkidle")
            warm = page.evaluate(MEASURE_JS)
        context.close()
    first = cold[0]
    return {
        "path": path,
        "document_kb": round(first["document_bytes"] / 1024, 1),
        "document_body_kb": round(first["document_body"] / 1024, 1),
        "total_kb": round((first["document_bytes"] + first["resource_bytes"]) / 1024, 1),
        "requests": first["requests"],
        "warm_total_kb": round((warm["document_bytes"] + warm["resource_bytes"]) / 1024, 1),
        "dcl_ms": round(statistics.median(r["dcl_ms"] for r in cold), 1),
        "load_ms": round(statistics.median(r["load_ms"] for r in cold), 1),
        "dom_nodes": first["dom_nodes"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold loads per page (median timing)")
    args = parser.parse_args(argv)
    if reason := browser_unavailable():
        print(f"page_weight: {reason}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory() as tmp, fake_arxiv() as arxiv:
        app = build_site(Path(tmp) / "var", arxiv)
        with serve_app(app) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = browser.new_page()
            page.goto(url + "/")  # warm the server's page cache and imports once
            page.close()
            for name, path in PAGES:
                results[name] = measure(browser, url, path, args.runs)
            browser.close()
        app.state.services.engine.dispose()
    header = f"{'page':<15}{'doc KB':>8}{'total KB':>10}{'req':>5}{'warm KB':>9}{'DCL ms':>8}{'load ms':>9}"
    print(header)
    for name, r in results.items():
        print(
            f"{name:<15}{r['document_kb']:>8}{r['total_kb']:>10}{r['requests']:>5}"
            f"{r['warm_total_kb']:>9}{r['dcl_ms']:>8}{r['load_ms']:>9}"
        )
    out = write_result("page_weight", {"machine": machine_facts(), "runs": args.runs, "pages": results})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
