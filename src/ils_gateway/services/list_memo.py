"""``AnnotatedLists``: the last annotated list per key, answered again while the list read is
the very same objects and what the annotation depended on is equal.

Cached reads hand out the same frozen ``Loan``/``Hold`` objects until the read cache is
refreshed, so the list annotated last time (renewability, allowed actions, next opening day)
is the answer again; the same annotated objects then let the rendered body be answered from
memory (``api.rendered``; issue 17's hot path). Each entry keeps the objects it compares by
identity alive, so their ids cannot be reused while it lives. Bounded, least recently used
first.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from ils_gateway.lru import SmallLru

T = TypeVar("T")


class AnnotatedLists(Generic[T]):
    """Annotated lists by key (a patron, or a patron and channel)."""

    __slots__ = ("_lists",)

    def __init__(self, maxsize: int) -> None:
        # key -> (the list as read, what the annotation depended on, the annotated list)
        self._lists: SmallLru[Hashable, tuple[tuple[T, ...], tuple[object, ...], tuple[T, ...]]]
        self._lists = SmallLru(maxsize=maxsize)

    def get(self, key: Hashable, read: Sequence[T], basis: tuple[object, ...]) -> list[T] | None:
        """The list annotated from these very objects on an equal ``basis``, else None."""
        known = self._lists.get(key)
        if (
            known is None
            or known[1] != basis  # element by element, identity first
            or len(known[0]) != len(read)
            or not all(map(operator.is_, known[0], read))
        ):
            return None
        return list(known[2])

    def put(
        self, key: Hashable, read: Sequence[T], basis: tuple[object, ...], annotated: Sequence[T]
    ) -> None:
        """Remember ``annotated`` as what ``read`` gives on ``basis``."""
        self._lists[key] = (tuple(read), basis, tuple(annotated))
