"""The result cache: an in-process LRU of pre-serialised bodies in front of Redis.

Results are immutable (a key's content never changes), so a body once read
can be served from memory for as long as it fits, without revalidation. The
bytes are exactly what the worker wrote to ``{prefix}:result:{key}`` (with a
TTL of ``result_ttl``): nothing is parsed or re-serialised on the hot path.
The LRU also keeps answering the results it holds while Redis is down.
Lookups are counted by layer and result (``tivcast_result_cache_lookups_total``, :mod:`workers.metrics`).

Both classes are used from one event loop (no locks): the API's, or the
embedded service's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from workers.metrics import CACHE_LOOKUPS

__all__ = ["LRU", "ResultCache"]

_MEMORY_HIT, _MEMORY_MISS = CACHE_LOOKUPS.labels("memory", "hit"), CACHE_LOOKUPS.labels("memory", "miss")
_REDIS_HIT, _REDIS_MISS = CACHE_LOOKUPS.labels("redis", "hit"), CACHE_LOOKUPS.labels("redis", "miss")


class LRU:
    """Least-recently-used map of bytes, bounded by entry count and total size."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self.size = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: str) -> bytes | None:
        body = self._items.get(key)
        if body is not None:
            self._items.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> None:
        """Keep ``body``; a body larger than the whole budget is not kept at all."""
        if len(body) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        self.size -= len(old) if old is not None else 0
        self._items[key] = body
        self.size += len(body)
        while len(self._items) > self.max_entries or self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)


class ResultCache:
    """The LRU first, then the store behind it (Redis, or nothing in embedded mode)."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.lru = LRU(max_entries, max_bytes)

    def peek(self, key: str) -> bytes | None:
        """The body if it is in memory. Counts hits only: a miss here is counted by the lookup that follows."""
        body = self.lru.get(key)
        if body is not None:
            _MEMORY_HIT.inc()
        return body

    async def get(self, key: str, fetch: Callable[[str], Awaitable[bytes | None]] | None = None) -> bytes | None:
        """The body of ``key``: from memory, else from ``fetch`` (then remembered); no ``fetch``: memory only."""
        body = self.lru.get(key)
        if body is not None:
            _MEMORY_HIT.inc()
            return body
        _MEMORY_MISS.inc()
        if fetch is None:
            return None
        body = await fetch(key)
        if body is None:
            _REDIS_MISS.inc()
            return None
        _REDIS_HIT.inc()
        self.lru.put(key, body)
        return body
