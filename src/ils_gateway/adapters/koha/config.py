"""Settings for reaching one library's Koha REST API (the ``[backend.koha]`` part of a tenant)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class KohaTimeouts(BaseModel):
    """Seconds allowed for each phase of one HTTP exchange with Koha."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect: float = Field(3.0, gt=0)
    read: float = Field(10.0, gt=0)
    write: float = Field(10.0, gt=0)
    pool: float = Field(3.0, gt=0)


class KohaBackendConfig(BaseModel):
    """How the gateway reaches and authenticates to one Koha server.

    ``auth = "oauth2"`` uses the client-credentials grant on ``/api/v1/oauth/token`` (Koha's
    RESTOAuth2ClientCredentials preference); ``"basic"`` sends a staff user's name and password
    on every call (RESTBasicAuth). The API client needs Koha permissions ``borrowers``,
    ``circulate``, ``reserveforothers`` and ``catalogue``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(description="Koha's staff/API root, e.g. https://koha.example.jp")
    auth: Literal["oauth2", "basic"] = "oauth2"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeouts: KohaTimeouts = KohaTimeouts()
    max_connections: int = Field(20, ge=1)
    max_keepalive_connections: int = Field(10, ge=0)
    read_attempts: int = Field(3, ge=1, description="tries for an idempotent call, first included")
    retry_backoff: float = Field(0.2, ge=0, description="first wait between tries, seconds")
    cancellation_request_flow: bool = Field(
        False,
        description="ask Koha (newer than 23.05) to turn the cancel of a waiting hold into a "
        "cancellation request for staff (answer 202) instead of cancelling it",
    )
    retry_after: int = Field(30, ge=1, description="seconds to suggest when Koha is unavailable")

    @model_validator(mode="after")
    def _credentials_for_auth(self) -> KohaBackendConfig:
        if self.auth == "oauth2" and not (self.client_id and self.client_secret):
            raise ValueError("koha auth 'oauth2' needs client_id and client_secret")
        if self.auth == "basic" and not (self.username and self.password):
            raise ValueError("koha auth 'basic' needs username and password")
        return self

    @property
    def api_root(self) -> str:
        """The v1 API root every path is relative to."""
        return self.base_url.rstrip("/") + "/api/v1"
