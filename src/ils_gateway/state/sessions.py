"""Patron sessions: an opaque token handed out once, stored only as its SHA-256 hash.

Interface (``SessionStore``, implemented by ``MemorySessionStore`` for one process and
``RedisSessionStore`` for many)::

    new = await store.create(tenant_id=..., patron_id=..., masked_card=..., channel=...,
                             idle_timeout=timedelta(minutes=30))
    new.token                                 # give to the client once (cookie / bearer)
    session = await store.get(token)          # touches it; SessionExpired when idle or ended
    await store.update(token, extra={...}, password_change_required=False)
    await store.end(token)                    # logout

The idle timeout is per session (the tenant's ``policy.idle_timeout_minutes`` at login), so the
store needs no tenant configuration. A touch within ``TOUCH_RESOLUTION`` (1 s) of the last one
writes nothing. ``extra`` is an opaque JSON-ready dict for the services
(e.g. an unwrapped reading-history key); it is stored as given, so keep secrets in it short-lived.
Clocks are injected (timezone-aware ``datetime``); nothing depends on a request returning to the
same process.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from ils_gateway.domain.clock import Clock, system_clock
from ils_gateway.domain.errors import SessionExpired
from ils_gateway.domain.vocab import Channel
from ils_gateway.nearcache import NearCache
from ils_gateway.sealing import SealBroken, SealedState

TOKEN_BYTES = 32  # 256 bits of randomness: guessing a live token is hopeless

# A touch moves ``last_seen`` only once it is this old: a patron's burst of requests rewrites
# the session once (in Redis: one write a second, not one per request), and the idle timeout
# (minutes) ends at most this much early.
TOUCH_RESOLUTION = timedelta(seconds=1)

# Sessions a login looks at for expiry in memory (``MemorySessionStore``): a constant cost.
PURGE_STEP = 8


def token_hash(token: str) -> str:
    """The stored form of a session token (hex SHA-256); the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionData(BaseModel):
    """One logged-in patron on one channel, as the gateway remembers them between requests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str
    patron_id: str = Field(repr=False, description="the ILS's patron id (SIP2: the card number)")
    masked_card: str = Field(description="card number with at most the last 4 characters shown")
    channel: Channel
    password_change_required: bool = False
    created_at: datetime
    last_seen: datetime
    idle_timeout_seconds: int = Field(gt=0)
    extra: dict[str, JsonValue] = Field(default_factory=dict, repr=False)

    @field_validator("masked_card")
    @classmethod
    def _is_masked(cls, value: str) -> str:
        if len(value.replace("*", "")) > 4:
            raise ValueError("masked_card may show at most 4 characters")
        return value

    @property
    def idle_timeout(self) -> timedelta:
        """How long the session may go unused."""
        return timedelta(seconds=self.idle_timeout_seconds)

    def expired_at(self, now: datetime) -> bool:
        """True when the session has gone unused for its idle timeout."""
        return (now - self.last_seen).total_seconds() >= self.idle_timeout_seconds


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just created: ``token`` is shown here once and never stored."""

    token: str
    session: SessionData


class SessionStore(Protocol):
    """Where sessions live; see the module docstring for the calls."""

    async def create(
        self,
        *,
        tenant_id: str,
        patron_id: str,
        masked_card: str,
        channel: Channel,
        idle_timeout: timedelta,
        password_change_required: bool = False,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> NewSession:
        """Start a session and return its token (once)."""
        ...

    async def get(self, token: str) -> SessionData:
        """The session, touched (last seen now). Raises ``SessionExpired`` when idle or ended."""
        ...

    async def update(
        self,
        token: str,
        *,
        password_change_required: bool | None = None,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> SessionData:
        """Change the flag and/or replace ``extra``; touches. Raises ``SessionExpired``."""
        ...

    async def end(self, token: str) -> None:
        """End the session (logout). Ending an unknown session is not an error."""
        ...

    async def end_patron(self, tenant_id: str, patron_id: str) -> int:
        """End every session of one patron (a password reset); how many were live."""
        ...


class _SessionMaker:
    """What both stores do alike: make a new session, then ``_keep`` it their own way."""

    _clock: Clock

    async def create(
        self,
        *,
        tenant_id: str,
        patron_id: str,
        masked_card: str,
        channel: Channel,
        idle_timeout: timedelta,
        password_change_required: bool = False,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> NewSession:
        now = self._clock()
        data = SessionData(
            tenant_id=tenant_id,
            patron_id=patron_id,
            masked_card=masked_card,
            channel=channel,
            password_change_required=password_change_required,
            created_at=now,
            last_seen=now,
            idle_timeout_seconds=max(1, int(idle_timeout.total_seconds())),
            extra=dict(extra or {}),
        )
        new = NewSession(secrets.token_urlsafe(TOKEN_BYTES), data)
        await self._keep(new)
        return new

    async def _keep(self, new: NewSession) -> None:
        raise NotImplementedError


def _worth_writing(
    session: SessionData,
    now: datetime,
    password_change_required: bool | None,
    extra: Mapping[str, JsonValue] | None,
) -> bool:
    """False for a plain touch within ``TOUCH_RESOLUTION`` of the last write."""
    touch = password_change_required is None and extra is None
    return not touch or now - session.last_seen >= TOUCH_RESOLUTION


def _changes(
    now: datetime, password_change_required: bool | None, extra: Mapping[str, JsonValue] | None
) -> dict[str, Any]:
    changes: dict[str, Any] = {"last_seen": now}
    if password_change_required is not None:
        changes["password_change_required"] = password_change_required
    if extra is not None:
        changes["extra"] = dict(extra)
    return changes


# Sessions ``MemorySessionStore`` keeps decoded (the most recently used), by default.
HOT_SESSIONS = 1024

# One session as ``MemorySessionStore`` keeps it: when last seen, its idle timeout (seconds),
# and the JSON of its ``SessionData`` (the same as in Redis, unsealed).
_Packed = tuple[datetime, int, bytes]


def _packed(session: SessionData) -> _Packed:
    return (session.last_seen, session.idle_timeout_seconds, session.model_dump_json().encode())


class MemorySessionStore(_SessionMaker):
    """Sessions in this process's memory (the one-process default).

    Compact (issue 17: one process's memory): every session is kept as its JSON (about 400
    bytes, where the model takes about 2.5 KB), beside its last-seen time and idle timeout so
    that expiry needs no decoding; only the ``hot`` most recently used are kept decoded as
    well. A request within ``TOUCH_RESOLUTION`` of the last touch of a hot session gets the
    same frozen record back (callers may recognise it by identity); a cold one is decoded
    again (and hot from then on).
    """

    def __init__(self, *, clock: Clock = system_clock, hot: int = HOT_SESSIONS) -> None:
        self._clock = clock
        # Every live session by token hash, least recently created first (for the purge).
        self._sessions: dict[str, _Packed] = {}
        # The decoded ones, least recently used first.
        self._hot: dict[str, SessionData] = {}
        self._max_hot = max(1, hot)

    async def _keep(self, new: NewSession) -> None:
        self._purge_expired()
        key = token_hash(new.token)
        self._sessions[key] = _packed(new.session)
        self._keep_hot(key, new.session)

    def _keep_hot(self, key: str, session: SessionData) -> None:
        hot = self._hot
        hot.pop(key, None)
        hot[key] = session
        if len(hot) > self._max_hot:
            del hot[next(iter(hot))]

    async def get(self, token: str) -> SessionData:
        return await self.update(token)

    def peek(self, token: str) -> SessionData | None:
        """``get`` without awaiting when it would change nothing: the session is hot, live and
        touched within ``TOUCH_RESOLUTION`` (most requests); else None (ask ``get``)."""
        key = token_hash(token)
        session = self._hot.get(key)
        if session is None:
            return None
        now = self._clock()
        if session.expired_at(now) or now - session.last_seen >= TOUCH_RESOLUTION:
            return None  # ``get`` forgets it or writes the touch
        self._keep_hot(key, session)
        return session

    async def update(
        self,
        token: str,
        *,
        password_change_required: bool | None = None,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> SessionData:
        key = token_hash(token)
        session = self._hot.get(key)
        if session is None:
            packed = self._sessions.get(key)
            if packed is not None:
                session = SessionData.model_validate_json(packed[2])
        now = self._clock()
        if session is None or session.expired_at(now):
            self._forget(key)
            raise SessionExpired()
        if not _worth_writing(session, now, password_change_required, extra):
            self._keep_hot(key, session)
            return session  # the same frozen record while hot: callers may recognise it
        session = session.model_copy(update=_changes(now, password_change_required, extra))
        self._sessions[key] = _packed(session)
        self._keep_hot(key, session)
        return session

    async def end(self, token: str) -> None:
        self._forget(token_hash(token))

    def _forget(self, key: str) -> None:
        self._sessions.pop(key, None)
        self._hot.pop(key, None)

    async def end_patron(self, tenant_id: str, patron_id: str) -> int:
        # Rare (a password reset): each kept session is read, the hot ones as they are.
        ended = []
        for key, packed in self._sessions.items():
            session = self._hot.get(key) or SessionData.model_validate_json(packed[2])
            if session.tenant_id == tenant_id and session.patron_id == patron_id:
                ended.append(key)
        for key in ended:
            self._forget(key)
        return len(ended)

    def _purge_expired(self) -> None:
        """Look at the ``PURGE_STEP`` oldest sessions: drop the expired, move the others
        last. Each login costs the same however many sessions live (issue 17: it scanned
        them all), and every expired session is dropped within a few rounds of logins
        (an expired one is also dropped when its token is used)."""
        now = self._clock()
        sessions = self._sessions
        for key in list(itertools.islice(sessions, PURGE_STEP)):
            packed = sessions.pop(key)
            if (now - packed[0]).total_seconds() < packed[1]:
                sessions[key] = packed
            else:
                self._hot.pop(key, None)


class RedisSessionStore(_SessionMaker):
    """Sessions in Redis, shared by every gateway process.

    One key per session, ``<prefix>session:<sha256 of token>`` (the token is 256 random bits:
    its hash names nobody), holding the JSON of ``SessionData`` sealed by ``sealed`` (AES-GCM
    under a key from the server secret, bound to the key's name; ``ils_gateway.sealing``), so
    Redis alone shows neither the patron's card nor anything else of the session. Redis forgets
    it after the idle timeout (refreshed on each touch), and the injected clock is checked as
    well. Touches only rewrite a key that still exists, so a logout racing a request is never
    undone. ``redis`` is a ``redis.asyncio.Redis`` the caller owns.

    ``near`` (optional): the process's ``NearCache``. A session read or written here is kept
    decoded in it; a request within ``TOUCH_RESOLUTION`` of the last touch is then answered
    from it without Redis. Ending a session or changing its flag or extra publishes its name
    on the near cache's channel, so every process drops its copy at once.
    """

    def __init__(
        self,
        redis: Any,
        *,
        sealed: SealedState,
        prefix: str = "ilsgw:",
        clock: Clock = system_clock,
        near: NearCache | None = None,
    ) -> None:
        self._redis = redis
        self._sealed = sealed
        self._prefix = prefix
        self._clock = clock
        self._near = near
        # Sessions whose touch this process is writing: requests meanwhile are served the
        # near cache's copy instead of each reading and writing the session again.
        self._touching: set[str] = set()

    def _key(self, token: str) -> str:
        return f"{self._prefix}session:{token_hash(token)}"

    def peek(self, token: str) -> SessionData | None:
        """``get`` without awaiting when it would change nothing: the near cache holds the
        session, live, and touched within ``TOUCH_RESOLUTION`` or with its touch being written
        by this process; else None (ask ``get``)."""
        near = self._near
        if near is None:
            return None
        key = self._key(token)
        kept: SessionData | None = near.get(key)  # None while the near cache is not trusted
        if kept is None:
            return None
        now = self._clock()
        if kept.expired_at(now):
            return None
        if now - kept.last_seen >= TOUCH_RESOLUTION and key not in self._touching:
            return None
        return kept

    def _seal(self, key: str, session: SessionData) -> bytes:
        return self._sealed.seal(session.model_dump_json().encode(), context=key)

    def _patron_index(self, tenant_id: str, patron_id: str) -> str:
        # The patron's session keys, named by a keyed hash (no card or id readable in Redis).
        return (
            f"{self._prefix}patron-sessions:{self._sealed.name('sessions', tenant_id, patron_id)}"
        )

    async def _keep(self, new: NewSession) -> None:
        key = self._key(new.token)
        session = new.session
        await self._redis.set(
            key, self._seal(key, session), ex=session.idle_timeout_seconds, nx=True
        )
        index = self._patron_index(session.tenant_id, session.patron_id)
        await self._redis.sadd(index, key)
        # Kept a day past the longest idle timeout it may name; stale members are harmless.
        await self._redis.expire(index, session.idle_timeout_seconds + 86400)

    async def get(self, token: str) -> SessionData:
        return await self.update(token)

    async def update(
        self,
        token: str,
        *,
        password_change_required: bool | None = None,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> SessionData:
        key = self._key(token)
        near = self._near
        touch = password_change_required is None and extra is None
        seq = 0
        if near is not None:
            kept: SessionData | None = near.get(key)
            if kept is not None and touch:
                now = self._clock()
                if not kept.expired_at(now) and (
                    not _worth_writing(kept, now, None, None) or key in self._touching
                ):
                    return kept  # touched less than TOUCH_RESOLUTION ago, or being touched
            seq = near.seq
        if not touch or near is None or key in self._touching:
            return await self._read_and_write(key, seq, password_change_required, extra)
        self._touching.add(key)
        try:
            return await self._read_and_write(key, seq, None, None)
        finally:
            self._touching.discard(key)

    async def _read_and_write(
        self,
        key: str,
        seq: int,
        password_change_required: bool | None,
        extra: Mapping[str, JsonValue] | None,
    ) -> SessionData:
        """``update`` past the near cache: the session read from Redis and, if worth it,
        written back (its touch, flag or extra), the near cache told."""
        near = self._near
        raw = await self._redis.get(key)
        if raw is None:
            if near is not None:
                near.invalidate(key)
            raise SessionExpired()
        try:
            session = SessionData.model_validate_json(self._sealed.open(raw, context=key))
        except SealBroken:  # sealed under another secret (a rotation without ``older``)
            raise SessionExpired() from None
        now = self._clock()
        if session.expired_at(now):
            await self._redis.delete(key)
            raise SessionExpired()
        if not _worth_writing(session, now, password_change_required, extra):
            if near is not None:
                near.put(key, session, seq)
            return session
        session = session.model_copy(update=_changes(now, password_change_required, extra))
        stored = await self._redis.set(
            key, self._seal(key, session), ex=session.idle_timeout_seconds, xx=True
        )
        if not stored:  # ended meanwhile
            raise SessionExpired()
        if near is not None:
            if password_change_required is not None or extra is not None:
                await self._redis.publish(near.channel, key)  # others drop their copy
                near.invalidate(key)
                seq = near.seq
            near.put(key, session, seq)
        return session

    async def end(self, token: str) -> None:
        key = self._key(token)
        await self._redis.delete(key)
        if self._near is not None:
            self._near.invalidate(key)
            await self._redis.publish(self._near.channel, key)

    async def end_patron(self, tenant_id: str, patron_id: str) -> int:
        index = self._patron_index(tenant_id, patron_id)
        members = await self._redis.smembers(index)
        keys = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        ended = int(await self._redis.delete(*keys)) if keys else 0
        await self._redis.delete(index)
        if self._near is not None:
            for key in keys:
                self._near.invalidate(key)
                await self._redis.publish(self._near.channel, key)
        return ended
