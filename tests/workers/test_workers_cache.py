"""The in-process LRU of result bodies."""

from __future__ import annotations

from tests.workers.conftest import run
from workers.cache import LRU, ResultCache


class TestLRU:
    def test_evicts_the_least_recently_used_entry(self) -> None:
        lru = LRU(max_entries=2, max_bytes=1000)
        lru.put("a", b"1")
        lru.put("b", b"2")
        assert lru.get("a") == b"1"  # "b" is now the least recently used
        lru.put("c", b"3")
        assert "b" not in lru
        assert (lru.get("a"), lru.get("c")) == (b"1", b"3")

    def test_evicts_by_total_size(self) -> None:
        lru = LRU(max_entries=100, max_bytes=10)
        lru.put("a", b"x" * 6)
        lru.put("b", b"y" * 6)
        assert "a" not in lru
        assert lru.size == 6

    def test_replacing_an_entry_keeps_the_size_right(self) -> None:
        lru = LRU(max_entries=10, max_bytes=100)
        lru.put("a", b"x" * 10)
        lru.put("a", b"y" * 3)
        assert (len(lru), lru.size, lru.get("a")) == (1, 3, b"yyy")

    def test_a_body_larger_than_the_budget_is_not_kept(self) -> None:
        lru = LRU(max_entries=10, max_bytes=4)
        lru.put("small", b"ok")
        lru.put("big", b"too large")
        assert "big" not in lru
        assert lru.get("small") == b"ok"


class TestResultCache:
    def test_fetches_once_then_answers_from_memory(self) -> None:
        calls: list[str] = []

        async def fetch(key: str) -> bytes | None:
            calls.append(key)
            return b"body" if key == "known" else None

        async def scenario() -> list[bytes | None]:
            cache = ResultCache(10, 1000)
            return [await cache.get("known", fetch), await cache.get("known", fetch), await cache.get("nope", fetch),
                    await cache.get("nope", fetch)]

        assert run(scenario()) == [b"body", b"body", None, None]
        assert calls == ["known", "nope", "nope"]  # misses are not cached: the result may appear later
