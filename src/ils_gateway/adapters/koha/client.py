"""The one seam between the Koha adapter and the network: an httpx client with Koha's policy.

It owns connection pooling, timeouts and authentication (``auth``). What every REST adapter
shares comes from ``adapters.rest``: the client's lifecycle, the retry policy (reads, and
calls Koha defines as idempotent, are tried again on transport failures and on 502/503/504;
writes are sent exactly once, because a renewal or a hold that may have reached Koha must be
read back before it is tried again), transport error translation and JSON decoding. Koha's
own answers become gateway errors in ``errors.translate_response``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ils_gateway.adapters.koha.auth import TokenRequestFailed, auth_for
from ils_gateway.adapters.koha.config import KohaBackendConfig, api_root
from ils_gateway.adapters.koha.errors import (
    SYSTEM,
    KohaCall,
    translate_response,
    translate_token_failure,
)
from ils_gateway.adapters.rest import (
    ClientState,
    RetryPolicy,
    decode_json,
    http_client,
    send_with_retries,
    translate_transport,
)

__all__ = ["ClientState", "KohaClient"]


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
        self._http = http_client(
            config,
            base_url=api_root(config),
            auth=auth_for(config, clock=clock),
            accept="application/json",
            transport=transport,
        )
        self._policy = RetryPolicy(config.read_attempts, config.retry_backoff)
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
        retry_after = self._config.retry_after
        try:
            response = await send_with_retries(
                lambda: self._http.send(request),
                idempotent=idempotent,
                policy=self._policy,
                system=SYSTEM,
            )
        except TokenRequestFailed as exc:
            raise translate_token_failure(exc, retry_after=retry_after) from exc
        except httpx.TransportError as exc:
            raise translate_transport(
                SYSTEM,
                f"{method} {path}",
                exc,
                writes=call.writes and not idempotent,
                retry_after=retry_after,
            ) from exc
        if response.status_code not in accept:
            raise translate_response(call, response, retry_after=retry_after)
        return response

    async def call_json(self, call: KohaCall, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`call`, then decode the JSON body (malformed JSON is Koha's fault)."""
        return decode_json(SYSTEM, await self.call(call, method, path, **kwargs))
