"""The ``Store``: one engine and the repositories built on it."""

from __future__ import annotations

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database
from ils_gateway.store.account import AccountRepository
from ils_gateway.store.async_engine import AsyncEngine
from ils_gateway.store.basket import BasketRepository
from ils_gateway.store.cancelled_holds import CancelledHoldRepository
from ils_gateway.store.idempotency import IdempotencyRepository
from ils_gateway.store.notices import (
    JobRunRepository,
    NoticeCursorRepository,
    NoticeLedgerRepository,
    NoticePreferencesRepository,
)
from ils_gateway.store.or_holds import OrHoldRepository
from ils_gateway.store.outbox import OutboxRepository
from ils_gateway.store.patron_keys import PatronKeys
from ils_gateway.store.reading_history import KdfParams, ReadingHistoryRepository
from ils_gateway.store.records import PatronRef
from ils_gateway.store.roster import LeaseRepository, RosterRepository
from ils_gateway.store.sdi import SdiRepository
from ils_gateway.store.sequences import HoldSequenceRepository
from ils_gateway.store.settings import PatronSettingsRepository
from ils_gateway.store.shelves import ShelfRepository


class Store:
    """The gateway's own data, one repository per kind; open it with ``engine.open_store``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        secret: bytes,
        kdf: KdfParams,
        clock: Clock,
        write_option: str,
    ) -> None:
        db = Database(engine, write_option)
        self.engine = engine
        self.dialect = db.dialect
        self._patron_keys = PatronKeys(secret)
        self.basket = BasketRepository(db, clock)
        self.sequences = HoldSequenceRepository(db, clock)
        self.or_holds = OrHoldRepository(db, clock)
        self.cancelled_holds = CancelledHoldRepository(db)
        self.shelves = ShelfRepository(db, clock)
        self.settings = PatronSettingsRepository(db, clock)
        self.idempotency = IdempotencyRepository(db, clock)
        self.reading_history = ReadingHistoryRepository(db, secret=secret, kdf=kdf)
        self.roster = RosterRepository(db, secret=secret, clock=clock)
        self.leases = LeaseRepository(db, clock)
        self.sdi = SdiRepository(db, clock)
        self.outbox = OutboxRepository(db, clock)
        self.job_runs = JobRunRepository(db)
        self.notice_preferences = NoticePreferencesRepository(db, clock)
        self.notice_ledger = NoticeLedgerRepository(db, secret=secret, clock=clock)
        self.notice_cursors = NoticeCursorRepository(db)
        self.account = AccountRepository(db, clock)

    def patron(self, tenant_id: str, card_number: str) -> PatronRef:
        """The reference a patron's rows are kept under (a keyed hash of the normalised card)."""
        return self._patron_keys.ref(tenant_id, card_number)
