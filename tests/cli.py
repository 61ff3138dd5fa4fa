"""Run the ``paperfeed`` command as a user would: a subprocess with its own environment."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(data_dir, *args, input_text=None, env=None) -> subprocess.CompletedProcess:
    """``python -m paperfeed.cli ARGS`` against the instance in ``data_dir``; never raises on exit codes."""
    return subprocess.run(
        [sys.executable, "-m", "paperfeed.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, PAPERFEED_DATA_DIR=str(data_dir), **(env or {})),
        input=input_text,
        timeout=120,
        check=False,
    )
