"""How the gateway proves itself to Koha: OAuth2 client credentials or HTTP Basic.

Both are ``httpx.Auth`` flows, so every request the client sends passes through them. The
OAuth2 flow fetches a token from ``/oauth/token`` when it has none or the one it has is about
to expire, and when Koha answers 401 it fetches a fresh token and sends the request once more
(a token can be revoked or Koha restarted before ``expires_in``). One lock keeps concurrent
requests from fetching a token each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

import httpx

from ils_gateway.adapters.koha.config import KohaBackendConfig, api_root

# Renew a little before Koha's own expiry, so a token does not die in flight.
_EXPIRY_MARGIN_SECONDS = 30.0


class TokenRequestFailed(Exception):
    """Koha would not issue an access token for the configured client credentials."""

    def __init__(self, response: httpx.Response, reason: str) -> None:
        super().__init__(reason)
        self.response = response
        self.reason = reason


class OAuth2ClientCredentials(httpx.Auth):
    """Bearer tokens from Koha's client-credentials grant, refreshed on expiry and on 401."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.tokens_issued = 0

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
        )

    async def _store(self, response: httpx.Response) -> None:
        await response.aread()
        if response.status_code != 200:
            raise TokenRequestFailed(response, f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenRequestFailed(response, "token endpoint answer is malformed") from exc
        if not isinstance(token, str) or not token:
            raise TokenRequestFailed(response, "token endpoint gave no access_token")
        self._token = token
        self._expires_at = self._clock() + max(lifetime - _EXPIRY_MARGIN_SECONDS, 1.0)
        self.tokens_issued += 1

    def _usable(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._lock:
            if not self._usable():
                await self._store((yield self._token_request()))
            used = self._token
        request.headers["Authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:  # nobody refreshed it meanwhile
                await self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def auth_for(
    config: KohaBackendConfig, *, clock: Callable[[], float] = time.monotonic
) -> httpx.Auth:
    """The auth flow a tenant's Koha settings ask for."""
    if config.auth == "basic":
        assert config.username is not None and config.password is not None
        return httpx.BasicAuth(config.username, config.password.get_secret_value())
    assert config.client_id is not None and config.client_secret is not None
    return OAuth2ClientCredentials(
        api_root(config) + "/oauth/token",
        config.client_id,
        config.client_secret.get_secret_value(),
        clock=clock,
    )
