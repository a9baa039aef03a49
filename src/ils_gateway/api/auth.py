"""Patron sessions as the API uses them: opaque bearer tokens, stored hashed, idle timeout.

``SessionGate`` creates a session at login (the token is returned once and only its SHA-256 is
kept), resolves ``Authorization: Bearer`` on each request (touching it: the idle timeout counts
from the last use, per tenant), and ends it at logout. The clock is injected. Sessions live in
this process; the shared ``ils_gateway.sessions`` stores (Redis for many processes) are meant to
replace ``_MemorySessions`` behind the same three calls.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pydantic import SecretStr

from ils_gateway.domain.errors import AuthenticationFailed, BadRequest, SessionExpired
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import Channel
from ils_gateway.services.context import Clock, system_clock


@dataclass(frozen=True)
class PatronSession:
    """One logged-in patron on one channel of one tenant."""

    tenant_id: str
    patron: Patron
    channel: Channel
    password_change_required: bool
    created: datetime
    last_seen: datetime
    idle_timeout: timedelta | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionGate:
    """Creates, resolves (with idle timeout) and ends patron sessions."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock
        self._by_digest: dict[str, PatronSession] = {}

    def create(
        self,
        tenant_id: str,
        patron: Patron,
        channel: Channel,
        *,
        password_change_required: bool,
        idle_timeout_minutes: int | None,
    ) -> str:
        """A new session; returns its token (the only time it is seen in clear)."""
        now = self._clock()
        token = secrets.token_urlsafe(32)
        self._by_digest[_digest(token)] = PatronSession(
            tenant_id=tenant_id,
            patron=patron,
            channel=channel,
            password_change_required=password_change_required,
            created=now,
            last_seen=now,
            idle_timeout=(
                timedelta(minutes=idle_timeout_minutes) if idle_timeout_minutes else None
            ),
        )
        return token

    def resolve(self, tenant_id: str, token: str) -> PatronSession:
        """The live session for ``token`` at ``tenant_id``; raises ``SessionExpired``."""
        digest = _digest(token)
        session = self._by_digest.get(digest)
        if session is None or session.tenant_id != tenant_id:
            raise SessionExpired("Please log in")
        now = self._clock()
        if session.idle_timeout is not None and now - session.last_seen >= session.idle_timeout:
            del self._by_digest[digest]
            raise SessionExpired("You were logged out after a period of inactivity")
        session = replace(session, last_seen=now)
        self._by_digest[digest] = session
        return session

    def update(self, token: str, **changes: object) -> None:
        """Change fields of a live session (e.g. clear ``password_change_required``)."""
        digest = _digest(token)
        if digest in self._by_digest:
            self._by_digest[digest] = replace(self._by_digest[digest], **changes)  # type: ignore[arg-type]

    def end(self, token: str) -> None:
        """End the session (logout); ending an unknown token is a no-op."""
        self._by_digest.pop(_digest(token), None)

    def stored_keys(self) -> list[str]:
        """What the store keeps as keys (digests only; for tests and operators)."""
        return list(self._by_digest)


def check_kiosk_key(given: str | None, keys: Iterable[SecretStr], header: str) -> None:
    """Raise unless ``given`` is one of the tenant's kiosk credentials."""
    if not given:
        raise BadRequest(f"Kiosk requests must carry the {header} header")
    if not any(secrets.compare_digest(given, key.get_secret_value()) for key in keys):
        raise AuthenticationFailed("This kiosk is not registered")
