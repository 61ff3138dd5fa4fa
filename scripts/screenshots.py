"""Regenerate the README screenshots (``make screenshots``): the demo instance in Debian's Chromium.

Builds a throwaway instance with the bundled demo data (the same one the browser tests use, clock
pinned to 2026-08-22), serves it on loopback and saves the main pages into ``docs/screenshots/``:
day, week, paper (with KaTeX), search, trending, dark mode and a 360-px phone.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--format png|jpeg]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.arxiv_server import fake_arxiv  # noqa: E402
from tests.e2e.conftest import CHROMIUM, DESKTOP, LAUNCH_ARGS, PHONE, browser_unavailable, build_site  # noqa: E402
from tests.servers import serve_app  # noqa: E402

# (file stem, path, context options)
SHOTS: list[tuple[str, str, dict]] = [
    ("day", "/", {}),
    ("week", "/papers/week/2026-W34", {}),
    ("paper", "/papers/2503.11945", {}),
    ("search", "/search?q=video+generation", {}),
    ("trending", "/papers/trending", {}),
    ("dark", "/", {"color_scheme": "dark"}),
    ("phone", "/", {"viewport": PHONE, "is_mobile": True, "device_scale_factor": 2, "has_touch": True}),
]


def take(out: Path, fmt: str) -> list[Path]:
    """Write every screenshot into ``out``; returns the files written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp, fake_arxiv() as arxiv:
        app = build_site(Path(tmp) / "var", arxiv)
        with serve_app(app) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            for stem, path, options in SHOTS:
                options = {"viewport": DESKTOP, "color_scheme": "light", **options}
                context = browser.new_context(base_url=url, **options)
                page = context.new_page()
                page.goto(path)
                page.wait_for_load_state("networkidle")
                if stem == "paper":
                    page.locator(".katex").first.wait_for()
                target = out / f"{stem}.{'jpg' if fmt == 'jpeg' else 'png'}"
                extra = {"quality": 82} if fmt == "jpeg" else {}
                page.screenshot(path=str(target), type=fmt, **extra)
                written.append(target)
                context.close()
            browser.close()
        app.state.services.engine.dispose()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--format", choices=["png", "jpeg"], default="png")
    args = parser.parse_args(argv)
    reason = browser_unavailable()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    files = take(args.out, args.format)
    total = sum(f.stat().st_size for f in files)
    for f in files:
        print(f"{f.relative_to(REPO) if f.is_relative_to(REPO) else f}  {f.stat().st_size / 1024:.0f} KiB")
    print(f"total {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
