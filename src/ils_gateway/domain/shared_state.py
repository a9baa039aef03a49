"""``SharedStateUnavailable``: the shared state (Redis) did not answer in time.

A ``BackendUnavailable`` (503 ``backend-unavailable`` with ``Retry-After``) for the patron, so
no new problem type: the request could not be served now and may be retried shortly. The
read caches catch it and go to the library system instead (a cache is never a reason to
fail); sessions, Idempotency-Keys, rate limits and login counts cannot be bypassed, so their
requests answer 503 with ``Retry-After``, never 500.
"""

from __future__ import annotations

from ils_gateway.domain.errors import BackendUnavailable

#: Seconds a client should wait before retrying when the shared state did not answer.
SHARED_STATE_RETRY_AFTER = 5


class SharedStateUnavailable(BackendUnavailable):
    """Redis (sessions, keys, caches, limits) could not be reached or had no free connection.

    A 503 like ``BackendUnavailable``, with a type of its own so an operator (and a portal)
    can tell the gateway's shared state from the library system."""

    type_slug = "shared-state-unavailable"
    title = "Shared state unavailable"

    def __init__(self, operator_detail: str | None = None) -> None:
        super().__init__(
            "The service is busy for a moment; please try again shortly",
            retry_after=SHARED_STATE_RETRY_AFTER,
            operator_detail=operator_detail,
        )
