"""``SmallLru``: a bounded mapping that drops its least recently used entry, cheap on a hit.

The request hot path looks values up in a few memos on every request (resolved sessions,
annotated loans, rendered bodies, patron scopes). cachetools' ``LRUCache`` costs about five
Python calls per hit (``get`` → ``__contains__`` → ``__getitem__`` → its ``Cache`` base and the
order update); here a hit is one ``OrderedDict`` look-up and one ``move_to_end``, both in C.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")


class SmallLru(Generic[K, V]):
    """At most ``maxsize`` entries; a look-up or a store makes its entry the most recently
    used, a store beyond the bound drops the least recently used one (one at a time)."""

    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: object = None) -> object:
        """The value for ``key`` (now the most recently used), else ``default``."""
        data = self._data
        value = data.get(key, _MISSING)
        if value is _MISSING:
            return default
        data.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.maxsize:
            data.popitem(last=False)

    def __getitem__(self, key: K) -> V:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def pop(self, key: K, default: V | None = None) -> V | None:
        """Remove ``key``; its value, else ``default``."""
        return self._data.pop(key, default)

    def clear(self) -> None:
        """Forget every entry."""
        self._data.clear()


_MISSING = object()
