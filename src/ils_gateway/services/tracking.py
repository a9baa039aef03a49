"""What a face opens around one request, from the resilience layer the services run on.

- ``track_freshness()`` (or ``begin_freshness()``/``end_freshness(token)``): collects whether
  any read of the request was served from the last good data (``Freshness.stale``,
  ``as_of``), so the answer can say so.
- ``write_journal(earlier)``: records the writes of the request whose outcome is unknown, so a
  repeat (same Idempotency-Key) reads them back before anything is sent again.

Faces use these names from here, never ``adapters.resilience`` directly.
"""

from __future__ import annotations

from ils_gateway.adapters.resilience.freshness import (
    Freshness,
    begin_freshness,
    end_freshness,
    track_freshness,
)
from ils_gateway.adapters.resilience.journal import WriteJournal, write_journal

__all__ = [
    "Freshness",
    "WriteJournal",
    "begin_freshness",
    "end_freshness",
    "track_freshness",
    "write_journal",
]
