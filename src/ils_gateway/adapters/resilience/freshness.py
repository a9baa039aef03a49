"""How a caller learns that a read was answered from the last good data (``stale``).

``ResilientBackend`` keeps the ``ILSBackend`` signatures, so a stale answer cannot change the
return type. Instead, a caller that cares opens a ``track_freshness()`` block (e.g. one per API
request, in a middleware) and reads the report after its reads::

    with track_freshness() as freshness:
        loans = await backend.list_loans(patron)
    if freshness.stale:
        body["stale"], body["as_of"] = True, freshness.as_of.isoformat()

The report lives in a context variable, so concurrent requests never see each other's reports,
and tasks started inside the block (``asyncio.gather``) report into the same one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


@dataclass
class Freshness:
    """Whether any read in a ``track_freshness()`` block was served stale, and from when."""

    stale: bool = False
    as_of: datetime | None = None  # when the oldest stale answer was read from the backend

    def mark_stale(self, as_of: datetime) -> None:
        """Record one stale answer read from the backend at ``as_of``."""
        self.stale = True
        if self.as_of is None or as_of < self.as_of:
            self.as_of = as_of


_current: ContextVar[Freshness | None] = ContextVar("ils_gateway_freshness", default=None)


@contextmanager
def track_freshness() -> Iterator[Freshness]:
    """Collect the freshness of every resilient read made inside the block."""
    report = Freshness()
    token = _current.set(report)
    try:
        yield report
    finally:
        _current.reset(token)


def report_stale(as_of: datetime) -> None:
    """Mark the current block's report stale (no-op outside ``track_freshness()``)."""
    report = _current.get()
    if report is not None:
        report.mark_stale(as_of)
