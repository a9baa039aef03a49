"""The one seam between the FOLIO adapter and the network: an httpx client with FOLIO's policy.

It owns connection pooling, timeouts, the gateway's login (``auth``), the retry policy
(``adapters.rest``: reads are tried again, writes sent once) and JSON decoding. Every failure
leaves this module as a gateway error, made by ``errors.translate_*`` or
``rest.translate_transport``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ils_gateway.adapters.folio.auth import LoginFailed, OkapiTokenAuth
from ils_gateway.adapters.folio.config import FolioBackendConfig, gateway_root
from ils_gateway.adapters.folio.errors import (
    SYSTEM,
    FolioCall,
    translate_login_failure,
    translate_response,
)
from ils_gateway.adapters.rest import (
    ClientState,
    RetryPolicy,
    decode_json,
    http_client,
    send_with_retries,
    translate_transport,
)


class FolioClient:
    """Sends requests to one FOLIO tenant through Okapi and returns decoded JSON or raises."""

    def __init__(
        self,
        config: FolioBackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        root = gateway_root(config)
        self.auth = OkapiTokenAuth(
            root + config.login_path,
            config.tenant,
            config.username,
            config.password.get_secret_value(),
            now=now,
        )
        self._http = http_client(
            config,
            base_url=root,
            auth=self.auth,
            accept="application/json, text/plain",
            transport=transport,
        )
        self._policy = RetryPolicy(config.read_attempts, config.retry_backoff)
        self.state = ClientState.OPEN

    async def aclose(self) -> None:
        """Close pooled connections; the client cannot be used afterwards."""
        if self.state is ClientState.OPEN:
            self.state = ClientState.CLOSED
            await self._http.aclose()

    async def call(
        self,
        call: FolioCall,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        accept: frozenset[int] = frozenset({200}),
    ) -> httpx.Response:
        """Send one request; return the response if its status is in ``accept``, else raise.

        GETs and ``/patron-pin/verify`` (it changes nothing) are idempotent and may be tried
        again; everything else is sent once.
        """
        if self.state is not ClientState.OPEN:
            raise RuntimeError("FolioClient used after aclose()")
        idempotent = not call.writes
        request = self._http.build_request(method, path, params=params, json=json)
        retry_after = self._config.retry_after
        try:
            response = await send_with_retries(
                lambda: self._http.send(request),
                idempotent=idempotent,
                policy=self._policy,
                system=SYSTEM,
            )
        except LoginFailed as exc:
            raise translate_login_failure(exc, retry_after=retry_after) from exc
        except httpx.TransportError as exc:
            raise translate_transport(
                SYSTEM, f"{method} {path}", exc, writes=call.writes, retry_after=retry_after
            ) from exc
        if response.status_code not in accept:
            raise translate_response(call, response, retry_after=retry_after)
        return response

    async def call_json(self, call: FolioCall, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`call`, then decode the JSON body (malformed JSON is FOLIO's fault)."""
        return decode_json(SYSTEM, await self.call(call, method, path, **kwargs))
