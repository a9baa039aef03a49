"""Patron sessions as the faces use them, over the shared ``ils_gateway.state.sessions`` store.

``PatronSessions`` creates a session at login (the opaque token is returned once; the store
keeps only its SHA-256), resolves ``Authorization: Bearer`` on each request (the store touches
it: the idle timeout counts from the last use, and is the tenant's ``idle_timeout_minutes``
fixed at login) and ends it at logout. The store is in memory for one process or in Redis for
many; nothing here depends on a request coming back to the same process.

Between requests the session keeps the least the backend calls need: the patron's ids and card,
category, home library, child flag and card expiry. The name, contact data and birth date are
not kept (the login answer and the patron summary come fresh from the backend); in Redis the
whole session is sealed (``ils_gateway.sealing``).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from pydantic import JsonValue

from ils_gateway.domain.errors import SessionExpired
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import Channel
from ils_gateway.lru import SmallLru
from ils_gateway.services.context import Caller
from ils_gateway.state.sessions import SessionStore, token_hash

# The Patron fields a session carries between requests: what backend calls and house rules need
# (no name, no contact data, no birth date).
_KEPT_FIELDS = frozenset(
    {"id", "card_number", "category", "home_library", "is_child", "card_expires"}
)

# Sessions of tenants without an idle timeout still end; this is how long they may go unused.
DEFAULT_IDLE_TIMEOUT = timedelta(hours=12)

# Resolved sessions remembered (by tenant, patron and channel) so that a request whose stored
# session is unchanged reuses the frozen PatronSession instead of validating the patron again.
_MAX_RESOLVED = 1024


@dataclass(frozen=True)
class PatronSession:
    """One logged-in patron on one channel of one tenant, as a request sees it."""

    tenant_id: str
    patron: Patron
    channel: Channel
    password_change_required: bool
    idle_timeout: timedelta
    # What services keep in the session besides the patron (e.g. the sealed history key).
    extra: Mapping[str, JsonValue] = field(default_factory=dict, repr=False)
    # For the log context of every request: worked out once per resolved session.
    masked_card: str = field(init=False, repr=False)
    channel_name: str = field(init=False, repr=False)
    # The services' view of the request's patron, made once per resolved session.
    caller: Caller = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "masked_card", self.patron.masked_card)
        object.__setattr__(self, "channel_name", str(self.channel))
        object.__setattr__(self, "caller", Caller(patron=self.patron, channel=self.channel))


class PatronSessions:
    """Creates, resolves (touching, with idle timeout) and ends patron sessions in a store."""

    def __init__(
        self,
        store: SessionStore,
        *,
        default_idle_timeout: timedelta = DEFAULT_IDLE_TIMEOUT,
        on_end: Sequence[Callable[[str], Awaitable[None]]] = (),
    ) -> None:
        """``on_end``: called with the session's opaque id (``token_hash``) when it is ended
        (e.g. to forget the Idempotency-Keys begun in it)."""
        self._store = store
        # The store's answer without awaiting, when it has one (in-process), else None.
        self._peek: Callable[[str], Any] | None = getattr(store, "peek", None)
        self._default_idle = default_idle_timeout
        self._on_end = tuple(on_end)
        # (tenant, patron id, channel) -> (what the store held: flag, idle, extra; the session;
        # the store's record it was made from, to recognise the same record by identity)
        # Least recently used goes first, one at a time (a full clear sent every patron back to
        # validation at once past the bound: issue 17).
        self._resolved: SmallLru[tuple[str, str, Channel], tuple[Any, PatronSession, Any]] = (
            SmallLru(maxsize=_MAX_RESOLVED)
        )

    async def create(
        self,
        tenant_id: str,
        patron: Patron,
        channel: Channel,
        *,
        password_change_required: bool,
        idle_timeout_minutes: int | None,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> str:
        """A new session; returns its token (the only time it is seen in clear).

        ``extra`` is kept for the services (never the key ``patron``, which is the session's own).
        """
        idle = (
            timedelta(minutes=idle_timeout_minutes) if idle_timeout_minutes else self._default_idle
        )
        new = await self._store.create(
            tenant_id=tenant_id,
            patron_id=patron.id,
            masked_card=patron.masked_card,
            channel=channel,
            idle_timeout=idle,
            password_change_required=password_change_required,
            extra={
                **(extra or {}),
                "patron": patron.model_dump(mode="json", include=set(_KEPT_FIELDS)),
            },
        )
        return new.token

    async def resolve(self, tenant_id: str, token: str) -> PatronSession:
        """The live session for ``token`` at ``tenant_id``; raises ``SessionExpired``."""
        # The in-process store answers most requests without awaiting (``peek``).
        peek = self._peek
        data = peek(token) if peek is not None else None
        if data is None:
            try:
                data = await self._store.get(token)
            except SessionExpired:
                raise SessionExpired("Please log in again") from None
        if data.tenant_id != tenant_id:
            # A token of another library is no session here (and says nothing about it).
            raise SessionExpired("Please log in")
        key = (data.tenant_id, data.patron_id, data.channel)
        known = self._resolved.get(key)
        if known is not None and known[2] is data:
            return known[1]  # the in-process store handed out the same (frozen) record
        stored = (data.password_change_required, data.idle_timeout_seconds, data.extra)
        if known is not None and known[0] == stored:
            self._resolved[key] = (known[0], known[1], data)
            return known[1]
        session = PatronSession(
            tenant_id=data.tenant_id,
            patron=Patron.model_validate(data.extra["patron"]),
            channel=data.channel,
            password_change_required=data.password_change_required,
            idle_timeout=data.idle_timeout,
            # Read-only: the session is handed to every request until the store's copy changes.
            extra=MappingProxyType({k: v for k, v in data.extra.items() if k != "patron"}),
        )
        # A deep copy of what was stored: the comparison must not follow later changes to it.
        snapshot = (stored[0], stored[1], copy.deepcopy(data.extra))
        self._resolved[key] = (snapshot, session, data)
        return session

    async def update_extra(self, token: str, values: Mapping[str, JsonValue]) -> None:
        """Merge ``values`` into the session's ``extra`` (a None value removes that key)."""
        data = await self._store.get(token)
        merged = {**data.extra, **values}
        merged = {k: v for k, v in merged.items() if v is not None}
        merged["patron"] = data.extra["patron"]
        await self._store.update(token, extra=merged)

    async def password_changed(self, token: str) -> None:
        """The temporary password was replaced: the session may now do everything."""
        await self._store.update(token, password_change_required=False)

    async def end_patron(self, tenant_id: str, patron_id: str) -> int:
        """End every session of one patron, on every channel (a password reset); how many
        were live. Their Idempotency-Keys expire on their own."""
        ended = await self._store.end_patron(tenant_id, patron_id)
        for key in [k for k in self._resolved if k[0] == tenant_id and k[1] == patron_id]:
            self._resolved.pop(key, None)
        return ended

    async def end(self, token: str) -> None:
        """End the session (logout), then forget what was kept for it (``on_end``); ending an
        unknown token is a no-op."""
        await self._store.end(token)
        for forget in self._on_end:
            await forget(token_hash(token))
