"""One polite HTTP transport for the services we harvest from (arXiv's Atom API and OAI-PMH).

:class:`PoliteFetcher` GETs one base URL with at least ``min_interval`` seconds between the end
of one request and the start of the next (arXiv asks for 3 s), a timeout per request, and
retries with exponential backoff (``backoff``, ``2·backoff``, ...) on timeouts, connection
errors and 5xx answers; a 5xx with ``Retry-After`` (seconds or an HTTP date) waits that long
instead, capped at ``max_retry_after``. 4xx answers are returned at once: retrying cannot fix
them. Requests through one fetcher are serialised, so concurrent callers share the pacing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from paperfeed import __version__


class FetchGaveUp(Exception):
    """Every attempt failed; ``problem`` describes the last failure."""

    def __init__(self, problem: str, *, attempts: int, timed_out: bool) -> None:
        super().__init__(problem)
        self.problem = problem
        self.attempts = attempts
        self.timed_out = timed_out  # every failure was a timeout

    def describe(self) -> str:
        """``"HTTP 503 after 4 attempts"``."""
        return f"{self.problem} after {self.attempts} attempt{'s' * (self.attempts > 1)}"


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (delay in seconds or an HTTP date) → seconds to wait, or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class PoliteFetcher:
    """Paced, retried GETs of ``base_url`` (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        purpose: str,
        min_interval: float,
        timeout: float,
        retries: int,
        backoff: float,
        max_retry_after: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url
        self.min_interval = max(0.0, min_interval)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self.max_retry_after = max(0.0, max_retry_after)
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last_request: float | None = None
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": f"paperfeed/{__version__} (self-hosted daily papers; {purpose})"},
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    def get(self, params: dict[str, str]) -> httpx.Response:
        """The first answer below 500 (2xx–4xx); raises :class:`FetchGaveUp` when none came."""
        problem, timed_out, delay = "no answer", True, 0.0
        with self._lock:
            for attempt in range(self.retries + 1):
                if attempt:
                    self._wait(delay)
                if self._last_request is not None:
                    self._wait(self._last_request + self.min_interval - self._monotonic())
                delay = self.backoff * 2**attempt
                try:
                    response = self._http.get(self.base_url, params=params)
                except httpx.TimeoutException:
                    problem = f"no answer within {self.timeout:g} s"
                    continue
                except httpx.HTTPError as exc:
                    timed_out, problem = False, f"connection failed ({type(exc).__name__})"
                    continue
                finally:
                    self._last_request = self._monotonic()
                if response.status_code >= 500:
                    timed_out, problem = False, f"HTTP {response.status_code}"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    if wait is not None:  # the server says when to come back (arXiv: 503 + Retry-After)
                        delay = min(wait, self.max_retry_after)
                    continue
                return response
        raise FetchGaveUp(problem, attempts=self.retries + 1, timed_out=timed_out)
