"""Passwords the gateway keeps for libraries whose system cannot set one (SIP2; issue 18).

A SIP2 ACS checks a PIN (63 AD → 64 CQ) but no SIP2 message sets one, so a password registered
or reset online is kept here: an scrypt hash (``hashlib.scrypt``, stdlib; salt per password)
in the store's ``account_profiles``, under the patron's keyed card hash. Once the gateway holds
a password for a card, the login checks that password and reads the patron without one (63
without AD); a card the gateway holds nothing for logs in through the ACS as before.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ils_gateway.store.records import PatronRef
from ils_gateway.store.store import Store

__all__ = [
    "DEFAULT_PARAMS",
    "GatewayCredentials",
    "ScryptParams",
    "check_password",
    "hash_password",
]


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost: ``n`` (CPU/memory, a power of two), ``r``, ``p``."""

    n: int = 2**14
    r: int = 8
    p: int = 1

    @classmethod
    def minimal(cls) -> ScryptParams:
        """The cheapest valid cost (tests only)."""
        return cls(n=2, r=1, p=1)


#: The cost new passwords are hashed at (a test may lower it: ``ScryptParams.minimal()``).
DEFAULT_PARAMS = ScryptParams()


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=params.n, r=params.r, p=params.p, dklen=32, maxmem=2**26
    )


def hash_password(password: str, params: ScryptParams) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``password``."""
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, params)
    b64 = base64.b64encode
    return f"scrypt${params.n}${params.r}${params.p}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        params = ScryptParams(int(n), int(r), int(p))
        got = _derive(password, base64.b64decode(salt), params)
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


class GatewayCredentials:
    """The gateway-kept passwords of one store (every tenant's)."""

    def __init__(self, store: Store, params: ScryptParams | None = None) -> None:
        self._store = store
        self._params = params

    def owner(self, tenant_id: str, card_number: str) -> PatronRef:
        """Whose row: the tenant and the keyed hash of the normalised card."""
        return self._store.patron(tenant_id, card_number)

    async def holds(self, tenant_id: str, card_number: str) -> bool:
        """Whether the gateway keeps a password for this card."""
        profile = await self._store.account.profile(self.owner(tenant_id, card_number))
        return profile.password_hash is not None

    async def check(self, tenant_id: str, card_number: str, password: str) -> bool | None:
        """True/False: the password matches or not; None: the gateway keeps none for it."""
        profile = await self._store.account.profile(self.owner(tenant_id, card_number))
        if profile.password_hash is None:
            return None
        stored = profile.password_hash
        # scrypt is CPU work: off the event loop.
        return await asyncio.to_thread(check_password, password, stored)

    async def set(self, tenant_id: str, card_number: str, password: str) -> None:
        """Keep ``password`` (its hash) for this card."""
        params = self._params or DEFAULT_PARAMS
        stored = await asyncio.to_thread(hash_password, password, params)
        await self._store.account.set_password_hash(self.owner(tenant_id, card_number), stored)
