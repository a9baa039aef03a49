"""The mail outbox: mails waiting to be sent, deduplicated per tenant, claimed by drainers.

A row goes ``pending`` → ``sending`` (claimed by one drainer, under a lease) → ``sent``; a
failed attempt puts it back to ``pending`` with a later ``next_attempt_at``, and after the last
attempt it is ``failed`` (kept, listed by ``ils-gateway mail failed``, retried by hand).

- ``enqueue`` is ``INSERT … ON CONFLICT (tenant_id, dedup_key) DO NOTHING``: of any number of
  processes queueing one event, one row is written; the others get False.
- ``claim`` takes due rows (pending and due, or ``sending`` with an expired lease: the process
  that claimed them died mid-send). PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then an
  UPDATE in the same transaction, so concurrent drainers take disjoint rows without waiting.
  SQLite: the write transaction starts with ``BEGIN IMMEDIATE`` (the database's write lock), so
  claims are serialised and the conditional UPDATE sees the latest state.
- Every claim has its own random ``claim_token``; ``mark_sent``/``mark_retry``/``mark_failed``
  only touch a row still held by that token, so a drainer whose lease expired cannot overwrite
  the outcome of the one that reclaimed it.

The attempt count goes up at the claim, so a crash mid-send counts as an attempt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, and_, delete, func, or_, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database
from ils_gateway.store.errors import InvalidValue
from ils_gateway.store.schema import mail_outbox

OutboxStatus = Literal["pending", "sending", "sent", "failed"]
STATUSES: tuple[OutboxStatus, ...] = ("pending", "sending", "sent", "failed")
DEDUP_KEY_MAX_CHARS = 255
TEMPLATE_MAX_CHARS = 64
LANGUAGE_MAX_CHARS = 8
#: Longest error text kept per row (an SMTP reply or an exception's text).
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class OutboxMail:
    """One outbox row as the drainer and the CLI see it."""

    id: int
    tenant_id: str
    dedup_key: str
    recipients: tuple[str, ...]
    template: str
    language: str | None
    context: dict[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    #: The claim this copy was read under (None outside a claim).
    claim_token: str | None = None


def _json_default(value: object) -> Any:
    """Dates and times as ISO strings (the templates format them); tuples/sets as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):  # date, time
        return isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-ready for a mail's context")


def _mail(row: Row[Any]) -> OutboxMail:
    return OutboxMail(
        id=int(row.id),
        tenant_id=row.tenant_id,
        dedup_key=row.dedup_key,
        recipients=tuple(json.loads(row.recipients)),
        template=row.template,
        language=row.language,
        context=json.loads(row.context),
        status=row.status,
        attempts=int(row.attempts),
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        claim_token=row.claim_token,
    )


class OutboxRepository:
    """The ``mail_outbox`` table: enqueue, claim, settle, list and retry mails."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def enqueue(
        self,
        tenant_id: str,
        dedup_key: str,
        recipients: Sequence[str],
        template: str,
        language: str | None,
        context: Mapping[str, Any],
        *,
        not_before: datetime | None = None,
    ) -> bool:
        """Queue one mail; False (and nothing written) when ``dedup_key`` is already there for
        ``tenant_id`` — whatever that row's status, so a sent event is never mailed again.

        ``context`` must be JSON-ready (dates and datetimes become ISO strings).
        ``not_before``: the earliest time to send (default: now).
        """
        if not dedup_key or len(dedup_key) > DEDUP_KEY_MAX_CHARS:
            raise InvalidValue("dedup_key", f"1 to {DEDUP_KEY_MAX_CHARS} characters")
        if not recipients or any(not r or "\n" in r or "\r" in r for r in recipients):
            raise InvalidValue("recipients", "at least one address, no line breaks")
        if not template or len(template) > TEMPLATE_MAX_CHARS:
            raise InvalidValue("template", f"1 to {TEMPLATE_MAX_CHARS} characters")
        if language is not None and not 0 < len(language) <= LANGUAGE_MAX_CHARS:
            raise InvalidValue("language", f"1 to {LANGUAGE_MAX_CHARS} characters")
        try:
            context_json = json.dumps(dict(context), ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise InvalidValue("context", str(exc)) from exc
        now = self._clock()
        stmt = (
            self._db.insert(mail_outbox)
            .values(
                tenant_id=tenant_id,
                dedup_key=dedup_key,
                recipients=json.dumps(list(recipients), ensure_ascii=False),
                template=template,
                language=language,
                context=context_json,
                status="pending",
                attempts=0,
                next_attempt_at=not_before or now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "dedup_key"])
        )
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
            return bool(result.rowcount == 1)

    async def abandon_exhausted(self, max_attempts: int) -> list[OutboxMail]:
        """Mark ``failed`` the mails whose lease expired after their last attempt (the process
        sending them ended mid-send ``max_attempts`` times); returns them, to be reported."""
        t = mail_outbox
        now = self._clock()
        where = and_(t.c.status == "sending", t.c.lease_until <= now, t.c.attempts >= max_attempts)
        async with self._db.write() as conn:
            query = select(t).where(where)
            if self._db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            await conn.execute(
                update(t)
                .where(t.c.id.in_(ids), where)
                .values(
                    status="failed",
                    claim_token=None,
                    lease_until=None,
                    last_error="lease expired during the last attempt (process ended mid-send?)",
                )
            )
        return [_mail(row) for row in rows]

    async def claim(
        self,
        *,
        limit: int,
        lease: timedelta,
        max_attempts: int,
        tenant_ids: Collection[str] | None = None,
    ) -> list[OutboxMail]:
        """Take up to ``limit`` due mails for sending, oldest due first, for ``lease``.

        Due: ``pending`` with ``next_attempt_at`` reached, or ``sending`` whose lease expired
        with attempts left. Each returned mail carries this claim's ``claim_token`` and its
        attempt count including this attempt. Concurrent claims never return the same row.
        ``tenant_ids``: only these tenants' mails (the others stay as they are).
        """
        t = mail_outbox
        now = self._clock()
        token = uuid.uuid4().hex
        due = or_(
            and_(t.c.status == "pending", t.c.next_attempt_at <= now),
            and_(t.c.status == "sending", t.c.lease_until <= now, t.c.attempts < max_attempts),
        )
        if tenant_ids is not None:
            due = and_(due, t.c.tenant_id.in_(list(tenant_ids)))
        query = select(t.c.id).where(due).order_by(t.c.next_attempt_at, t.c.id).limit(limit)
        if self._db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        async with self._db.write() as conn:
            ids = [row.id for row in await conn.execute(query)]
            if not ids:
                return []
            await conn.execute(
                update(t)
                .where(t.c.id.in_(ids), due)
                .values(
                    status="sending",
                    claim_token=token,
                    lease_until=now + lease,
                    attempts=t.c.attempts + 1,
                )
            )
            rows = await conn.execute(
                select(t).where(t.c.claim_token == token).order_by(t.c.next_attempt_at, t.c.id)
            )
            return [_mail(row) for row in rows]

    async def _settle(self, mail: OutboxMail, **values: Any) -> bool:
        t = mail_outbox
        async with self._db.write() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id == mail.id, t.c.claim_token == mail.claim_token)
                .where(t.c.status == "sending")
                .values(claim_token=None, lease_until=None, **values)
            )
            return bool(result.rowcount == 1)

    async def mark_sent(self, mail: OutboxMail) -> bool:
        """The claimed ``mail`` was accepted by the SMTP server; False if the claim was lost.

        The template's context (names, titles: personal data) is dropped once sent; the row
        keeps its dedup key, template, recipients and times."""
        return await self._settle(
            mail, status="sent", sent_at=self._clock(), last_error=None, context="{}"
        )

    async def mark_retry(self, mail: OutboxMail, error: str, next_attempt_at: datetime) -> bool:
        """The claimed ``mail`` failed this time: pending again from ``next_attempt_at``."""
        return await self._settle(
            mail,
            status="pending",
            next_attempt_at=next_attempt_at,
            last_error=error[:ERROR_MAX_CHARS],
        )

    async def mark_failed(self, mail: OutboxMail, error: str) -> bool:
        """The claimed ``mail`` failed for good (last attempt, or a permanent refusal)."""
        return await self._settle(mail, status="failed", last_error=error[:ERROR_MAX_CHARS])

    async def get(self, mail_id: int) -> OutboxMail | None:
        """One mail by id, or None."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(mail_outbox).where(mail_outbox.c.id == mail_id))
            ).first()
        return None if row is None else _mail(row)

    async def find(self, tenant_id: str, dedup_key: str) -> OutboxMail | None:
        """The mail queued under ``dedup_key`` for ``tenant_id``, or None."""
        t = mail_outbox
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(t).where(t.c.tenant_id == tenant_id, t.c.dedup_key == dedup_key)
                )
            ).first()
        return None if row is None else _mail(row)

    async def list(
        self,
        *,
        status: OutboxStatus | None = None,
        tenant_id: str | None = None,
        limit: int = 100,
    ) -> list[OutboxMail]:
        """Mails, newest first, optionally of one status and tenant."""
        t = mail_outbox
        query = select(t).order_by(t.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status)
        if tenant_id is not None:
            query = query.where(t.c.tenant_id == tenant_id)
        async with self._db.read() as conn:
            return [_mail(row) for row in await conn.execute(query)]

    async def counts(self) -> dict[tuple[str, OutboxStatus], int]:
        """How many mails per (tenant, status)."""
        t = mail_outbox
        query = select(t.c.tenant_id, t.c.status, func.count()).group_by(t.c.tenant_id, t.c.status)
        async with self._db.read() as conn:
            return {(row[0], row[1]): int(row[2]) for row in await conn.execute(query)}

    async def retry(self, mail_id: int) -> bool:
        """Put a ``failed`` mail back to ``pending`` now, with its attempts reset; False when
        there is no such failed mail."""
        t = mail_outbox
        async with self._db.write() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id == mail_id, t.c.status == "failed")
                .values(status="pending", attempts=0, next_attempt_at=self._clock())
            )
            return bool(result.rowcount == 1)

    async def retry_failed(self, tenant_id: str | None = None) -> int:
        """Every ``failed`` mail (of ``tenant_id``) back to ``pending`` now; how many."""
        t = mail_outbox
        stmt = (
            update(t)
            .where(t.c.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=self._clock())
        )
        if tenant_id is not None:
            stmt = stmt.where(t.c.tenant_id == tenant_id)
        async with self._db.write() as conn:
            return int((await conn.execute(stmt)).rowcount)

    async def purge_sent(self, before: datetime) -> int:
        """Delete ``sent`` mails sent before ``before``; how many. Their dedup keys go with
        them, so purge only past the time an event could be seen again."""
        t = mail_outbox
        async with self._db.write() as conn:
            result = await conn.execute(delete(t).where(t.c.status == "sent", t.c.sent_at < before))
            return int(result.rowcount)

    async def purge_failed(self, before: datetime) -> int:
        """Delete ``failed`` mails whose last attempt was planned before ``before`` (their
        ``next_attempt_at``: an operator's retry moves it to the retry's time); how many.
        Their dedup keys go with them, as with ``purge_sent``."""
        t = mail_outbox
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(t).where(t.c.status == "failed", t.c.next_attempt_at < before)
            )
            return int(result.rowcount)
