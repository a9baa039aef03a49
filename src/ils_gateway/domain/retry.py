"""How an idempotent call is retried: one value object for every layer that retries.

The SIP2 pool (reads, on a fresh connection), the REST clients (Koha, FOLIO, the e-library)
and the resilience layer all take a ``RetryPolicy``. Each applies it within the request's
deadline; the resilience layer waits a random part of each wait (full jitter), the REST
clients wait it whole. Writes are never retried blindly: their callers read back first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``attempts`` tries (the first included); the wait before try n+1 is
    ``first_wait * 2**(n-1)`` seconds, never more than ``max_wait``."""

    attempts: int = 3
    first_wait: float = 0.2
    max_wait: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first try: at least 1")
        if self.first_wait < 0 or self.max_wait < 0:
            raise ValueError("waits are not negative")

    def wait_after(self, attempt: int) -> float:
        """Seconds to wait after try number ``attempt`` (1-based) failed, before the next."""
        return min(self.max_wait, self.first_wait * 2.0 ** (attempt - 1))


ONE_TRY = RetryPolicy(attempts=1, first_wait=0.0, max_wait=0.0)
"""No retry at this layer (another layer retries, or the call is not idempotent)."""
