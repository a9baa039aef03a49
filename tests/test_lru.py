"""``SmallLru``: bounded, least recently used dropped first, one at a time."""

from __future__ import annotations

import pytest

from ils_gateway.lru import SmallLru


def test_the_least_recently_used_goes_first() -> None:
    memo: SmallLru[str, int] = SmallLru(maxsize=2)
    memo["a"] = 1
    memo["b"] = 2
    assert memo.get("a") == 1  # a is now the most recently used
    memo["c"] = 3
    assert "b" not in memo and memo.get("a") == 1 and memo["c"] == 3
    assert len(memo) == 2


def test_a_store_refreshes_and_replaces() -> None:
    memo: SmallLru[str, int] = SmallLru(maxsize=2)
    memo["a"] = 1
    memo["b"] = 2
    memo["a"] = 10  # replaced, and most recently used
    memo["c"] = 3
    assert sorted(memo) == ["a", "c"] and memo.get("a") == 10


def test_missing_pop_and_clear() -> None:
    memo: SmallLru[str, int | None] = SmallLru(maxsize=3)
    assert memo.get("x") is None and memo.get("x", 7) == 7
    memo["none"] = None  # a stored None is a value, not a miss
    assert memo.get("none", 7) is None
    assert memo.pop("none", 5) is None and memo.pop("none", 5) == 5
    memo["a"] = 1
    memo.clear()
    assert len(memo) == 0
    with pytest.raises(KeyError):
        memo["a"]
    with pytest.raises(ValueError):
        SmallLru(maxsize=0)
