"""The auth bridge: the e-library asks "is this card + password a valid patron of this library?".

The e-library keeps no passwords; when a patron signs in to its reading site it calls the
gateway with its own credential (one of the tenant's ``[tenants.elibrary] bridge_keys``) and the
patron's card and password. The answer is only yes/no plus the patron category: a wrong
password, an unknown card, a blocked or expired card and a temporary password all answer the
same ``valid = false``, so the e-library learns nothing about why. Calls are rate limited per
client (address) and per card, to stop the bridge being used to guess passwords (in Redis
when the gateway runs several processes, so they share the counts); a library
system that cannot be asked is an error (503), never a "no".
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, SecretStr

from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BadRequest,
    GatewayError,
    PatronBlocked,
)
from ils_gateway.domain.models import mask_card
from ils_gateway.sealing import SealedState
from ils_gateway.services.account import AccountService
from ils_gateway.state.ratelimit import MemoryRateLimiter, RateLimit, RateLimiter, RedisRateLimiter

_log = structlog.get_logger("ils_gateway.ebooks.bridge")

# Per client: an e-library signs in at most a few patrons a second at a small library.
CLIENT_LIMIT = RateLimit(limit=120, window=60)
# Per card: a patron mistypes a password a few times; more looks like guessing.
CARD_LIMIT = RateLimit(limit=5, window=300)
CLIENT_LIMITER = "ebook-bridge-client"
CARD_LIMITER = "ebook-bridge-card"


class PatronCheckAnswer(BaseModel):
    """Yes/no, and the patron category when yes (nothing else about the patron)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    valid: bool
    patron_category: str | None = None


class BridgeRateLimited(GatewayError):
    """Too many checks from this client or for this card; try again after ``retry_after`` s."""

    type_slug = "rate-limited"
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many patron checks; try again later",
            operator_detail=f"rate limited, retry after {retry_after}s",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class BridgeLimiters:
    """The two rate limiters of the bridge (memory in one process, Redis for many)."""

    per_client: RateLimiter
    per_card: RateLimiter

    @classmethod
    def in_memory(cls, clock: EpochSeconds) -> BridgeLimiters:
        """Limits counted in this process (one gateway process)."""
        return cls(
            per_client=MemoryRateLimiter(CLIENT_LIMITER, CLIENT_LIMIT, clock=clock),
            per_card=MemoryRateLimiter(CARD_LIMITER, CARD_LIMIT, clock=clock),
        )

    @classmethod
    def in_redis(
        cls, redis: Any, prefix: str, clock: EpochSeconds, sealed: SealedState
    ) -> BridgeLimiters:
        """Limits counted in Redis, shared by every gateway process behind the load balancer
        (counters named by a keyed hash under the server secret, ``sealed``).

        Without sharing, N processes would let N times as many password guesses through.
        """
        return cls(
            per_client=RedisRateLimiter(
                redis, CLIENT_LIMITER, CLIENT_LIMIT, sealed=sealed, prefix=prefix, clock=clock
            ),
            per_card=RedisRateLimiter(
                redis, CARD_LIMITER, CARD_LIMIT, sealed=sealed, prefix=prefix, clock=clock
            ),
        )


def key_matches(given: str | None, keys: Sequence[SecretStr]) -> bool:
    """True when ``given`` is one of ``keys``, comparing each in constant time.

    Every key is compared (no early exit), so the time taken does not say which key nearly
    matched or how many there are beyond the first.
    """
    if not given or not keys:
        return False
    given_bytes = given.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(given_bytes, key.get_secret_value().encode())
    return found


class PatronCheckService:
    """Answers the e-library's patron checks for one tenant."""

    def __init__(
        self,
        tenant_id: str,
        account: AccountService,
        keys: Sequence[SecretStr],
        limiters: BridgeLimiters,
    ) -> None:
        self._tenant_id = tenant_id
        self._account = account
        self._keys = tuple(keys)
        self._limiters = limiters

    async def check(
        self, *, api_key: str | None, client: str, card_number: str, password: str
    ) -> PatronCheckAnswer:
        """Check the e-library's key, the rate limits, then the card and password.

        Raises ``AuthenticationFailed`` for a wrong key, ``BridgeRateLimited`` when over a
        limit, and the backend's ``BackendUnavailable`` & co. when the ILS cannot answer.
        """
        await self._hit(self._limiters.per_client, f"{self._tenant_id}:{client}")
        if not key_matches(api_key, self._keys):
            _log.info("bridge_key_refused", tenant=self._tenant_id)
            raise AuthenticationFailed("This client is not allowed to check patrons")
        card = self._account.card_key(card_number)
        await self._hit(self._limiters.per_card, f"{self._tenant_id}:{card}")
        valid, category = await self._login(card_number, password)
        _log.info(
            "bridge_patron_check",
            tenant=self._tenant_id,
            patron=mask_card(card_number),
            valid=valid,
        )
        return PatronCheckAnswer(valid=valid, patron_category=category if valid else None)

    async def _login(self, card_number: str, password: str) -> tuple[bool, str | None]:
        try:
            login = await self._account.login(card_number, password)
        except (AuthenticationFailed, PatronBlocked, BadRequest):
            return False, None
        # A temporary password must be changed in the portal before the patron may use it.
        if login.password_change_required:
            return False, None
        return True, login.patron.category

    @staticmethod
    async def _hit(limiter: RateLimiter, key: str) -> None:
        decision = await limiter.hit(key)
        if not decision.allowed:
            raise BridgeRateLimited(decision.retry_after)
