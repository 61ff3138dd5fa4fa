"""HTTP load test: ``paperfeed serve --workers N`` on a free loopback port, driven by ``wrk``.

    python bench/api_load.py                                  # HF data + the 75k snapshot sample
    python bench/api_load.py --snapshot-papers 0 --duration 5 # quick: HF data only, 5 s per URL
    python bench/api_load.py --data-dir D                     # reuse an instance (adds HF data if missing)

Targets (each: a short warm-up, then ``wrk -t<threads> -c<connections> -d<duration>s --latency``):

* ``api``    ``/api/daily_papers?date=<busiest feed day>``
* ``page``   ``/papers?date=<same day>`` (the daily HTML page)
* ``search`` ``/api/papers/search?q=...`` cycling through realistic queries (wrk Lua script)

All traffic goes to 127.0.0.1. The server is started in its own process group and killed at
the end, also on errors and Ctrl-C. Without ``wrk`` on PATH (``apt-get install wrk``) an
asyncio/httpx load generator is used instead (slower client: numbers are lower bounds).
Raw results go to ``bench/out/api_load-<time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import orjson

from common import (
    HF_DAILY,
    SNAPSHOT_SAMPLE,
    Phase,
    count_lines,
    loadavg,
    machine_facts,
    make_queries,
    temp_dir,
    write_result,
    write_snapshot_of_size,
)
from paperfeed.config import Settings
from paperfeed.db.engine import get_engine, upgrade
from paperfeed.ingest.service import ingest_file
from paperfeed.search.indexer import update_keyword_index
from paperfeed.search.keyword import TantivyKeywordIndex

TARGET_API_RPS = 1_000
HOST = "127.0.0.1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, help="existing instance to serve (kept as is + HF data)")
    parser.add_argument("--hf", type=Path, default=HF_DAILY, help="HF daily papers JSONL(.gz)")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT_SAMPLE, help="arXiv snapshot JSONL(.gz)")
    parser.add_argument(
        "--snapshot-papers", type=int, default=-1, help="papers from --snapshot (-1: all, 0: none)"
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per URL")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per URL")
    parser.add_argument("--targets", default="api,page,search", help="comma list of api,page,search")
    parser.add_argument("--date", help="feed day to load (default: the day with the most papers)")
    parser.add_argument("--queries", type=int, default=300, help="distinct search queries")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--out", type=Path, help="JSON result path (default bench/out/...)")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- instance
def prepare_instance(data_dir: Path, args: argparse.Namespace, work: Path) -> dict:
    """Make sure ``data_dir`` holds HF feed data (+ the snapshot when fresh) and an index."""
    settings = Settings(data_dir=data_dir)
    upgrade(settings)
    engine = get_engine(settings)
    info: dict = {"data_dir": str(data_dir)}
    with engine.connect() as conn:
        from sqlalchemy import text

        papers = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        feed = conn.execute(text("SELECT count(*) FROM feed_entries")).scalar_one()
    if papers == 0 and args.snapshot_papers != 0:
        path = args.snapshot
        if args.snapshot_papers > 0 and args.snapshot_papers != count_lines(path):
            path = work / f"snapshot-{args.snapshot_papers}.jsonl.gz"
            write_snapshot_of_size(args.snapshot, args.snapshot_papers, path)
        with Phase() as p:
            report = ingest_file(settings, engine, "arxiv-snapshot", path)
        info["snapshot_ingest"] = p.result(records=report.records, inserted=report.inserted)
    if feed == 0:
        with Phase() as p:
            report = ingest_file(settings, engine, "hf-daily", args.hf)
        info["hf_ingest"] = p.result(
            records=report.records, inserted=report.inserted, feed_entries=report.feed_entries
        )
    with Phase() as p:
        built = update_keyword_index(
            engine,
            TantivyKeywordIndex(settings.index_dir),
            heap_mb=settings.index_writer_heap_mb,
            threads=settings.index_threads,
        )
    info["index_update"] = p.result(indexed=built.indexed)
    with engine.connect() as conn:
        from sqlalchemy import text

        info["papers"] = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        info["feed_entries"] = conn.execute(text("SELECT count(*) FROM feed_entries")).scalar_one()
        busiest = conn.execute(
            text(
                "SELECT feed_date, count(*) AS n FROM feed_entries GROUP BY feed_date "
                "ORDER BY n DESC, feed_date DESC LIMIT 1"
            )
        ).first()
    info["busiest_day"] = {"date": str(busiest[0]), "papers": busiest[1]} if busiest else None
    engine.dispose()
    return info


# --------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def paperfeed_command() -> list[str]:
    script = Path(sys.executable).with_name("paperfeed")
    return [str(script)] if script.exists() else [sys.executable, "-m", "paperfeed.cli"]


class Server:
    """``paperfeed serve`` in its own process group; ``stop()`` ends that group (only it)."""

    def __init__(self, data_dir: Path, port: int, workers: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        # steady state: an instance whose papers are embedded already has an idle background
        # embedder; this one has none, so switch it off instead of letting it eat a core
        env = dict(os.environ, PAPERFEED_DATA_DIR=str(data_dir), PAPERFEED_VECTOR_INDEX_INTERVAL_SECONDS="0")
        cmd = [
            *paperfeed_command(),
            "--data-dir",
            str(data_dir),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.command = cmd

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 90.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response,
            ):
                if response.status == 200:
                    return time.perf_counter() - t0
            time.sleep(0.3)
        raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # uvicorn's workers share the group: if one outlived the master, end it too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 0)
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid`` (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
            fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
            if int(fields[2]) == pgid:  # field 5: pgrp
                total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return total / ticks


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children (wrk runs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- load generators
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unparsable wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """Requests/s, latency percentiles (ms), request count, errors from ``wrk --latency`` output."""
    out: dict = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    out["requests_per_s"] = float(match.group(1)) if match else 0.0
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.MULTILINE)
        if match:
            out[f"p{pct}_ms"] = round(_ms(match.group(1)), 3)
    match = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", output)
    if match:
        out["mean_ms"], out["max_ms"] = round(_ms(match.group(1)), 3), round(_ms(match.group(3)), 3)
    match = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", output)
    if match:
        out["requests"] = int(match.group(1))
        out["read"] = match.group(3)
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    out["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    out["socket_errors"] = sum(int(x) for x in match.groups()) if match else 0
    return out


def run_wrk(url: str, args: argparse.Namespace, duration: int, script: Path | None) -> dict:
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return {"command": " ".join(cmd), **parse_wrk(done.stdout), "raw": done.stdout}


def run_httpx(urls: list[str], args: argparse.Namespace, duration: int) -> dict:
    """Fallback load generator: ``connections`` asyncio tasks on one httpx client."""
    import asyncio

    import httpx

    from common import percentiles

    async def main() -> dict:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        deadline = time.perf_counter() + duration
        limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:

            async def worker(offset: int) -> None:
                nonlocal errors
                i = offset
                while time.perf_counter() < deadline:
                    url = urls[i % len(urls)]
                    i += 1
                    t0 = time.perf_counter()
                    try:
                        response = await client.get(url)
                        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(args.connections)))
            elapsed = time.perf_counter() - t0
        stats = percentiles(latencies)
        return {
            "command": f"httpx asyncio, {args.connections} connections, {duration}s",
            "requests_per_s": round(len(latencies) / elapsed, 1),
            "requests": len(latencies),
            "p50_ms": stats.get("p50_ms"),
            "p90_ms": stats.get("p90_ms"),
            "p99_ms": stats.get("p99_ms"),
            "max_ms": stats.get("max_ms"),
            "mean_ms": stats.get("mean_ms"),
            "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 400),
            "socket_errors": errors,
        }

    return asyncio.run(main())


def write_lua(paths: list[str], dest: Path) -> Path:
    """A wrk script that cycles through ``paths`` (each wrk thread starts at a different offset)."""
    body = ",\n".join(f'  "{p}"' for p in paths)  # paths are percent-encoded: no quotes or backslashes
    dest.write_text(
        "local paths = {\n" + body + "\n}\n"
        "local i = 0\n"
        "setup = function(thread) thread:set('offset', math.random(#paths)) end\n"
        "init = function(args) i = tonumber(offset) or 0 end\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\n"
        "end\n"
    )
    return dest


def probe(url: str) -> dict:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read()
        status = response.status
    info = {
        "status": status,
        "bytes": len(body),
        "first_request_ms": round((time.perf_counter() - t0) * 1000, 2),
    }
    if body[:1] == b"[":
        info["items"] = len(orjson.loads(body))
    return info


# --------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> dict:
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "httpx"
    if client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk (or use --client httpx)")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    result: dict = {
        "benchmark": "api_load",
        "machine": machine_facts(),
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"argv": sys.argv, "client": client},
        "target_api_requests_per_s": TARGET_API_RPS,
        "note": "load generator and server share this machine's cores",
    }
    with temp_dir("paperfeed-bench-api-") as work:
        data_dir = args.data_dir or (work / "data")
        print(f"[bench] preparing instance in {data_dir}", file=sys.stderr)
        result["instance"] = prepare_instance(data_dir, args, work)
        day = args.date or (result["instance"]["busiest_day"] or {}).get("date")
        if not day:
            raise SystemExit("no feed entries: cannot pick a day")
        port = args.port or free_port()
        server = Server(data_dir, port, args.workers, work / "server.log")
        result["server_command"] = " ".join(server.command)
        try:
            result["server_ready_s"] = round(server.wait_ready(), 2)
            queries = [q for _, q in make_queries(args.hf, args.queries, seed=7)]
            search_paths = [f"/api/papers/search?q={quote(q, safe='')}" for q in queries]
            urls = {
                "api": f"{server.base}/api/daily_papers?date={day}",
                "page": f"{server.base}/papers?date={day}",
                "search": f"{server.base}{search_paths[0]}",
            }
            lua = write_lua(search_paths, work / "search.lua")
            for name in targets:
                url = urls[name]
                result.setdefault("probes", {})[name] = probe(url)
                print(f"[bench] load {name}: {url}", file=sys.stderr)
                script = lua if name == "search" else None
                many = [f"{server.base}{p}" for p in search_paths] if name == "search" else [url]
                if client == "wrk":
                    run_wrk(url, args, args.warmup, script)
                else:
                    run_httpx(many, args, args.warmup)
                server_cpu0, client_cpu0 = group_cpu_seconds(server.proc.pid), children_cpu_seconds()
                if client == "wrk":
                    measured = run_wrk(url, args, args.duration, script)
                else:
                    measured = run_httpx(many, args, args.duration)
                server_cpu = group_cpu_seconds(server.proc.pid) - server_cpu0
                client_cpu = children_cpu_seconds() - client_cpu0
                requests = measured.get("requests") or 0
                measured["server_cpu_s"] = round(server_cpu, 2)
                measured["client_cpu_s"] = round(client_cpu, 2)
                if requests:
                    per_request = server_cpu / requests
                    measured["server_cpu_ms_per_request"] = round(per_request * 1000, 3)
                    # if the server had every core to itself and nothing else ran
                    measured["cpu_bound_capacity_rps"] = round((os.cpu_count() or 1) / per_request)
                measured["url"] = (
                    url if name != "search" else f"{server.base}/api/papers/search?q=<{len(queries)} queries>"
                )
                measured["loadavg_after"] = loadavg()
                result.setdefault("results", {})[name] = measured
            result["server_log_tail"] = server.log_tail(1500)
        finally:
            server.stop()
    api = result.get("results", {}).get("api")
    if api:
        result["api_target_met"] = api["requests_per_s"] >= TARGET_API_RPS and api.get("non_2xx", 0) == 0
    result["machine"]["loadavg_at_end"] = loadavg()
    return result


def summary(result: dict) -> str:
    inst = result["instance"]
    day = inst["busiest_day"]
    lines = [
        f"HTTP load ({result['params']['client']}, {result['params']['workers']} workers, "
        f"{result['params']['connections']} connections): {inst['papers']:,} papers, "
        f"day {day['date']} with {day['papers']} papers"
    ]
    for name, r in result.get("results", {}).items():
        errors = f" non-2xx {r.get('non_2xx', 0)} socket errors {r.get('socket_errors', 0)}"
        lines.append(
            f"  {name:<7} {r['requests_per_s']:9.1f} req/s  p50 {r.get('p50_ms', 0):8.2f} ms  "
            f"p99 {r.get('p99_ms', 0):8.2f} ms {errors}"
        )
        if "server_cpu_ms_per_request" in r:
            lines.append(
                f"          server CPU {r['server_cpu_ms_per_request']:.2f} ms/request "
                f"(=> at most ~{r['cpu_bound_capacity_rps']:,} req/s on {os.cpu_count()} idle cores)"
            )
    if "api_target_met" in result:
        met = "MET" if result["api_target_met"] else "NOT MET"
        lines.append(f"  API target {TARGET_API_RPS:,} req/s: {met}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum, _frame):  # turn SIGTERM into an exception so the server gets stopped
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    result = run(args)
    write_result("api_load", result, args.out)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
