"""The SIP2 client's failures turned into the gateway's error tree, in this one place.

Like httpx's ``map_httpcore_exceptions``: every call the adapter makes to the pool runs inside
``translate_errors()``, which maps what the pool raises —

- could not connect, connection broke, no answer in time (reads, after the pool's one retry),
  no free connection, pool closed, the ACS refused our 93 login → ``BackendUnavailable``;
- the ACS broke the protocol (unreadable or unexpected answer) → ``BackendProtocolError``;
- a write was sent and no answer came → ``OutcomeUnknown`` (a renewal or hold may exist);
- a value we were asked to write cannot travel in SIP2 (``|``, CR, LF) → ``BadRequest``;

and lets ``GatewayError`` pass unchanged. The pool's message goes to ``operator_detail`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    BadRequest,
    GatewayError,
    OutcomeUnknown,
)
from ils_gateway.sip2.client import (
    SIP2ConnectionError,
    SIP2LoginFailed,
    SIP2OutcomeUnknown,
    SIP2PoolClosed,
    SIP2Timeout,
)
from ils_gateway.sip2.errors import FieldValueError, RemoteProtocolError, SIP2Error

__all__ = ["translate_error", "translate_errors"]

DEFAULT_RETRY_AFTER = 30


def translate_error(
    error: BaseException, *, action: str, retry_after: int = DEFAULT_RETRY_AFTER
) -> GatewayError:
    """The gateway error for ``error`` raised while the adapter was doing ``action``."""
    if isinstance(error, GatewayError):
        return error
    operator = f"SIP2 {action}: {type(error).__name__}: {error}"
    if isinstance(error, SIP2OutcomeUnknown):
        return OutcomeUnknown(
            "The library system did not confirm the request; check before trying again.",
            operator_detail=operator,
        )
    if isinstance(error, SIP2LoginFailed):
        # The gateway's own SIP2 login: an operator must fix the tenant file.
        return BackendUnavailable(
            "The library system is not available now.",
            retry_after=retry_after,
            operator_detail=operator,
        )
    if isinstance(error, (SIP2ConnectionError, SIP2Timeout, SIP2PoolClosed, OSError, TimeoutError)):
        return BackendUnavailable(
            "The library system cannot be reached now.",
            retry_after=retry_after,
            operator_detail=operator,
        )
    if isinstance(error, RemoteProtocolError):
        return BackendProtocolError(
            "The library system sent an answer that could not be read.",
            operator_detail=operator,
        )
    if isinstance(error, FieldValueError):
        return BadRequest(
            "A value in the request cannot be sent to the library system.",
            operator_detail=operator,
        )
    if isinstance(error, SIP2Error):
        return GatewayError(operator_detail=operator)  # our own protocol mistake: a bug
    raise error


@contextmanager
def translate_errors(action: str, *, retry_after: int = DEFAULT_RETRY_AFTER) -> Iterator[None]:
    """Run the block, raising the gateway's error for whatever the SIP2 client raised."""
    try:
        yield
    except GatewayError:
        raise
    except (SIP2Error, OSError, TimeoutError) as exc:
        raise translate_error(exc, action=action, retry_after=retry_after) from exc
