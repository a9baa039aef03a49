"""Notices (issue 18): preferences, the ledger of notices given (and the staff's call list),
the polling cursors, and the record of each periodic job's last run.

- ``NoticePreferencesRepository``: per patron, the due-date reminder's lead time, the overdue
  notice and child entry mail switches (the contact method and the reminder switch itself are
  in ``patron_settings``).
- ``NoticeLedgerRepository``: ``record`` is ``INSERT … ON CONFLICT (tenant_id, dedup_key) DO
  NOTHING``: of any number of processes seeing one event, one records it and gets True. Phone
  notices carry what staff need to call, sealed (``SecretBox``, key derived from the server
  secret): a database dump alone shows no name or phone number.
- ``NoticeCursorRepository``: where the next bounded polling run of a tenant starts.
- ``JobRunRepository``: the last start, end and outcome of each job (per tenant).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from sqlalchemy import and_, delete, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.errors import InvalidValue
from ils_gateway.store.patron_keys import derive_key
from ils_gateway.store.records import PatronRef
from ils_gateway.store.schema import (
    job_leases,
    job_runs,
    notice_cursors,
    notice_ledger,
    notice_preferences,
)

DEDUP_KEY_MAX = 255
DETAIL_MAX = 500


@dataclass(frozen=True, slots=True)
class NoticePreferences:
    """A patron's notice switches the gateway keeps (defaults when never saved)."""

    #: Days before the due date the reminder goes; None: the tenant's default.
    due_reminder_days: int | None = None
    overdue_notice: bool = True
    child_entry_mail: bool = False


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One notice given: on the call list when ``channel`` is phone."""

    id: int
    tenant_id: str
    dedup_key: str
    event: str
    channel: str
    created_at: datetime
    details: dict[str, Any]
    done_at: datetime | None
    done_by: str | None


@dataclass(frozen=True, slots=True)
class JobRun:
    """The last run of one job for one tenant ("" for a job over every tenant)."""

    name: str
    tenant_id: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    detail: str | None


class NoticePreferencesRepository:
    """One row of notice switches per patron."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def get(self, owner: PatronRef) -> NoticePreferences:
        """The patron's preferences (defaults when never saved)."""
        t = notice_preferences
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.c.due_reminder_days, t.c.overdue_notice, t.c.child_entry_mail).where(
                        owned_by(t, owner)
                    )
                )
            ).first()
        if row is None:
            return NoticePreferences()
        return NoticePreferences(
            due_reminder_days=row.due_reminder_days,
            overdue_notice=bool(row.overdue_notice),
            child_entry_mail=bool(row.child_entry_mail),
        )

    async def save(self, owner: PatronRef, prefs: NoticePreferences) -> NoticePreferences:
        """Keep ``prefs`` as the patron's, whole."""
        days = prefs.due_reminder_days
        if days is not None and not 0 <= days <= 60:
            raise InvalidValue("due_reminder_days", "0 to 60 days")
        values: dict[str, Any] = {
            "due_reminder_days": days,
            "overdue_notice": prefs.overdue_notice,
            "child_entry_mail": prefs.child_entry_mail,
            "updated_at": self._clock(),
        }
        insert = self._db.insert(notice_preferences).values(**owner_values(owner), **values)
        async with self._db.write() as conn:
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["tenant_id", "patron_key"], set_=values
                )
            )
        return prefs


class NoticeLedgerRepository:
    """The notices given, deduplicated per tenant; phone ones make the call list."""

    def __init__(self, db: Database, *, secret: bytes, clock: Clock) -> None:
        self._db = db
        self._box = SecretBox(derive_key(secret, "notice-ledger/v1"))
        self._clock = clock

    async def record(
        self,
        owner: PatronRef,
        dedup_key: str,
        event: str,
        channel: str,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Note the notice of one event; False when ``dedup_key`` was noted before."""
        if not dedup_key or len(dedup_key) > DEDUP_KEY_MAX:
            raise InvalidValue("dedup_key", f"1 to {DEDUP_KEY_MAX} characters")
        sealed = (
            bytes(self._box.encrypt(json.dumps(dict(details), sort_keys=True).encode()))
            if details
            else None
        )
        async with self._db.write() as conn:
            result = await conn.execute(
                self._db.insert(notice_ledger)
                .values(
                    tenant_id=owner.tenant_id,
                    patron_key=owner.patron_key,
                    dedup_key=dedup_key,
                    event=event,
                    channel=channel,
                    created_at=self._clock(),
                    sealed=sealed,
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", "dedup_key"])
            )
            return bool(result.rowcount == 1)

    async def seen(self, tenant_id: str, dedup_key: str) -> bool:
        """True when the event of ``dedup_key`` was noticed already."""
        t = notice_ledger
        async with self._db.read() as conn:
            row = await conn.execute(
                select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.dedup_key == dedup_key)
            )
            return row.first() is not None

    async def forget(self, tenant_id: str, dedup_key: str) -> None:
        """Drop the note of one event (its mail could not be queued: try again next run)."""
        t = notice_ledger
        async with self._db.write() as conn:
            await conn.execute(
                delete(t).where(t.c.tenant_id == tenant_id, t.c.dedup_key == dedup_key)
            )

    async def calls(self, tenant_id: str, *, include_done: bool = False) -> list[LedgerEntry]:
        """The phone notices of a tenant, oldest first (only those still to make by default)."""
        t = notice_ledger
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.channel == "phone")
        if not include_done:
            query = query.where(t.c.done_at.is_(None))
        async with self._db.read() as conn:
            rows = list(await conn.execute(query.order_by(t.c.created_at, t.c.id)))
        return [self._entry(row) for row in rows]

    async def mark_done(self, tenant_id: str, entry_id: int, by: str) -> LedgerEntry | None:
        """Mark one call made (again: keeps the first); None when no such call."""
        t = notice_ledger
        where = and_(t.c.tenant_id == tenant_id, t.c.id == entry_id, t.c.channel == "phone")
        async with self._db.write() as conn:
            await conn.execute(
                update(t)
                .where(where, t.c.done_at.is_(None))
                .values(done_at=self._clock(), done_by=by[:64])
            )
            row = (await conn.execute(select(t).where(where))).first()
        return None if row is None else self._entry(row)

    def _entry(self, row: Any) -> LedgerEntry:
        details: dict[str, Any] = {}
        if row.sealed is not None:
            try:
                details = json.loads(self._box.decrypt(row.sealed))
            except CryptoError:  # sealed under another server secret
                details = {}
        return LedgerEntry(
            id=int(row.id),
            tenant_id=row.tenant_id,
            dedup_key=row.dedup_key,
            event=row.event,
            channel=row.channel,
            created_at=row.created_at,
            details=details,
            done_at=row.done_at,
            done_by=row.done_by,
        )


class NoticeCursorRepository:
    """Where each tenant's bounded polling run starts next."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, tenant_id: str, job: str) -> int:
        """The position to start at (0 when never saved)."""
        t = notice_cursors
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t.c.position).where(t.c.tenant_id == tenant_id, t.c.job == job)
                )
            ).first()
        return 0 if row is None else int(row.position)

    async def set(self, tenant_id: str, job: str, position: int) -> None:
        """Start there next time."""
        insert = self._db.insert(notice_cursors).values(
            tenant_id=tenant_id, job=job, position=position
        )
        async with self._db.write() as conn:
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["tenant_id", "job"], set_={"position": position}
                )
            )


class JobRunRepository:
    """The last run of each job, per tenant."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def started(self, name: str, tenant_id: str, at: datetime) -> None:
        """A run began (its outcome is "running" until ``finished``)."""
        await self._put(
            name, tenant_id, started_at=at, finished_at=None, outcome="running", detail=None
        )

    async def finished(
        self,
        name: str,
        tenant_id: str,
        started: datetime,
        at: datetime,
        outcome: str,
        detail: str | None,
    ) -> None:
        """A run ended with ``outcome`` (ok, failed…)."""
        await self._put(
            name,
            tenant_id,
            started_at=started,
            finished_at=at,
            outcome=outcome[:16],
            detail=detail[:DETAIL_MAX] if detail else None,
        )

    async def last(self) -> list[JobRun]:
        """Every job's last run."""
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(job_runs).order_by(job_runs.c.name, job_runs.c.tenant_id)
            )
            return [
                JobRun(
                    name=r.name,
                    tenant_id=r.tenant_id,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    outcome=r.outcome,
                    detail=r.detail,
                )
                for r in rows
            ]

    async def purge_leases(self, now: datetime, older_than: timedelta) -> int:
        """Delete job leases that expired more than ``older_than`` ago (slot marks pile up)."""
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(job_leases).where(job_leases.c.expires_at < now - older_than)
            )
            return int(result.rowcount)

    async def _put(self, name: str, tenant_id: str, **values: Any) -> None:
        insert = self._db.insert(job_runs).values(name=name, tenant_id=tenant_id, **values)
        async with self._db.write() as conn:
            await conn.execute(
                insert.on_conflict_do_update(index_elements=["name", "tenant_id"], set_=values)
            )
