"""The kiosk credential check of the patron API (OPAC kiosks send a kiosk key header)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from pydantic import SecretStr

from ils_gateway.domain.errors import AuthenticationFailed, BadRequest


def check_kiosk_key(given: str | None, keys: Iterable[SecretStr], header: str) -> None:
    """Raise unless ``given`` is one of the tenant's kiosk credentials."""
    if not given:
        raise BadRequest(f"Kiosk requests must carry the {header} header")
    if not any(secrets.compare_digest(given, key.get_secret_value()) for key in keys):
        raise AuthenticationFailed("This kiosk is not registered")
