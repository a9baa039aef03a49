"""A tenant's HTTP policy: which web origins may call its API from a browser (CORS).

``[tenants.cors]`` in the tenant file::

    [tenants.cors]
    allowed_origins = ["https://opac.city.example.jp", "https://www.city.example.jp"]
    max_age = 600   # seconds a browser may keep a preflight's answer

Default: no origin, so no cross-origin access (a portal on the gateway's own origin, or a
server-side portal, needs none). An origin is ``scheme://host[:port]`` exactly as a browser
sends it (``http`` or ``https``, no path but a final ``/``; the scheme's default port is dropped; an
internationalised host in its ``xn--`` form). ``api.cors`` answers preflights and marks the
answers for these origins only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(text: str) -> str:
    """``text`` as a browser's ``Origin`` value; ``ValueError`` for anything that is not one."""
    if not text.isascii():
        raise ValueError(f"{text!r}: write an internationalised host in its xn-- form")
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin (http(s)://host[:port])")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r}: an origin has no path, query or user (scheme://host[:port])")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r}: the port is not a number") from None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class CorsPolicy(BaseModel):
    """The origins whose web pages may call this tenant's API (none by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_origins: frozenset[str] = Field(
        frozenset(), description="scheme://host[:port] of each portal allowed to call the API"
    )
    max_age: int = Field(
        600, ge=0, le=86400, description="seconds a browser may keep a preflight's answer"
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, list | tuple | set | frozenset):
            return frozenset(normalise_origin(str(v)) for v in value)
        return value

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` (a request's ``Origin`` header) may call the API."""
        return origin in self.allowed_origins
