"""The one seam between the e-library adapter and the network: an httpx client with its policy.

It owns connection pooling, timeouts, the library's OAuth2 client-credentials token (fetched
when missing or about to expire; on a 401 fetched afresh and the request sent once more), the
retry policy and JSON decoding. Only GETs are retried (on transport failures and 502/503/504,
by ``adapters.rest.send_with_retries`` as for the library systems' REST APIs), because a
borrow or a hold that may have reached the e-library must be read back before it is tried
again, and ``services/`` decide that. Every failure leaves as a gateway error made in
``errors``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ils_gateway.adapters.rest import ClientState, send_with_retries
from ils_gateway.adapters.tls import client_tls
from ils_gateway.domain.clock import MonotonicSeconds
from ils_gateway.domain.errors import BackendProtocolError, BackendUnavailable
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.elibrary.errors import (
    ElibraryCall,
    translate_error,
    translate_token_failure,
    translate_transport,
)
from ils_gateway.tenants.backends import KinodenElibrary

# Renew a little before the e-library's own expiry, so a token does not die in flight.
_EXPIRY_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class PoolLimits:
    """Connection pool size for one e-library."""

    max_connections: int = 10
    max_keepalive_connections: int = 5


DEFAULT_RETRY = RetryPolicy()
DEFAULT_RETRY_AFTER = 30  # seconds suggested to the patron when the e-library is unavailable
DEFAULT_LIMITS = PoolLimits()


class _TokenRefused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


class KinodenClient:
    """Sends authenticated requests to one KinoDen-style e-library; returns 2xx or raises."""

    def __init__(
        self,
        config: KinodenElibrary,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        retry_after: int = DEFAULT_RETRY_AFTER,
        limits: PoolLimits = DEFAULT_LIMITS,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: MonotonicSeconds = time.monotonic,
    ) -> None:
        self._config = config
        self._retry = retry
        self._retry_after = retry_after
        self._clock = clock
        self._limits = limits
        self._transport = transport
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = asyncio.Lock()
        self.tokens_fetched = 0
        self.state = ClientState.OPEN

    @functools.cached_property
    def _http(self) -> httpx.AsyncClient:
        """The pooled client, made for the first request: making one imports httpx's
        transport (httpcore, anyio, h11: about 17 ms of CPU), which a start need not wait for
        (issue 17)."""
        t = self._config.timeouts
        return httpx.AsyncClient(
            base_url=self._config.base_url.rstrip("/"),
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
            limits=httpx.Limits(
                max_connections=self._limits.max_connections,
                max_keepalive_connections=self._limits.max_keepalive_connections,
            ),
            headers={"Accept": "application/json", "User-Agent": "ils-gateway"},
            transport=self._transport,
            verify=client_tls(),
        )

    async def aclose(self) -> None:
        """Close pooled connections; the client cannot be used afterwards."""
        if self.state is ClientState.OPEN:
            self.state = ClientState.CLOSED
            if "_http" in self.__dict__:  # made (by a request)
                await self._http.aclose()

    async def __aenter__(self) -> KinodenClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- token -------------------------------------------------------------------------

    async def _fetch_token(self) -> None:
        try:
            response = await self._http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._config.client_id,
                    "client_secret": self._config.client_secret.get_secret_value(),
                },
            )
        except httpx.TransportError as exc:
            # Nothing was asked of the e-library yet, so even a write is known not to be done.
            raise BackendUnavailable(
                "The e-library cannot be reached now.",
                retry_after=self._retry_after,
                operator_detail=f"e-library /oauth/token: {type(exc).__name__}: {exc}",
            ) from exc
        if response.status_code != 200:
            raise _TokenRefused(response)
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackendProtocolError(
                "The e-library sent an answer the gateway cannot read.",
                operator_detail="e-library /oauth/token: answer is not a token",
            ) from exc
        if not isinstance(token, str) or not token:
            raise BackendProtocolError(
                "The e-library sent an answer the gateway cannot read.",
                operator_detail="e-library /oauth/token: no access_token",
            )
        self._token = token
        self._token_expires_at = self._clock() + max(lifetime - _EXPIRY_MARGIN_SECONDS, 1.0)
        self.tokens_fetched += 1

    async def _current_token(self, stale: str | None = None) -> str:
        """A usable token; with ``stale``, a fresh one unless another request refreshed it."""
        async with self._token_lock:
            expired = self._clock() >= self._token_expires_at
            if self._token is None or expired or self._token == stale:
                await self._fetch_token()
            assert self._token is not None
            return self._token

    async def _send_authenticated(self, request: httpx.Request) -> httpx.Response:
        token = await self._current_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = await self._http.send(request)
        if response.status_code != 401:
            return response
        # The token may be revoked before expires_in (key rotation, restart): one fresh try.
        # A 401 means the e-library did nothing, so this is safe for writes too.
        await response.aclose()
        token = await self._current_token(stale=token)
        request.headers["Authorization"] = f"Bearer {token}"
        return await self._http.send(request)

    # -- requests ----------------------------------------------------------------------

    async def request(
        self,
        call: ElibraryCall,
        method: str,
        path: str,
        *,
        card_number: str | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request; return a 2xx response, else raise the translated gateway error."""
        if self.state is not ClientState.OPEN:
            raise RuntimeError("KinodenClient used after aclose()")
        headers = {"X-Patron-Card": card_number} if card_number is not None else {}
        request = self._http.build_request(method, path, params=params, json=json, headers=headers)
        retry_after = self._retry_after
        try:
            response = await send_with_retries(
                lambda: self._send_authenticated(request),
                idempotent=method == "GET",
                policy=self._retry,
                system="e-library",
            )
        except _TokenRefused as refused:
            raise translate_token_failure(refused.response, retry_after=retry_after) from None
        except httpx.TransportError as exc:
            raise translate_transport(call, exc, retry_after=retry_after) from exc
        if not response.is_success:
            raise translate_error(call, response, retry_after=retry_after)
        return response

    async def request_json(self, call: ElibraryCall, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request`, then decode the JSON body (malformed JSON is the peer's fault)."""
        response = await self.request(call, method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise BackendProtocolError(
                "The e-library sent an answer the gateway cannot read.",
                operator_detail=f"e-library {method} {path}: body is not JSON ({exc})",
            ) from exc


__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_RETRY",
    "DEFAULT_RETRY_AFTER",
    "ClientState",
    "KinodenClient",
    "PoolLimits",
]
