"""How the gateway proves itself to Koha: OAuth2 client credentials or HTTP Basic.

Both are ``httpx.Auth`` flows, so every request the client sends passes through them. The
OAuth2 flow fetches a token from ``/oauth/token`` when it has none or the one it has is about
to expire, and when Koha answers 401 it fetches a fresh token and sends the request once more
(a token can be revoked or Koha restarted before ``expires_in``): ``adapters.rest.TokenAuth``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ils_gateway.adapters.koha.config import KohaBackendConfig, api_root
from ils_gateway.adapters.rest import CredentialsRefused, TokenAuth

# Renew a little before Koha's own expiry, so a token does not die in flight.
_EXPIRY_MARGIN_SECONDS = 30.0


class OAuth2ClientCredentials(TokenAuth):
    """Bearer tokens from Koha's client-credentials grant, refreshed on expiry and on 401."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._expires_at = 0.0
        self.tokens_issued = 0

    def login_request(self) -> httpx.Request:
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

    def accept_login(self, response: httpx.Response) -> str:
        if response.status_code != 200:
            raise CredentialsRefused(response, f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise CredentialsRefused(response, "token endpoint answer is malformed") from exc
        if not isinstance(token, str) or not token:
            raise CredentialsRefused(response, "token endpoint gave no access_token")
        self._expires_at = self._clock() + max(lifetime - _EXPIRY_MARGIN_SECONDS, 1.0)
        self.tokens_issued += 1
        return token

    def expired(self) -> bool:
        return self._clock() >= self._expires_at

    def apply(self, request: httpx.Request, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"


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
