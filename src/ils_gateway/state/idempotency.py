"""Idempotency-Key handling: a repeated write gets the first answer, never a second execution.

Interface (``IdempotencyStore``, implemented by ``MemoryIdempotencyStore`` and
``RedisIdempotencyStore``)::

    fp = request_fingerprint(request.method, request.path, body)
    outcome = await store.begin(tenant_id, patron_id, key, fp)
    if isinstance(outcome, StoredResponse):
        return outcome                                   # a repeat: replay the first answer
    try:
        response = await handle(request)                 # outcome is a Ticket: we run it
    except BaseException:
        await store.release(outcome)                     # nothing stored: a retry may run
        raise
    await store.complete(outcome, StoredResponse(status, headers_subset, body))

``begin`` raises ``Conflict`` when the key was used for a different request (other
fingerprint), or when the first request with this key is still running after ``wait`` seconds;
a duplicate arriving while the first runs waits for its answer rather than running twice.
Keys are scoped to (tenant, patron, key) and expire after ``ttl`` (24 h); an unfinished claim
expires after ``pending_ttl`` so a crashed process does not block the key for a day. A key
begun in a session (``begin(..., session=id)``) goes with it: ``forget_session`` at logout.

An answer given while some write's outcome was still unknown is *provisional*:
``complete(ticket, response, unsettled=data)`` keeps it with ``data`` (the unknown writes and
what the state was before them, ``WriteJournal.dumps``). It is never replayed: the next
``begin`` with the key claims it again and returns a ``Ticket`` whose ``unsettled`` carries
``data``, so that the retry reads the writes back and learns the outcome; its answer, once no
write is unknown, is stored as final. ``release`` of such a ticket puts the provisional answer
back (the data must outlive a failed settling attempt). Suggested use: store final answers
below 500; release on other 5xx (nothing was left unknown).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.domain.errors import Conflict
from ils_gateway.sealing import SealedState

DEFAULT_TTL = 24 * 3600.0
DEFAULT_PENDING_TTL = 300.0


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and a hash of the body."""
    body_hash = hashlib.sha256(body).hexdigest()
    return hashlib.sha256(f"{method.upper()}\n{path}\n{body_hash}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first answer to a keyed request: status, the headers worth replaying, body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Ticket:
    """Permission to run a keyed request (this caller was first); complete or release it."""

    tenant_id: str
    patron_id: str
    key: str
    fingerprint: str
    owner: str = field(default_factory=lambda: secrets.token_hex(16))
    unsettled: bytes | None = None
    """Writes an earlier request with this key left unknown (None when this is the first)."""
    provisional: StoredResponse | None = None
    """That earlier request's answer, put back if this one ends without an answer."""


class IdempotencyStore(Protocol):
    """Claims Idempotency-Keys and keeps first answers; see the module docstring."""

    async def begin(
        self, tenant_id: str, patron_id: str, key: str, fingerprint: str, *, session: str = ""
    ) -> Ticket | StoredResponse:
        """A ``Ticket`` when this request is first; the first answer when it is a repeat.

        ``session`` (an opaque id of the patron's session) files the key under that session,
        so that ``forget_session`` removes it at logout."""
        ...

    async def complete(
        self, ticket: Ticket, response: StoredResponse, *, unsettled: bytes | None = None
    ) -> bool:
        """Store the answer (provisional when ``unsettled`` is given); False when the claim
        had expired or was taken over meanwhile."""
        ...

    async def release(self, ticket: Ticket) -> None:
        """Forget the claim without an answer, so the same key may run again (a ticket that
        was settling puts the provisional answer back)."""
        ...

    async def forget_session(self, session: str) -> None:
        """Forget every key begun in ``session`` (at logout: its answers hold personal data,
        and a logged-out session sends no more retries)."""
        ...


def _key_reused() -> Conflict:
    return Conflict("This Idempotency-Key was already used for a different request")


def _still_running() -> Conflict:
    return Conflict("A request with this Idempotency-Key is still being processed; retry later")


@dataclass
class _Entry:
    fingerprint: str
    owner: str
    expires_at: float
    session: str = ""
    response: StoredResponse | None = None
    unsettled: bytes | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryIdempotencyStore:
    """Idempotency keys in this process's memory (the one-process default)."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        pending_ttl: float = DEFAULT_PENDING_TTL,
        wait: float = 10.0,
        clock: EpochSeconds = time.time,
    ) -> None:
        self._ttl = ttl
        self._pending_ttl = pending_ttl
        self._wait = wait
        self._clock = clock
        self._entries: dict[tuple[str, str, str], _Entry] = {}

    async def begin(
        self, tenant_id: str, patron_id: str, key: str, fingerprint: str, *, session: str = ""
    ) -> Ticket | StoredResponse:
        scope = (tenant_id, patron_id, key)
        while True:
            entry = self._live(scope)
            if entry is None:
                ticket = Ticket(tenant_id, patron_id, key, fingerprint)
                self._entries[scope] = _Entry(
                    fingerprint, ticket.owner, self._clock() + self._pending_ttl, session
                )
                return ticket
            if entry.fingerprint != fingerprint:
                raise _key_reused()
            if entry.response is not None and entry.unsettled is not None:
                # Provisional: this request settles the unknown writes.
                ticket = Ticket(
                    tenant_id,
                    patron_id,
                    key,
                    fingerprint,
                    unsettled=entry.unsettled,
                    provisional=entry.response,
                )
                self._entries[scope] = _Entry(
                    fingerprint, ticket.owner, self._clock() + self._pending_ttl, entry.session
                )
                return ticket
            if entry.response is not None:
                return entry.response
            try:
                async with asyncio.timeout(self._wait):
                    await entry.done.wait()
            except TimeoutError:
                raise _still_running() from None
            # Completed (replay it) or released (claim it) — look again.

    async def complete(
        self, ticket: Ticket, response: StoredResponse, *, unsettled: bytes | None = None
    ) -> bool:
        entry = self._owned(ticket)
        if entry is None:
            return False
        entry.response = response
        entry.unsettled = unsettled
        entry.expires_at = self._clock() + self._ttl
        entry.done.set()
        return True

    async def release(self, ticket: Ticket) -> None:
        if ticket.provisional is not None:
            await self.complete(ticket, ticket.provisional, unsettled=ticket.unsettled)
            return
        entry = self._owned(ticket)
        if entry is not None:
            del self._entries[(ticket.tenant_id, ticket.patron_id, ticket.key)]
            entry.done.set()

    async def forget_session(self, session: str) -> None:
        if not session:
            return
        for scope in [s for s, e in self._entries.items() if e.session == session]:
            self._entries.pop(scope).done.set()

    def _live(self, scope: tuple[str, str, str]) -> _Entry | None:
        entry = self._entries.get(scope)
        if entry is not None and entry.expires_at <= self._clock():
            del self._entries[scope]
            entry.done.set()
            return None
        return entry

    def _owned(self, ticket: Ticket) -> _Entry | None:
        entry = self._live((ticket.tenant_id, ticket.patron_id, ticket.key))
        return entry if entry is not None and entry.owner == ticket.owner else None


# Compare-and-set / compare-and-delete on the exact value last read: completing needs the
# claimant's pending value, claiming a provisional answer needs that answer unchanged.
_SET_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisIdempotencyStore:
    """Idempotency keys in Redis, shared by every process (SET NX claims a key).

    One key per (tenant, patron, key), named by their keyed hash (``sealed.name``; never the
    patron's id or a plain hash of it): ``<prefix>idem:<name>``. A claim is a pending record
    written with ``SET NX PX pending_ttl``; the claimant replaces it with the answer (``PX
    ttl``) or deletes it. Records carry the request's fingerprint as a keyed hash; an answer
    (its body, and the unknown writes' baselines: loans, titles) is sealed
    (``ils_gateway.sealing``). The names of a session's records are kept in the set
    ``<prefix>idem-session:<name>`` so that logging out deletes them. A duplicate polls every
    ``poll_interval`` seconds for up to ``wait`` seconds. ``redis`` is a ``redis.asyncio.Redis``
    the caller owns.
    """

    def __init__(
        self,
        redis: Any,
        *,
        sealed: SealedState,
        prefix: str = "ilsgw:",
        ttl: float = DEFAULT_TTL,
        pending_ttl: float = DEFAULT_PENDING_TTL,
        wait: float = 10.0,
        poll_interval: float = 0.05,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._sealed = sealed
        self._prefix = prefix
        self._ttl_ms = int(ttl * 1000)
        self._pending_ttl_ms = int(pending_ttl * 1000)
        self._polls = max(1, math.ceil(wait / poll_interval))
        self._poll_interval = poll_interval
        self._sleep = sleep

    def _name(self, tenant_id: str, patron_id: str, key: str) -> str:
        return f"{self._prefix}idem:{self._sealed.name('idem', tenant_id, patron_id, key)}"

    def _session_set(self, session: str) -> str:
        return f"{self._prefix}idem-session:{self._sealed.name('idem-session', session)}"

    def _fp(self, fingerprint: str) -> str:
        return self._sealed.name("idem-fp", fingerprint)

    async def begin(
        self, tenant_id: str, patron_id: str, key: str, fingerprint: str, *, session: str = ""
    ) -> Ticket | StoredResponse:
        name = self._name(tenant_id, patron_id, key)
        fp = self._fp(fingerprint)
        polls = 0
        while True:
            ticket = Ticket(tenant_id, patron_id, key, fingerprint)
            if await self._redis.set(name, self._pending(ticket), nx=True, px=self._pending_ttl_ms):
                if session:
                    await self._file_under(session, name)
                return ticket
            raw = await self._redis.get(name)
            if raw is None:
                continue  # expired or released between the two calls: try to claim again
            record = json.loads(raw)
            if record["fp"] != fp:
                raise _key_reused()
            if record.get("sealed") is not None:
                answer = self._sealed.open_json(base64.b64decode(record["sealed"]), context=name)
                stored = StoredResponse(
                    answer["status"], answer["headers"], base64.b64decode(answer["body"])
                )
                if answer.get("unsettled") is None:
                    return stored
                # Provisional: claim it to settle the unknown writes (if nobody did first).
                ticket = Ticket(
                    tenant_id,
                    patron_id,
                    key,
                    fingerprint,
                    unsettled=base64.b64decode(answer["unsettled"]),
                    provisional=stored,
                )
                pending = self._pending(ticket)
                claim = (_SET_IF_UNCHANGED, 1, name, raw, pending, self._pending_ttl_ms)
                if await self._redis.eval(*claim):
                    return ticket
                continue
            if polls >= self._polls:
                raise _still_running()
            polls += 1
            await self._sleep(self._poll_interval)

    async def _file_under(self, session: str, name: str) -> None:
        index = self._session_set(session)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(index, name)
            pipe.pexpire(index, self._ttl_ms)
            await pipe.execute()

    async def complete(
        self, ticket: Ticket, response: StoredResponse, *, unsettled: bytes | None = None
    ) -> bool:
        name = self._name(ticket.tenant_id, ticket.patron_id, ticket.key)
        answer = {
            "status": response.status,
            "headers": dict(response.headers),
            "body": base64.b64encode(response.body).decode(),
            "unsettled": base64.b64encode(unsettled).decode() if unsettled else None,
        }
        sealed = base64.b64encode(self._sealed.seal_json(answer, context=name)).decode()
        done = json.dumps({"fp": self._fp(ticket.fingerprint), "sealed": sealed})
        return bool(
            await self._redis.eval(
                _SET_IF_UNCHANGED, 1, name, self._pending(ticket), done, self._ttl_ms
            )
        )

    async def release(self, ticket: Ticket) -> None:
        if ticket.provisional is not None:
            await self.complete(ticket, ticket.provisional, unsettled=ticket.unsettled)
            return
        name = self._name(ticket.tenant_id, ticket.patron_id, ticket.key)
        await self._redis.eval(_RELEASE, 1, name, self._pending(ticket))

    async def forget_session(self, session: str) -> None:
        if not session:
            return
        index = self._session_set(session)
        names = await self._redis.smembers(index)
        await self._redis.delete(index, *names)

    def _pending(self, ticket: Ticket) -> str:
        # No personal data: the keyed fingerprint and a random owner (compared byte for byte).
        return json.dumps({"fp": self._fp(ticket.fingerprint), "owner": ticket.owner})
