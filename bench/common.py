"""Helpers shared by the benchmark scripts: machine facts, timing, temp instances, JSON output.

Every script in ``bench/`` is run as ``python bench/<name>.py`` (so this module is importable
as ``common``), writes one raw JSON result under ``bench/out/`` and cleans up after itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import math
import os
import platform
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
DATA_DIR = Path(os.environ.get("PAPERFEED_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
SNAPSHOT_SAMPLE = DATA_DIR / "arxiv_snapshot_sample.jsonl.gz"
HF_DAILY = DATA_DIR / "hf_daily_papers.jsonl.gz"


# --------------------------------------------------------------------------- machine facts
def machine_facts() -> dict:
    """What the numbers depend on: cores, CPU model, RAM, load, library versions."""
    cpu_model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_total_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_total_kb = int(line.split()[1])
                break
    versions = {}
    for name in ("tantivy", "sqlalchemy", "orjson", "uvicorn", "fastapi", "starlette"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[name] = version(name)
    import sqlite3

    return {
        "date": dt.date.today().isoformat(),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "mem_total_gib": round(mem_total_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "versions": versions,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "code": code_fingerprint(),
    }


def code_fingerprint() -> dict:
    """Which code was measured: a hash of ``src/paperfeed`` (no git needed) and its newest file."""
    import hashlib

    src = REPO_ROOT / "src" / "paperfeed"
    digest = hashlib.sha256()
    newest = (0.0, "")
    for path in sorted(src.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".html", ".ini", ".mako"}:
            digest.update(str(path.relative_to(src)).encode())
            digest.update(path.read_bytes())
            newest = max(newest, (path.stat().st_mtime, str(path.relative_to(REPO_ROOT))))
    return {
        "src_sha256": digest.hexdigest()[:16],
        "newest_file": newest[1],
        "newest_mtime": dt.datetime.fromtimestamp(newest[0]).isoformat(timespec="seconds"),
    }


class ThreadProfile:
    """cProfile of the calling thread *and* of Python threads started while it runs.

    Plain cProfile only sees the thread that enabled it; ingest stores batches on a writer
    thread, so that thread gets its own profiler (via ``threading.setprofile``), merged at the end.
    """

    def __init__(self) -> None:
        import cProfile

        self._cprofile = cProfile
        self.main = cProfile.Profile()
        self.others: list = []

    def _hook(self, *_args) -> None:
        profile = self._cprofile.Profile()
        self.others.append(profile)
        profile.enable()  # replaces this hook for the new thread

    def __enter__(self) -> ThreadProfile:
        import threading

        threading.setprofile(self._hook)
        self.main.enable()
        return self

    def __exit__(self, *exc) -> None:
        import threading

        self.main.disable()
        threading.setprofile(None)

    def stats(self):
        import pstats

        stats = pstats.Stats(self.main)
        for other in self.others:
            with contextlib.suppress(TypeError):  # a thread that never ran Python code
                stats.add(other)
        return stats


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- timing
def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads, e.g. tantivy's indexers)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Phase:
    """``with Phase() as p: ...`` then ``p.result()``: wall, CPU, load and peak RSS of a block."""

    def __enter__(self) -> Phase:
        self.load_before = loadavg()
        self.cpu0 = cpu_seconds()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = cpu_seconds() - self.cpu0

    def result(self, **extra) -> dict:
        return {
            "wall_s": round(self.wall, 3),
            "cpu_s": round(self.cpu, 3),
            "loadavg_before": self.load_before,
            "loadavg_after": loadavg(),
            "peak_rss_mb_so_far": peak_rss_mb(),
            **extra,
        }


def percentiles(samples_s: list[float]) -> dict:
    """p50/p90/p99/max/mean of latencies given in seconds, reported in milliseconds."""
    if not samples_s:
        return {"n": 0}
    ordered = sorted(samples_s)

    def pick(q: float) -> float:
        # nearest-rank percentile
        index = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
        return ordered[index]

    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.50) * 1000, 3),
        "p90_ms": round(pick(0.90) * 1000, 3),
        "p99_ms": round(pick(0.99) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


# --------------------------------------------------------------------------- files and dirs
def write_result(name: str, data: dict, out: Path | None = None) -> Path:
    """Write ``data`` as ``bench/out/<name>-<timestamp>.json`` (or ``out``) and return the path."""
    if out is None:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = OUT_DIR / f"{name}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    print(f"[bench] wrote {out}", file=sys.stderr)
    return out


def dir_size(path: Path) -> int:
    """Bytes under ``path`` (follows a top-level symlink, not nested ones)."""
    path = Path(path).resolve()
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


@contextlib.contextmanager
def temp_dir(prefix: str, *, keep: bool = False, base: str = "/tmp") -> Iterator[Path]:
    """A fresh folder under /tmp, removed afterwards unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield path
    finally:
        if keep:
            print(f"[bench] kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def count_lines(path: Path) -> int:
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


# --------------------------------------------------------------------------- replicated snapshot
_ID_PREFIX = b'{"id":"'


def synthetic_id(serial: int) -> str:
    """A new-style arXiv id that no real paper has: yymm from 8001 upwards (1980s), 5 digits.

    Real new-style ids start at 0704; ``yy`` 80..99 never occurs, so replicated copies can
    never collide with real papers (24M ids available).
    """
    bucket, number = divmod(serial, 100_000)
    if bucket >= 20 * 12:
        raise ValueError("too many synthetic ids")
    return f"{80 + bucket // 12:02d}{bucket % 12 + 1:02d}.{number:05d}"


def _with_id(line: bytes, new_id: str) -> bytes:
    """``line`` with its ``id`` value replaced; the rest of the bytes stay exactly as they were."""
    if line.startswith(_ID_PREFIX):
        end = line.index(b'"', len(_ID_PREFIX))
        return _ID_PREFIX + new_id.encode() + line[end:]
    obj = orjson.loads(line)  # key order differs from Kaggle's: re-serialise (rare)
    obj["id"] = new_id
    return orjson.dumps(obj) + b"\n"


def write_snapshot_of_size(
    source: Path, papers: int, dest: Path, *, compresslevel: int = 1, first_serial: int | None = None
) -> dict:
    """Write a snapshot file with exactly ``papers`` lines built from ``source``.

    The first copy is ``source`` verbatim (truncated when ``papers`` is smaller); every further
    copy repeats the real lines with fresh synthetic ids (see :func:`synthetic_id`), so each
    line is a new paper with real title/abstract/authors/categories/dates. With
    ``first_serial``, every line gets a synthetic id, numbered from there (papers no other
    file of this function has made, as long as the serial ranges don't overlap).
    """
    opener = gzip.open if _is_gzip(source) else open
    with opener(source, "rb") as handle:
        lines = [line if line.endswith(b"\n") else line + b"\n" for line in handle if line.strip()]
    written = 0
    serial = first_serial or 0
    t0 = time.perf_counter()
    gz = dest.suffix == ".gz"
    with gzip.open(dest, "wb", compresslevel=compresslevel) if gz else open(dest, "wb") as out:
        copy = 0
        while written < papers:
            take = lines[: papers - written]
            if copy == 0 and first_serial is None:
                out.writelines(take)
            else:
                chunk = []
                for line in take:
                    chunk.append(_with_id(line, synthetic_id(serial)))
                    serial += 1
                out.writelines(chunk)
            written += len(take)
            copy += 1
    return {
        "source_lines": len(lines),
        "papers": written,
        "copies": copy,
        "bytes": dest.stat().st_size,
        "seconds": round(time.perf_counter() - t0, 2),
    }


# --------------------------------------------------------------------------- realistic queries
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_STOP = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "of",
    "on", "or", "that", "the", "to", "via", "with", "without", "we", "our", "can", "do", "does",
}  # fmt: skip


def load_hf_texts(path: Path, limit: int | None = None) -> tuple[list[str], list[str]]:
    """Titles and AI keywords from the HF daily papers JSONL(.gz)."""
    titles: list[str] = []
    keywords: list[str] = []
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            obj = orjson.loads(line)
            if obj.get("title"):
                titles.append(" ".join(obj["title"].split()))
            for kw in obj.get("ai_keywords") or []:
                if isinstance(kw, str) and kw.strip():
                    keywords.append(" ".join(kw.split()))
            if limit and len(titles) >= limit:
                break
    return titles, keywords


def make_queries(path: Path, count: int, *, seed: int = 42) -> list[tuple[str, str]]:
    """``count`` realistic ``(kind, query)`` pairs from HF titles and AI keywords.

    Kinds: ``title_words`` (1–5 consecutive title words), ``keyword`` (an HF ai_keyword, often
    a multi-word term), ``phrase`` (2–3 consecutive title words in quotes), ``two_keywords``.
    """
    rng = random.Random(seed)
    titles, keywords = load_hf_texts(path)
    if not titles:
        raise SystemExit(f"no titles in {path}")
    keywords = keywords or titles
    out: list[tuple[str, str]] = []
    while len(out) < count:
        roll = rng.random()
        if roll < 0.5:
            words = _WORD.findall(rng.choice(titles))
            if not words:
                continue
            n = rng.randint(1, min(5, len(words)))
            start = rng.randint(0, len(words) - n)
            picked = words[start : start + n]
            if all(w.lower() in _STOP for w in picked):
                continue
            out.append(("title_words", " ".join(picked)))
        elif roll < 0.75:
            out.append(("keyword", rng.choice(keywords)))
        elif roll < 0.9:
            words = [w for w in _WORD.findall(rng.choice(titles))]
            if len(words) < 2:
                continue
            n = rng.randint(2, min(3, len(words)))
            start = rng.randint(0, len(words) - n)
            out.append(("phrase", '"' + " ".join(words[start : start + n]) + '"'))
        else:
            out.append(("two_keywords", f"{rng.choice(keywords)} {rng.choice(keywords)}"))
    return out


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def rebuild_keyword_index(engine, index, settings) -> tuple:
    """Rebuild ``index`` from scratch inside a :class:`Phase`; returns ``(IndexReport, phase result)``."""
    from paperfeed.search.indexer import update_keyword_index

    with Phase() as phase:
        built = update_keyword_index(
            engine, index, rebuild=True, heap_mb=settings.index_writer_heap_mb, threads=settings.index_threads
        )
    return built, phase.result(
        indexed=built.indexed,
        report_seconds=round(built.seconds, 3),
        rate=round(built.indexed / built.seconds) if built.seconds else 0,
    )
