"""How the gateway proves itself to FOLIO: a logged-in user's token on every request.

FOLIO's gateway (Okapi or Kong) wants ``X-Okapi-Tenant`` and ``X-Okapi-Token`` on every call.
The token comes from logging the gateway's own FOLIO user in (``login_path``):

- ``/authn/login-with-expiry`` answers 201 with the access token in the ``folioAccessToken``
  cookie and ``{"accessTokenExpiration": ...}`` in the body; the flow logs in again shortly
  before that instant.
- ``/authn/login`` (legacy) answers 201 with the token in the ``x-okapi-token`` header and no
  expiry.

Either way, a 401 on an ordinary call means the token died early (revoked, FOLIO restarted):
the flow logs in once more and sends the request again, once. One lock keeps concurrent
requests from logging in each. This is the gateway's token, not a patron's: patrons' PINs are
checked separately (``/patron-pin/verify``, see ``backend``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta

import httpx

# Log in again a little before FOLIO's own expiry, so a token does not die in flight.
_EXPIRY_MARGIN = timedelta(seconds=30)
ACCESS_COOKIE = "folioAccessToken"


class LoginFailed(Exception):
    """FOLIO would not log the gateway's user in (wrong credentials, tenant or permissions)."""

    def __init__(self, response: httpx.Response, reason: str) -> None:
        super().__init__(reason)
        self.response = response
        self.reason = reason


def _access_token(response: httpx.Response) -> str | None:
    header = response.headers.get("x-okapi-token")
    if header:
        return header
    for raw in response.headers.get_list("set-cookie"):
        name, _, rest = raw.partition("=")
        if name.strip() == ACCESS_COOKIE:
            return rest.split(";", 1)[0].strip() or None
    return None


class OkapiTokenAuth(httpx.Auth):
    """``X-Okapi-Tenant`` and ``X-Okapi-Token`` on every request; logs in when needed."""

    def __init__(
        self,
        login_url: str,
        tenant: str,
        username: str,
        password: str,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._login_url = login_url
        self._tenant = tenant
        self._username = username
        self._password = password
        self._now = now
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.logins = 0

    def _login_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._login_url,
            json={"username": self._username, "password": self._password},
            headers={"X-Okapi-Tenant": self._tenant, "Accept": "application/json"},
        )

    async def _store(self, response: httpx.Response) -> None:
        await response.aread()
        if response.status_code not in (200, 201):
            raise LoginFailed(response, f"login answered {response.status_code}")
        token = _access_token(response)
        if token is None:
            raise LoginFailed(response, "login answer carries no access token")
        expires_at: datetime | None = None
        if response.content:
            try:
                body = response.json()
                raw = body.get("accessTokenExpiration") if isinstance(body, dict) else None
                if isinstance(raw, str):
                    expires_at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError as exc:
                raise LoginFailed(response, "login answer is malformed") from exc
        self._token = token
        self._expires_at = expires_at - _EXPIRY_MARGIN if expires_at else None
        self.logins += 1

    def _usable(self) -> bool:
        if self._token is None:
            return False
        return self._expires_at is None or self._now() < self._expires_at

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["X-Okapi-Tenant"] = self._tenant
        async with self._lock:
            if not self._usable():
                await self._store((yield self._login_request()))
            used = self._token
        assert used is not None
        request.headers["X-Okapi-Token"] = used
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:  # nobody logged in again meanwhile
                await self._store((yield self._login_request()))
            assert self._token is not None
            request.headers["X-Okapi-Token"] = self._token
        yield request
