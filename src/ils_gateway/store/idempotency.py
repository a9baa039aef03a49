"""Idempotency keys: a repeated request with the same Idempotency-Key gets the first answer.

``claim`` is insert-if-absent and race-safe on both databases: of two requests arriving at
once with one key, exactly one wins and runs; the other sees the winner's record (and its
response once ``complete`` stored it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Row, delete, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.errors import InvalidValue, RecordNotFound
from ils_gateway.store.records import IdempotencyClaim, IdempotencyRecord, PatronRef
from ils_gateway.store.schema import idempotency_keys

KEY_MAX_CHARS = 255
FINGERPRINT_MAX_CHARS = 128


class IdempotencyRepository:
    """Claims keys, stores the first response, and forgets keys after their expiry."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def claim(
        self, owner: PatronRef, key: str, fingerprint: str, *, ttl: timedelta
    ) -> IdempotencyClaim:
        """Claim ``key`` for a request; ``won`` is False when someone claimed it first.

        The caller compares ``record.fingerprint`` with its own to tell a replay (same
        request) from a key reused for a different request (a conflict).
        """
        if not key or len(key) > KEY_MAX_CHARS:
            raise InvalidValue("idempotency_key", f"1 to {KEY_MAX_CHARS} characters")
        if not fingerprint or len(fingerprint) > FINGERPRINT_MAX_CHARS:
            raise InvalidValue("fingerprint", f"1 to {FINGERPRINT_MAX_CHARS} characters")
        t = idempotency_keys
        now = self._clock()
        this_key = owned_by(t, owner) & (t.c.key == key)
        insert = (
            self._db.insert(t)
            .values(
                **owner_values(owner),
                key=key,
                fingerprint=fingerprint,
                created_at=now,
                expires_at=now + ttl,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "patron_key", "key"])
        )
        async with self._db.write() as conn:
            # An expired claim no longer counts; clearing it first lets the insert below decide.
            await conn.execute(delete(t).where(this_key, t.c.expires_at <= now))
            won = (await conn.execute(insert)).rowcount == 1
            row = (await conn.execute(select(t).where(this_key))).one()
        return IdempotencyClaim(won, _record(row))

    async def complete(self, owner: PatronRef, key: str, status: int, body: bytes) -> None:
        """Store the response of the request that won ``key``."""
        t = idempotency_keys
        async with self._db.write() as conn:
            result = await conn.execute(
                update(t).where(owned_by(t, owner), t.c.key == key).values(status=status, body=body)
            )
            if result.rowcount == 0:
                raise RecordNotFound(f"idempotency key {key!r} was not claimed")

    async def release(self, owner: PatronRef, key: str) -> None:
        """Forget a claim whose request ended before anything happened, so a retry may run."""
        t = idempotency_keys
        await self._db.delete_owned(t, owner, t.c.key == key)

    async def get(self, owner: PatronRef, key: str) -> IdempotencyRecord | None:
        """The live record for ``key``, if any."""
        t = idempotency_keys
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t).where(
                        owned_by(t, owner), t.c.key == key, t.c.expires_at > self._clock()
                    )
                )
            ).first()
        return None if row is None else _record(row)

    async def purge_expired(self) -> int:
        """Delete every expired key (all tenants); returns how many."""
        t = idempotency_keys
        async with self._db.write() as conn:
            result = await conn.execute(delete(t).where(t.c.expires_at <= self._clock()))
            return result.rowcount


def _record(row: Row[Any]) -> IdempotencyRecord:
    r = row._mapping
    return IdempotencyRecord(
        key=r["key"],
        fingerprint=r["fingerprint"],
        status=r["status"],
        body=r["body"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
    )
