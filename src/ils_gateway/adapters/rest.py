"""What every vendor REST adapter shares: client lifecycle, the retry policy, transport errors.

A vendor adapter (Koha, FOLIO) keeps its own authentication and its own table from vendor
answers to gateway errors. The parts here know nothing about any vendor:

- ``ClientState``: a client is usable until closed, and says so clearly when used after.
- ``http_client``: the pooled httpx client built from a backend's timeouts and pool sizes.
- ``send_with_retries``: idempotent calls are tried again on transport failures and on
  502/503/504 with exponential backoff; writes are sent exactly once, because a renewal or a
  hold that may have reached the library system must be read back before it is tried again
  (``services/`` decide that).
- ``translate_transport``: a failure below HTTP becomes ``OutcomeUnknown`` for a write that may
  have been sent, ``BackendProtocolError`` for a broken answer, else ``BackendUnavailable``.
- ``status_class``: the error class for a status, from a vendor's (call, status) table, else
  ``ANY_CALL_STATUSES`` (what a status means on any call to any of them).
- ``error_for_status``: the error that class stands for, built the same way for every vendor
  (and the fallbacks for statuses no table names).
- ``decode_json``: a body that is not JSON is the peer's fault (``BackendProtocolError``).
- ``renew_in_turn``: a multi-item renewal as single renewals, one after the other, each
  refusal or failure kept as that item's result.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from ils_gateway.deadline import bounded, remaining
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    BackendUnavailable,
    BadRequest,
    Conflict,
    GatewayError,
    NotFound,
    OutcomeUnknown,
    Refused,
)
from ils_gateway.domain.models import BatchResult, RenewalResult
from ils_gateway.domain.retry import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ils_gateway.domain.vocab import RefusalReason

RETRYABLE_STATUSES = frozenset({502, 503, 504})

_Call = TypeVar("_Call")  # a vendor's call enum

# What a status means whatever the gateway was asking, unless a vendor's table says otherwise.
ANY_CALL_STATUSES: dict[int, type[GatewayError]] = {
    400: BadRequest,
    # 401/403 here: the library system refused the *gateway's* credentials or permissions.
    # The patron can do nothing about it; the operator must fix the tenant file or the API user.
    401: BackendUnavailable,
    403: BackendUnavailable,
    404: NotFound,
    # e.g. FOLIO's optimistic locking: a record changed by staff meanwhile.
    409: Conflict,
    503: BackendUnavailable,
}

_log = structlog.get_logger("ils_gateway.adapters.rest")


class ClientState(enum.Enum):
    """Lifecycle of a REST client: usable until closed, never reopened."""

    OPEN = "open"
    CLOSED = "closed"


class _PoolSettings(Protocol):
    @property
    def timeouts(self) -> Any: ...
    @property
    def max_connections(self) -> int: ...
    @property
    def max_keepalive_connections(self) -> int: ...


def http_client(
    settings: _PoolSettings,
    *,
    base_url: str,
    auth: httpx.Auth,
    accept: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The pooled httpx client for one backend (its timeouts, pool sizes and auth flow)."""
    t = settings.timeouts
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
        ),
        headers={"Accept": accept, "User-Agent": "ils-gateway"},
        transport=transport,
    )


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableStatus | httpx.TransportError)


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    system: str,
) -> httpx.Response:
    """Call ``send`` once, or up to ``policy.attempts`` times when ``idempotent`` and the
    request's deadline (``ils_gateway.deadline``) leaves time.

    Returns the last response (whatever its status: the caller translates it). Transport
    errors of the last try are raised as they are, for ``translate_transport``.
    """
    attempts = policy.attempts if idempotent else 1

    def log_retry(state: RetryCallState) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        _log.info(
            "rest.retry",
            system=system,
            attempt=state.attempt_number,
            error=type(exc).__name__ if exc else None,
        )

    backoff = wait_exponential(multiplier=policy.first_wait, max=policy.max_wait)

    def wait(state: RetryCallState) -> float:  # never past the request's deadline
        return bounded(backoff(state))

    def out_of_time(state: RetryCallState) -> bool:  # no time left after the wait
        left = remaining()
        return left is not None and left <= backoff(state)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts) | out_of_time,
        wait=wait,
        retry=retry_if_exception(_retryable),
        reraise=True,
        before_sleep=log_retry,
    )
    try:
        async for attempt in retrying:
            with attempt:
                response = await send()
                if idempotent and response.status_code in RETRYABLE_STATUSES:
                    raise _RetryableStatus(response)
                return response
    except _RetryableStatus as exhausted:
        return exhausted.response
    raise AssertionError("unreachable: tenacity either returns or raises")


def translate_transport(
    system: str,
    what: str,
    exc: httpx.TransportError,
    *,
    writes: bool,
    retry_after: int,
) -> GatewayError:
    """The gateway error for a request that failed below HTTP (connect, timeout, broken peer).

    ``writes`` says the request changes something in the library system; when it may have
    been sent (anything but a failed connect or a pool wait) its outcome is unknown.
    """
    operator = f"{system} {what}: {type(exc).__name__}: {exc}"
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if writes and not never_sent:
        return OutcomeUnknown(
            detail="The library system did not confirm the request; check before retrying.",
            operator_detail=operator,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError):
        return BackendProtocolError(
            detail="The library system sent a broken answer.", operator_detail=operator
        )
    return BackendUnavailable(
        detail="The library system cannot be reached now.",
        operator_detail=operator,
        retry_after=retry_after,
    )


def status_class(
    table: Mapping[tuple[_Call | None, int], type[GatewayError]], call: _Call, status: int
) -> type[GatewayError] | None:
    """The error class for ``status`` on ``call``: the vendor's row for that call, its row for
    any call (``None``), else ``ANY_CALL_STATUSES``; None when nobody names the status."""
    return table.get((call, status)) or table.get((None, status)) or ANY_CALL_STATUSES.get(status)


def error_for_status(
    cls: type[GatewayError] | None,
    *,
    status: int,
    writes: bool,
    reason: Callable[[], RefusalReason],
    message: str | None,
    operator: str,
    retry_after: int,
) -> GatewayError:
    """Build the error a vendor's status table chose (``cls``), or the fallback when it chose none.

    Without a class, a 5xx is ``OutcomeUnknown`` for a write (it may have taken effect before
    the crash) and ``BackendUnavailable`` for a read; anything else is the peer answering
    outside its contract. ``reason`` is asked only for refusals.
    """
    if cls is None:
        if status >= 500 and writes:
            return OutcomeUnknown(
                detail="The library system did not confirm the request; check before retrying.",
                operator_detail=operator,
            )
        if status >= 500:
            return BackendUnavailable(
                detail="The library system is not answering properly now.",
                operator_detail=operator,
                retry_after=retry_after,
            )
        return BackendProtocolError(
            detail="The library system sent an unexpected answer.", operator_detail=operator
        )
    if issubclass(cls, Refused):
        return cls(reason(), message, backend_message=message, operator_detail=operator)
    if cls is BackendUnavailable:
        return BackendUnavailable(
            detail="The library system cannot be reached now.",
            operator_detail=operator,
            retry_after=retry_after,
        )
    if cls is AuthenticationFailed:
        return AuthenticationFailed(operator_detail=operator)
    return cls(message, operator_detail=operator)


def decode_json(system: str, response: httpx.Response) -> object:
    """The JSON body of ``response``; a body that is not JSON is a ``BackendProtocolError``."""
    try:
        return response.json()
    except ValueError as exc:
        request = response.request
        raise BackendProtocolError(
            detail="The library system sent an answer the gateway cannot read.",
            operator_detail=f"{system} {request.method} {request.url.path}: body is not JSON",
        ) from exc


async def renew_in_turn(
    renew: Callable[[str], Awaitable[RenewalResult]], item_ids: Sequence[str]
) -> BatchResult[RenewalResult]:
    """Renew each of ``item_ids`` with ``renew``, one at a time; a raised error is its result.

    One at a time because each renewal changes what the next may do (limits, fines).
    """
    results: list[RenewalResult] = []
    for item_id in item_ids:
        try:
            results.append(await renew(item_id))
        except GatewayError as error:
            results.append(RenewalResult.from_error(item_id, error))
    return BatchResult[RenewalResult](results=tuple(results))
