"""The one seam between the Koha adapter and the network: an httpx client with Koha's policy.

It owns connection pooling, timeouts, authentication (``auth``), the retry policy and the
JSON decoding. Reads (and calls Koha defines as idempotent) are tried again on transport
failures and on 502/503/504; writes are sent exactly once, because a renewal or a hold that
may have reached Koha must be read back before it is tried again (``services/`` decide that).
Every failure leaves this module as a gateway error, made by ``errors.translate_*``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from ils_gateway.adapters.koha.auth import TokenRequestFailed, auth_for
from ils_gateway.adapters.koha.config import KohaBackendConfig, api_root
from ils_gateway.adapters.koha.errors import (
    KohaCall,
    translate_response,
    translate_token_failure,
    translate_transport,
)
from ils_gateway.domain.errors import BackendProtocolError

_RETRYABLE_STATUSES = frozenset({502, 503, 504})


class ClientState(enum.Enum):
    """Lifecycle of a KohaClient: usable until closed, never reopened."""

    OPEN = "open"
    CLOSED = "closed"


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableStatus | httpx.TransportError)


class KohaClient:
    """Sends requests to one Koha server's ``/api/v1`` and returns decoded JSON or raises."""

    def __init__(
        self,
        config: KohaBackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        t = config.timeouts
        self._http = httpx.AsyncClient(
            base_url=api_root(config),
            auth=auth_for(config, clock=clock),
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_keepalive_connections,
            ),
            headers={"Accept": "application/json", "User-Agent": "ils-gateway"},
            transport=transport,
        )
        self.state = ClientState.OPEN

    @property
    def auth(self) -> httpx.Auth:
        """The authentication flow in use (tests read its token counter)."""
        return self._http.auth

    async def aclose(self) -> None:
        """Close pooled connections; the client cannot be used afterwards."""
        if self.state is ClientState.OPEN:
            self.state = ClientState.CLOSED
            await self._http.aclose()

    async def __aenter__(self) -> KohaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(
        self,
        call: KohaCall,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        accept: frozenset[int] = frozenset({200}),
    ) -> httpx.Response:
        """Send one request; return the response if its status is in ``accept``, else raise.

        ``idempotent`` defaults to True for GET only; a PUT that sets a value may pass True.
        """
        if self.state is not ClientState.OPEN:
            raise RuntimeError("KohaClient used after aclose()")
        if idempotent is None:
            idempotent = method == "GET"
        request = self._http.build_request(
            method, path, params=params, json=json, headers=dict(headers or {})
        )
        attempts = self._config.read_attempts if idempotent else 1
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=self._config.retry_backoff, max=5.0),
            retry=retry_if_exception(_retryable),
            reraise=True,
            before_sleep=_log_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._http.send(request)
                    if response.status_code in accept:
                        return response
                    if idempotent and response.status_code in _RETRYABLE_STATUSES:
                        raise _RetryableStatus(response)
                    raise translate_response(call, response, retry_after=self._retry_after)
        except _RetryableStatus as exhausted:
            raise translate_response(
                call, exhausted.response, retry_after=self._retry_after
            ) from None
        except TokenRequestFailed as exc:
            raise translate_token_failure(exc, retry_after=self._retry_after) from exc
        except httpx.TransportError as exc:
            raise translate_transport(
                call, exc, idempotent=idempotent, retry_after=self._retry_after
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def call_json(
        self,
        call: KohaCall,
        method: str,
        path: str,
        **kwargs: Any,
    ) -> Any:
        """Like :meth:`call`, then decode the JSON body (malformed JSON is Koha's fault)."""
        response = await self.call(call, method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise BackendProtocolError(
                detail="The library system sent an answer the gateway cannot read.",
                operator_detail=f"Koha {method} {path}: body is not JSON ({exc})",
            ) from exc

    @property
    def _retry_after(self) -> int:
        return self._config.retry_after


def _log_retry(state: RetryCallState) -> None:
    import structlog

    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    structlog.get_logger("ils_gateway.adapters.koha").info(
        "koha.retry", attempt=state.attempt_number, error=type(exc).__name__ if exc else None
    )
