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
from dataclasses import asdict, dataclass, field
from typing import Any

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One write whose outcome is unknown: its kind, target and the state before it."""

    op: str
    target: str
    baseline: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    """Carried out (answered, or read back) in a request whose answer stayed provisional
    because of another write: read back again by the retry, never sent again."""
    resend_after: float | None = None
    """Epoch seconds before which a read-back that finds nothing does not allow sending the
    write again: a request that timed out may still reach the library system late."""

    @property
    def key(self) -> Key:
        """(op, target): what identifies the write within one request."""
        return (self.op, self.target)


@dataclass
class WriteJournal:
    """The writes of one request left unknown (or done) earlier (``earlier``), left unknown
    now (``unknown``) and carried out now (``done``)."""

    earlier: dict[Key, PendingWrite] = field(default_factory=dict)
    unknown: dict[Key, PendingWrite] = field(default_factory=dict)
    done: dict[Key, PendingWrite] = field(default_factory=dict)

    def earlier_for(self, op: str, target: str) -> PendingWrite | None:
        """The earlier unknown write of ``op`` on ``target``, if any."""
        return self.earlier.get((op, target))

    def left_unknown(self, write: PendingWrite) -> None:
        """Record ``write`` as unknown (kept under the Idempotency-Key for a retry)."""
        self.unknown[write.key] = write

    def settled(self, op: str, target: str) -> None:
        """The outcome of ``op`` on ``target`` is known now: it certainly did not happen, or
        the library system answered (a refusal)."""
        self.unknown.pop((op, target), None)
        self.earlier.pop((op, target), None)

    def carried_out(self, write: PendingWrite) -> None:
        """``write`` happened. Remembered in case the request's answer stays provisional
        (another write unknown): its retry re-runs every write, and must not send this one
        again, nor refuse it as a duplicate."""
        self.settled(write.op, write.target)
        self.done[write.key] = PendingWrite(write.op, write.target, write.baseline, True)

    @property
    def pending(self) -> dict[Key, PendingWrite]:
        """Every write still unknown: left so now, or earlier and not settled since (a retry
        that ended before reaching it, e.g. refused by a pre-check, must not forget it)."""
        return {**{k: w for k, w in self.earlier.items() if not w.done}, **self.unknown}

    def dumps(self) -> bytes:
        """What the Idempotency-Key keeps for a provisional answer, as JSON: the writes still
        unknown and those carried out (``done``)."""
        writes = {**self.earlier, **self.done, **self.unknown}.values()
        return json.dumps([asdict(w) for w in writes]).encode()

    @staticmethod
    def loads(data: bytes | None) -> dict[Key, PendingWrite]:
        """Unknown writes kept by ``dumps`` (an empty dict for None)."""
        if not data:
            return {}
        writes = (PendingWrite(**w) for w in json.loads(data))
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
    """True when an earlier try of ``op`` on ``target`` (same Idempotency-Key) left its
    outcome unknown, or carried it out in a request whose answer stayed provisional."""
    journal = _current.get()
    return journal is not None and journal.earlier_for(op, target) is not None
