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

from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
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


class _Tracking:
    # A plain context manager rather than @contextmanager: it is entered on every request.
    __slots__ = ("_report", "_token")

    def __init__(self) -> None:
        self._report = Freshness()

    def __enter__(self) -> Freshness:
        self._token = _current.set(self._report)
        return self._report

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)


def track_freshness() -> AbstractContextManager[Freshness]:
    """Collect the freshness of every resilient read made inside the block."""
    return _Tracking()


def begin_freshness() -> tuple[Freshness, Token[Freshness | None]]:
    """``track_freshness()`` without a context manager (one call in, one out, on every
    request): the report and the token that ``end_freshness`` takes."""
    report = Freshness()
    return report, _current.set(report)


def end_freshness(token: Token[Freshness | None]) -> None:
    """End the tracking ``begin_freshness`` started."""
    _current.reset(token)


def report_stale(as_of: datetime) -> None:
    """Mark the current block's report stale (no-op outside ``track_freshness()``)."""
    report = _current.get()
    if report is not None:
        report.mark_stale(as_of)
