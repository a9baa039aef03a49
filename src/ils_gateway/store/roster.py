"""The job roster and job leases: what the periodic jobs share across gateway processes.

Roster: per-patron jobs (reading-history capture, hold-sequence enforcement) must ask the
library system for a patron's loans and holds, which needs the card number; the store files rows
under a keyed hash of it only. The roster keeps, per enrolled patron, their ILS record (id, card,
name…) as JSON sealed with a ``SecretBox`` under a key derived from the server secret, so every
process and every restart sees it and a database dump alone does not reveal the card. Never a
password.

Leases: ``acquire(name, holder, ttl)`` makes one process the runner of a job until the lease
expires, so several processes on one database run each job once per interval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from sqlalchemy import delete, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.patron_keys import derive_key
from ils_gateway.store.records import PatronRef
from ils_gateway.store.schema import job_leases, job_roster


class RosterRepository:
    """Enrols, withdraws and lists the patrons the periodic jobs visit, per tenant."""

    def __init__(self, db: Database, *, secret: bytes, clock: Clock) -> None:
        self._db = db
        self._box = SecretBox(derive_key(secret, "job-roster/v1"))
        self._clock = clock

    async def enrol(self, owner: PatronRef, record: Mapping[str, Any]) -> None:
        """Visit this patron in later runs; ``record`` (JSON-ready) replaces an older one."""
        sealed = bytes(self._box.encrypt(json.dumps(record, sort_keys=True).encode()))
        values = {**owner_values(owner), "sealed": sealed, "enrolled_at": self._clock()}
        async with self._db.write() as conn:
            stmt = self._db.insert(job_roster).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "patron_key"],
                set_={"sealed": sealed, "enrolled_at": values["enrolled_at"]},
            )
            await conn.execute(stmt)

    async def withdraw(self, owner: PatronRef) -> bool:
        """Stop visiting this patron; False when they were not enrolled."""
        return await self._db.delete_owned(job_roster, owner) > 0

    async def is_enrolled(self, owner: PatronRef) -> bool:
        """True when the patron is on the roster."""
        async with self._db.read() as conn:
            row = await conn.execute(
                select(job_roster.c.patron_key).where(owned_by(job_roster, owner))
            )
            return row.first() is not None

    async def records(self, tenant_id: str) -> list[dict[str, Any]]:
        """The enrolled patrons' records of one tenant, oldest enrolment first.

        A row sealed under another server secret cannot be opened and is skipped.
        """
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(job_roster.c.sealed)
                .where(job_roster.c.tenant_id == tenant_id)
                .order_by(job_roster.c.enrolled_at, job_roster.c.patron_key)
            )
            sealed = [row.sealed for row in rows]
        out: list[dict[str, Any]] = []
        for blob in sealed:
            try:
                out.append(json.loads(self._box.decrypt(blob)))
            except CryptoError:
                continue
        return out


class LeaseRepository:
    """Expiring, named leases: at most one holder of a name at a time, across processes."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``ttl``; False while another holder has it."""
        now = self._clock()
        expires = now + ttl
        async with self._db.write() as conn:
            inserted = await conn.execute(
                self._db.insert(job_leases)
                .values(name=name, holder=holder, expires_at=expires)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            if inserted.rowcount == 1:
                return True
            # Under READ COMMITTED the WHERE is re-checked on the locked row: one winner.
            taken = await conn.execute(
                update(job_leases)
                .where(job_leases.c.name == name)
                .where((job_leases.c.holder == holder) | (job_leases.c.expires_at <= now))
                .values(holder=holder, expires_at=expires)
            )
            return taken.rowcount == 1

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up early (only if ``holder`` still has it)."""
        async with self._db.write() as conn:
            await conn.execute(
                delete(job_leases)
                .where(job_leases.c.name == name)
                .where(job_leases.c.holder == holder)
            )
