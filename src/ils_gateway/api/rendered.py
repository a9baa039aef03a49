"""List bodies (loans, holds) remembered by the identity of the frozen entries they show.

A portal's "My Library" page asks for the same lists again and again. While the read cache is
fresh the services hand out the very same frozen ``Loan``/``Hold`` objects (annotations are
remembered per object too), so a body built from the same objects, with the same e-book part
and freshness, is the same bytes: serialise it once, answer repeats from here.

The key is the ids of the entries; each remembered body keeps its entries alive, so an id in a
key cannot be reused by another object while the body is remembered. Bounded: when full it
starts again (patrons whose lists changed leave entries nobody will ask for).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

from ils_gateway.lru import SmallLru
from ils_gateway.services.ebooks.merge import EbookPart

MAX_BODIES = 2048

PartKey = tuple[bool, str | None, int] | None


def _part_key(part: EbookPart | None) -> PartKey:
    return None if part is None else (part.available, part.detail, part.count)


class RenderedLists:
    """Serialised list bodies by (list kind, entry ids, e-book part, freshness)."""

    def __init__(self, max_bodies: int = MAX_BODIES) -> None:
        self._max = max_bodies
        # Least recently used goes first, one at a time (never all at once: issue 17).
        self._bodies: SmallLru[tuple[Any, ...], tuple[tuple[object, ...], bytes]] = SmallLru(
            maxsize=max_bodies
        )
        self.hits = 0
        self.misses = 0

    def body(
        self,
        kind: str,
        entries: Sequence[object],
        part: EbookPart | None,
        stale: bool,
        as_of: datetime | None,
        build: Callable[[], BaseModel | dict[str, Any]],
    ) -> bytes:
        """The JSON of ``build()``, from memory when these very entries were rendered before."""
        key = (kind, tuple(map(id, entries)), _part_key(part), stale, as_of)
        known = self._bodies.get(key)
        if known is not None:
            self.hits += 1
            return known[1]
        self.misses += 1
        raw = to_json(build())
        self._bodies[key] = (tuple(entries), raw)
        return raw

    def __len__(self) -> int:
        return len(self._bodies)
