"""Patron settings: e-mail addresses, notice routing, pickup library, reminders, history switch."""

from __future__ import annotations

import re
from dataclasses import replace
from enum import Enum
from typing import Any

from sqlalchemy import select

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.errors import InvalidValue
from ils_gateway.store.records import (
    EmailKind,
    HoldContactMethod,
    HoldNoticeAddress,
    PatronRef,
    PatronSettings,
)
from ils_gateway.store.schema import patron_settings

# Shape only (one @, something either side, no spaces); tenant rules such as Akiruno's are
# checked by services before saving.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")
_FIELDS = (
    "email1",
    "email1_kind",
    "email2",
    "email2_kind",
    "hold_notice_to",
    "default_pickup_library",
    "hold_contact_method",
    "due_date_reminder",
    "reading_history_enabled",
    "reading_history_since",
)


def _check(settings: PatronSettings) -> None:
    for name in ("email1", "email2"):
        address = getattr(settings, name)
        if address is not None and (len(address) > 254 or not _EMAIL_SHAPE.fullmatch(address)):
            raise InvalidValue(name, "not an e-mail address")
    target = settings.hold_notice_to
    if target is not None and getattr(settings, target.value) is None:
        raise InvalidValue("hold_notice_to", f"{target.value} is not set")


class PatronSettingsRepository:
    """Reads and saves one settings row per patron; a patron without one gets the defaults."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def get(self, owner: PatronRef) -> PatronSettings:
        """The patron's settings (defaults when never saved)."""
        t = patron_settings
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(*(t.c[name] for name in _FIELDS)).where(owned_by(t, owner))
                )
            ).first()
        if row is None:
            return PatronSettings()
        values: dict[str, Any] = row._asdict()
        for name, kind in (
            ("email1_kind", EmailKind),
            ("email2_kind", EmailKind),
            ("hold_notice_to", HoldNoticeAddress),
            ("hold_contact_method", HoldContactMethod),
        ):
            if values[name] is not None:
                values[name] = kind(values[name])
        return PatronSettings(**values)

    async def save(self, owner: PatronRef, settings: PatronSettings) -> PatronSettings:
        """Store ``settings`` as the patron's, whole.

        The reading-history switch is kept as stored: change it with ``set_reading_history``,
        which records the moment it was switched on.
        """
        current = await self.get(owner)
        settings = replace(
            settings,
            reading_history_enabled=current.reading_history_enabled,
            reading_history_since=current.reading_history_since,
        )
        _check(settings)
        await self._write(owner, settings)
        return settings

    async def set_reading_history(self, owner: PatronRef, enabled: bool) -> PatronSettings:
        """Switch reading history on (recording from now on) or off (keeping what is there)."""
        current = await self.get(owner)
        if current.reading_history_enabled == enabled:
            return current
        settings = replace(
            current,
            reading_history_enabled=enabled,
            reading_history_since=self._clock() if enabled else None,
        )
        await self._write(owner, settings)
        return settings

    async def _write(self, owner: PatronRef, settings: PatronSettings) -> None:
        values: dict[str, Any] = {
            name: (v.value if isinstance(v, Enum) else v)
            for name in _FIELDS
            for v in [getattr(settings, name)]
        }
        values["updated_at"] = self._clock()
        insert = self._db.insert(patron_settings).values(**owner_values(owner), **values)
        upsert = insert.on_conflict_do_update(
            index_elements=["tenant_id", "patron_key"], set_=values
        )
        async with self._db.write() as conn:
            await conn.execute(upsert)
