"""New-arrival alerts (SDI): each patron's saved conditions and each tenant's run mark.

Conditions are personal data, filed under the keyed patron hash like the shelves: every read
and write is restricted to one patron (``owned_by``), except ``by_patron``, which the run uses
to visit a tenant's patrons. The limit on conditions per patron comes from the tenant with each
call (``None``: unlimited). The run mark is where the next run starts; ``advance`` moves it only
from the value the run started with, so two processes finishing the same run move it once.
"""

from __future__ import annotations

import builtins  # annotations after a method named ``list`` need the builtin by name
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.domain.sdi import (
    AUTHOR_MAX_CHARS,
    NAME_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    TITLE_WORDS_MAX_CHARS,
    SdiCondition,
)
from ils_gateway.domain.vocab import MaterialType
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.errors import (
    InvalidValue,
    SdiConditionLimitExceeded,
    SdiConditionNotFound,
)
from ils_gateway.store.records import UNSET, PatronRef, Unset, checked_text
from ils_gateway.store.schema import sdi_conditions, sdi_runs

_LIMITS = {
    "author": AUTHOR_MAX_CHARS,
    "title_words": TITLE_WORDS_MAX_CHARS,
    "subject": SUBJECT_MAX_CHARS,
}


def _optional(field_name: str, value: str | None) -> str | None:
    if value is None:
        return None
    text = checked_text(field_name, value, _LIMITS[field_name])
    return text if text.strip() else None


def _condition(row: Any) -> SdiCondition:
    return SdiCondition(
        condition_id=row.condition_id,
        name=row.name,
        created_at=row.created_at,
        author=row.author,
        title_words=row.title_words,
        subject=row.subject,
        material_type=MaterialType(row.material_type) if row.material_type else None,
    )


class SdiRepository:
    """Saved new-arrival conditions per patron, and the tenants' run marks."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self,
        owner: PatronRef,
        name: str,
        *,
        author: str | None = None,
        title_words: str | None = None,
        subject: str | None = None,
        material_type: MaterialType | None = None,
        max_conditions: int | None,
    ) -> SdiCondition:
        """Save a condition; ``SdiConditionLimitExceeded`` when the patron has enough."""
        condition = SdiCondition(
            condition_id=uuid.uuid4().hex,
            name=checked_text("name", name, NAME_MAX_CHARS, allow_empty=False),
            created_at=self._clock(),
            author=_optional("author", author),
            title_words=_optional("title_words", title_words),
            subject=_optional("subject", subject),
            material_type=material_type,
        )
        if condition.is_empty:
            raise InvalidValue("author", "give author, title_words, subject or material_type")
        c = sdi_conditions
        async with self._db.write() as conn:
            await self._db.lock_patron(conn, owner, "sdi")
            count, last = (
                await conn.execute(
                    select(func.count(), func.max(c.c.seq)).where(owned_by(c, owner))
                )
            ).one()
            if max_conditions is not None and count >= max_conditions:
                raise SdiConditionLimitExceeded(max_conditions)
            await conn.execute(
                c.insert().values(
                    condition_id=condition.condition_id,
                    **owner_values(owner),
                    name=condition.name,
                    author=condition.author,
                    title_words=condition.title_words,
                    subject=condition.subject,
                    material_type=material_type.value if material_type else None,
                    created_at=condition.created_at,
                    seq=(last or 0) + 1,
                )
            )
        return condition

    async def update(
        self,
        owner: PatronRef,
        condition_id: str,
        *,
        name: str | Unset = UNSET,
        author: str | Unset | None = UNSET,
        title_words: str | Unset | None = UNSET,
        subject: str | Unset | None = UNSET,
        material_type: MaterialType | Unset | None = UNSET,
    ) -> SdiCondition:
        """Change some fields (None clears one); the condition must keep at least one."""
        values: dict[str, Any] = {}
        if not isinstance(name, Unset):
            values["name"] = checked_text("name", name, NAME_MAX_CHARS, allow_empty=False)
        for field_name, value in (
            ("author", author),
            ("title_words", title_words),
            ("subject", subject),
        ):
            if not isinstance(value, Unset):
                values[field_name] = _optional(field_name, value)
        if not isinstance(material_type, Unset):
            values["material_type"] = material_type.value if material_type else None
        c = sdi_conditions
        async with self._db.write() as conn:
            row = (
                await conn.execute(
                    select(c).where(owned_by(c, owner), c.c.condition_id == condition_id)
                )
            ).first()
            if row is None:
                raise SdiConditionNotFound(condition_id)
            merged = dict(row._mapping)
            merged.update(values)
            changed = _condition(_Row(merged))
            if changed.is_empty:
                raise InvalidValue("author", "give author, title_words, subject or material_type")
            if values:
                await conn.execute(
                    update(c)
                    .where(owned_by(c, owner), c.c.condition_id == condition_id)
                    .values(**values)
                )
        return changed

    async def delete(self, owner: PatronRef, condition_id: str) -> None:
        """Delete one saved condition."""
        c = sdi_conditions
        if not await self._db.delete_owned(c, owner, c.c.condition_id == condition_id):
            raise SdiConditionNotFound(condition_id)

    async def list(self, owner: PatronRef) -> builtins.list[SdiCondition]:
        """The patron's conditions in the order they were saved."""
        c = sdi_conditions
        async with self._db.read() as conn:
            rows = await conn.execute(select(c).where(owned_by(c, owner)).order_by(c.c.seq))
            return [_condition(r) for r in rows]

    async def get(self, owner: PatronRef, condition_id: str) -> SdiCondition:
        """One of the patron's conditions."""
        c = sdi_conditions
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(c).where(owned_by(c, owner), c.c.condition_id == condition_id)
                )
            ).first()
        if row is None:
            raise SdiConditionNotFound(condition_id)
        return _condition(row)

    async def by_patron(self, tenant_id: str) -> dict[str, builtins.list[SdiCondition]]:
        """Every patron's conditions at one tenant, by patron key (for the run only)."""
        c = sdi_conditions
        out: dict[str, builtins.list[SdiCondition]] = {}
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(c).where(c.c.tenant_id == tenant_id).order_by(c.c.patron_key, c.c.seq)
            )
            for row in rows:
                out.setdefault(row.patron_key, []).append(_condition(row))
        return out

    # --- the run mark ------------------------------------------------------------------------

    async def run_mark(self, tenant_id: str) -> datetime | None:
        """Where the tenant's next run starts; None before the first run."""
        async with self._db.read() as conn:
            found: datetime | None = await conn.scalar(
                select(sdi_runs.c.since).where(sdi_runs.c.tenant_id == tenant_id)
            )
            return found

    async def advance(self, tenant_id: str, *, expected: datetime | None, to: datetime) -> bool:
        """Move the mark from ``expected`` (None: no mark yet) to ``to``; False when another
        run moved it first (the mark is then left as that run set it)."""
        r = sdi_runs
        now = self._clock()
        async with self._db.write() as conn:
            if expected is None:
                inserted = await conn.execute(
                    self._db.insert(r)
                    .values(tenant_id=tenant_id, since=to, updated_at=now)
                    .on_conflict_do_nothing(index_elements=["tenant_id"])
                )
                return bool(inserted.rowcount == 1)
            moved = await conn.execute(
                update(r)
                .where(r.c.tenant_id == tenant_id, r.c.since == expected)
                .values(since=to, updated_at=now)
            )
            return bool(moved.rowcount == 1)


class _Row:
    """Attribute access over a mapping (a row with some columns replaced)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
