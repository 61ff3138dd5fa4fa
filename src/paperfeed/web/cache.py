"""An in-process cache of rendered responses, invalidated by the database's ``feed_version``.

Every write that can change a listing bumps ``feed_version`` (see ``db/sequences.py``), so a
worker reads one integer per request and serves the stored bytes when nothing changed. Each
worker keeps its own LRU; they agree because they all read the same version. ETags derive from
the version, so clients can revalidate with ``If-None-Match`` and get a 304.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedBody:
    """A rendered body, its validator and the headers to send with it."""

    body: bytes
    etag: str
    headers: tuple[tuple[str, str], ...] = ()


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


class ResponseCache:
    """Thread-safe LRU of ``(version, key) -> CachedBody``."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[int, Hashable], CachedBody] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: int, key: Hashable) -> CachedBody | None:
        """The stored entry for ``key`` at ``version``, or ``None``."""
        slot = (version, key)
        with self._lock:
            found = self._items.get(slot)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(slot)
            self.hits += 1
            return found

    def put(
        self, version: int, key: Hashable, body: bytes, headers: dict[str, str] | None = None
    ) -> CachedBody:
        """Store ``body`` (and the headers to replay with it) for ``key`` at ``version``."""
        entry = CachedBody(body, _etag(body), tuple((headers or {}).items()))
        with self._lock:
            self._items[(version, key)] = entry
            self._items.move_to_end((version, key))
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
