"""Writes whose outcome is unknown, remembered until a read-back settles them.

A write that was sent and got no answer (``OutcomeUnknown``) may have happened. Before it is
sent again, the library system's state must be read and compared with the state *before the
first attempt* (a renewal moves the due date; a retry that took its "before" after the first
attempt would see nothing change and renew twice). ``PendingWrite`` keeps that first "before"
(``baseline``, JSON-ready) with the write's kind (``op``) and target (item or hold id).

One ``WriteJournal`` per API request lives in a context variable (``write_journal()``):

- ``earlier``: the writes an earlier request with the same Idempotency-Key left unknown (the API
  restores them from the key's record); ``ResilientBackend`` reads each back before anything is
  sent, with the earlier baseline;
- ``unknown``: the writes this request leaves unknown; the API keeps them under the key, so
  that a retry with it settles them.

``unsettled(op, target)`` tells a service that a target has an earlier write of unknown outcome:
its own pre-checks (a renewal limit reached, a duplicate hold, a hold no longer listed) describe
the state the write itself may have made, so they must not refuse; the backend settles it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One write whose outcome is unknown: its kind, target and the state before it."""

    op: str
    target: str
    baseline: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        """(op, target): what identifies the write within one request."""
        return (self.op, self.target)


@dataclass
class WriteJournal:
    """The writes of one request left unknown earlier (``earlier``) and now (``unknown``)."""

    earlier: dict[Key, PendingWrite] = field(default_factory=dict)
    unknown: dict[Key, PendingWrite] = field(default_factory=dict)

    def earlier_for(self, op: str, target: str) -> PendingWrite | None:
        """The earlier unknown write of ``op`` on ``target``, if any."""
        return self.earlier.get((op, target))

    def left_unknown(self, write: PendingWrite) -> None:
        """Record ``write`` as unknown (kept under the Idempotency-Key for a retry)."""
        self.unknown[write.key] = write

    def settled(self, op: str, target: str) -> None:
        """The outcome of ``op`` on ``target`` is known now (it happened or certainly not)."""
        self.unknown.pop((op, target), None)
        self.earlier.pop((op, target), None)

    @property
    def pending(self) -> dict[Key, PendingWrite]:
        """Every write still unknown: left so now, or earlier and not settled since (a retry
        that ended before reaching it, e.g. refused by a pre-check, must not forget it)."""
        return {**self.earlier, **self.unknown}

    def dumps(self) -> bytes:
        """The writes still unknown (``pending``) as JSON (what the Idempotency-Key keeps)."""
        writes = self.pending.values()
        kept = [{"op": w.op, "target": w.target, "baseline": w.baseline} for w in writes]
        return json.dumps(kept).encode()

    @staticmethod
    def loads(data: bytes | None) -> dict[Key, PendingWrite]:
        """Unknown writes kept by ``dumps`` (an empty dict for None)."""
        if not data:
            return {}
        kept = json.loads(data)
        writes = (PendingWrite(w["op"], w["target"], w.get("baseline") or {}) for w in kept)
        return {w.key: w for w in writes}


_current: ContextVar[WriteJournal | None] = ContextVar("ils_gateway_write_journal", default=None)


@contextmanager
def write_journal(earlier: Iterable[PendingWrite] | None = None) -> Iterator[WriteJournal]:
    """A journal for the writes made inside the block, knowing ``earlier`` unknown writes."""
    journal = WriteJournal(earlier={w.key: w for w in earlier or ()})
    token = _current.set(journal)
    try:
        yield journal
    finally:
        _current.reset(token)


def current_journal() -> WriteJournal | None:
    """The journal of the running request (None outside ``write_journal()``)."""
    return _current.get()


def unsettled(op: str, target: str) -> bool:
    """True when an earlier try of ``op`` on ``target`` left its outcome unknown."""
    journal = _current.get()
    return journal is not None and journal.earlier_for(op, target) is not None
