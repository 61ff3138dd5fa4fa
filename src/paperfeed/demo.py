"""The bundled demo data set: real papers shipped inside the package (see demo_data/README.md)."""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).parent / "demo_data"


def demo_files() -> list[tuple[str, Path]]:
    """``(ingest kind, path)`` pairs in load order: arXiv metadata first, then the HF feed."""
    return [
        ("arxiv-snapshot", DEMO_DIR / "arxiv_snapshot_demo.jsonl.gz"),
        ("hf-daily", DEMO_DIR / "hf_daily_demo.jsonl.gz"),
    ]
