"""How the gateway proves itself to FOLIO: a logged-in user's token on every request.

FOLIO's gateway (Okapi or Kong) wants ``X-Okapi-Tenant`` and ``X-Okapi-Token`` on every call.
The token comes from logging the gateway's own FOLIO user in (``login_path``):

- ``/authn/login-with-expiry`` answers 201 with the access token in the ``folioAccessToken``
  cookie and ``{"accessTokenExpiration": ...}`` in the body; the flow logs in again shortly
  before that instant.
- ``/authn/login`` (legacy) answers 201 with the token in the ``x-okapi-token`` header and no
  expiry.

Either way, a 401 on an ordinary call means the token died early (revoked, FOLIO restarted):
the flow logs in once more and sends the request again, once (``adapters.rest.TokenAuth``).
This is the gateway's token, not a patron's: patrons' PINs are checked separately
(``/patron-pin/verify``, see ``backend``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from ils_gateway.adapters.rest import CredentialsRefused, TokenAuth

# Log in again a little before FOLIO's own expiry, so a token does not die in flight.
_EXPIRY_MARGIN = timedelta(seconds=30)
ACCESS_COOKIE = "folioAccessToken"


def _access_token(response: httpx.Response) -> str | None:
    header: str | None = response.headers.get("x-okapi-token")
    if header:
        return header
    for raw in response.headers.get_list("set-cookie"):
        name, _, rest = raw.partition("=")
        if name.strip() == ACCESS_COOKIE:
            return rest.split(";", 1)[0].strip() or None
    return None


class OkapiTokenAuth(TokenAuth):
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
        super().__init__()
        self._login_url = login_url
        self._tenant = tenant
        self._username = username
        self._password = password
        self._now = now
        self._expires_at: datetime | None = None
        self.logins = 0

    def login_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._login_url,
            json={"username": self._username, "password": self._password},
            headers={"X-Okapi-Tenant": self._tenant, "Accept": "application/json"},
        )

    def accept_login(self, response: httpx.Response) -> str:
        if response.status_code not in (200, 201):
            raise CredentialsRefused(response, f"login answered {response.status_code}")
        token = _access_token(response)
        if token is None:
            raise CredentialsRefused(response, "login answer carries no access token")
        expires_at: datetime | None = None
        if response.content:
            try:
                body = response.json()
                raw = body.get("accessTokenExpiration") if isinstance(body, dict) else None
                if isinstance(raw, str):
                    expires_at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError as exc:
                raise CredentialsRefused(response, "login answer is malformed") from exc
        self._expires_at = expires_at - _EXPIRY_MARGIN if expires_at else None
        self.logins += 1
        return token

    def expired(self) -> bool:
        return self._expires_at is not None and self._now() >= self._expires_at

    def apply(self, request: httpx.Request, token: str) -> None:
        request.headers["X-Okapi-Tenant"] = self._tenant
        request.headers["X-Okapi-Token"] = token
