"""Reading history (読書履歴): the patron's own record of loans, the most private data we keep.

- Off by default. Switching it on records loans from that moment only (``since``); switching it
  off stops recording and keeps the entries. Delete one or all; no upper limit.
- Entries are sealed to a per-patron key that only the patron's password opens (see
  docs/store.md). Recording needs no password, so loans are captured whenever the gateway sees
  them (loan lists, kiosk checkouts) and by the periodic job (``services.mylists.history_capture``).
  Reading needs the opened key, which lives only in the patron's session.
- A password change re-wraps the key (entries stay readable). When the library reset the
  password (the ILS accepts a password that does not open the key), a new key is made at the
  next login and older entries become unreadable; the list says how many, honestly.
- There is no staff or operator path to read it: every read goes through a patron's key.

Loan dates are days (``Loan.loaned_on``); a loan is recorded when it was lent on or after the
local day history was switched on and was not already out at the switch: switching on notes
the loans out at that moment (as keyed hashes, ``set_preexisting``), and those are never
recorded while they stay out — the only way to tell for a backend that gives no loan date
(plain SIP2), and for a loan made earlier on the day of the switch. Once such a loan is seen
returned it is forgotten, so the same item borrowed again is recorded. A loan with no date is
anchored at the switch-on moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.clock import Clock
from ils_gateway.domain.errors import AuthenticationFailed, NotFound
from ils_gateway.domain.models import Loan
from ils_gateway.domain.vocab import Feature
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import HistoryLocked
from ils_gateway.store.errors import HistoryNotSetUp, WrongHistoryPassword
from ils_gateway.store.records import (
    HistoryRecordOutcome,
    PatronRef,
    PatronSettings,
    ReadingHistoryEntry,
    ReadingHistoryPage,
    UnlockedHistoryKey,
)
from ils_gateway.store.store import Store

# How long a patron found with history off is not asked again when they look at their loans.
OFF_RECHECK_SECONDS = 30.0
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class HistoryKeyOpened:
    """The outcome of opening the history key: the key for the session, and whether the
    library's password reset forced a new key (older entries are now unreadable)."""

    key: UnlockedHistoryKey | None
    reset: bool = False


class ReadingHistoryService:
    """Switches history on and off, opens its key, captures loans, lists and deletes entries."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        # Loan lists are captured on every look, and a portal looks often. Two memos spare the
        # store (a query per look, a write per loan) without ever recording what should not be:
        # - the loans last recorded per patron: the read cache hands out the same frozen loans
        #   while fresh, and those are recorded already;
        # - patrons found with history off, until when: only "off" is remembered. A stale
        #   "off" delays a capture (the periodic job catches up; switching on here forgets
        #   it); a stale "on" could record after the patron switched off, so "on" is re-read.
        self._recorded: dict[PatronRef, tuple[Loan, ...]] = {}
        self._off_until: dict[PatronRef, float] = {}

    async def status(self, ctx: PatronContext) -> PatronSettings:
        """The patron's settings, whose ``reading_history_*`` fields say whether it is on."""
        ctx.require(Feature.READING_HISTORY)
        return await self._store.settings.get(ctx.owner)

    async def enable(
        self, ctx: PatronContext, backend: ILSBackend, password: str
    ) -> HistoryKeyOpened:
        """Switch history on; the password (checked with the library) protects the key."""
        ctx.require(Feature.READING_HISTORY)
        await _check_password(ctx, backend, password)
        opened = await self._open(ctx, password, create=True)
        # What is out now was lent before the switch: never recorded while it stays out.
        out_now: list[Loan] = []
        if backend.capabilities.supports(Capability.LIST_LOANS):
            out_now = await backend.list_loans(ctx.patron)
        repository = self._store.reading_history
        await repository.set_preexisting(
            ctx.owner, (repository.loan_tag(ctx.owner, loan.id, loan.item.id) for loan in out_now)
        )
        await self._store.settings.set_reading_history(ctx.owner, True)
        self._off_until.pop(ctx.owner, None)
        self._recorded.pop(ctx.owner, None)
        return opened

    async def disable(self, ctx: PatronContext) -> PatronSettings:
        """Stop recording; what is recorded stays."""
        ctx.require(Feature.READING_HISTORY)
        self._recorded.pop(ctx.owner, None)
        return await self._store.settings.set_reading_history(ctx.owner, False)

    async def open_at_login(self, ctx: PatronContext, password: str) -> HistoryKeyOpened:
        """Open the key with the password the library has just accepted (login).

        No key when history was never switched on. When the password does not open the key,
        the library must have reset it: a new key is made and ``reset`` says so.
        """
        return await self._open(ctx, password, create=False)

    async def unlock(
        self, ctx: PatronContext, backend: ILSBackend, password: str
    ) -> HistoryKeyOpened:
        """Open the key within a session that lacks it (the password is checked first)."""
        ctx.require(Feature.READING_HISTORY)
        await _check_password(ctx, backend, password)
        return await self._open(ctx, password, create=False)

    async def password_changed(
        self,
        ctx: PatronContext,
        *,
        old_password: str,
        new_password: str,
        key: UnlockedHistoryKey | None = None,
    ) -> UnlockedHistoryKey | None:
        """Re-wrap the key under the new password after the library accepted the change."""
        try:
            if key is not None:
                return await self._store.reading_history.rewrap(ctx.owner, key, new_password)
            return await self._store.reading_history.change_password(
                ctx.owner, old_password, new_password
            )
        except HistoryNotSetUp:
            return None
        except WrongHistoryPassword:
            # The old password did not open it either: it was reset earlier. Start afresh.
            return await self._store.reading_history.reset(ctx.owner, new_password)

    async def list(
        self,
        ctx: PatronContext,
        key: UnlockedHistoryKey | None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> ReadingHistoryPage:
        """Entries newest first, and how many older entries the key can no longer open."""
        ctx.require(Feature.READING_HISTORY)
        if key is None:
            if not await self._store.reading_history.has_key(ctx.owner):
                return ReadingHistoryPage((), 0, 0)
            raise HistoryLocked()
        try:
            return await self._store.reading_history.list(
                ctx.owner, key, limit=limit, offset=offset
            )
        except WrongHistoryPassword as exc:
            raise HistoryLocked(operator_detail="session key is not the current key") from exc

    async def delete(self, ctx: PatronContext, entry_id: str) -> None:
        """Delete one entry."""
        ctx.require(Feature.READING_HISTORY)
        if not await self._store.reading_history.delete(ctx.owner, entry_id):
            raise NotFound("No such entry")

    async def delete_all(self, ctx: PatronContext) -> int:
        """Delete every entry, readable or not; returns how many."""
        ctx.require(Feature.READING_HISTORY)
        return await self._store.reading_history.delete_all(ctx.owner)

    async def capture(
        self,
        ctx: PatronContext,
        loans: Iterable[Loan],
        *,
        looked: bool = False,
        complete: bool = True,
    ) -> int:
        """Record ``loans`` if the patron has history on (only loans since it was switched on).

        Loans out when history was switched on are never recorded while they stay out, whatever
        the backend says of their loan date (SIP2 gives none). ``complete``: ``loans`` is the
        patron's whole loan list, so loans out at the switch that are missing from it have been
        returned and are forgotten (a later loan of the same item is recorded).

        Called wherever the gateway sees loans; a loan seen twice is kept once. Works on any
        channel: the kiosk restriction is about showing history, not about recording it.
        ``looked``: the patron is looking at their loans (the memos above apply); the periodic
        job passes False and always asks the store.
        """
        owner = ctx.owner
        loans = tuple(loans)
        now = self._clock().timestamp()
        if looked:
            if self._off_until.get(owner, 0.0) > now:
                return 0
            last = self._recorded.get(owner)
            if last is not None and len(last) == len(loans):
                if all(a is b for a, b in zip(last, loans, strict=True)):
                    return 0
        settings = await self._store.settings.get(owner)
        since = settings.reading_history_since
        if not settings.reading_history_enabled or since is None:
            if looked:
                self._remember(self._off_until, owner, now + OFF_RECHECK_SECONDS)
            return 0
        first_day = since.astimezone(ctx.timezone).date()
        repository = self._store.reading_history
        before_switch = await repository.preexisting(owner)
        tags = [repository.loan_tag(owner, loan.id, loan.item.id) for loan in loans]
        added = 0
        for loan, tag in zip(loans, tags, strict=True):
            out_at_switch = tag in before_switch
            if loan.loaned_on is None:
                if out_at_switch:
                    continue  # lent before the switch (no loan date: it was out at the switch)
                loaned_at = since
            elif loan.loaned_on < first_day or (loan.loaned_on == first_day and out_at_switch):
                continue  # lent before the switch
            else:
                loaned_at = datetime.combine(loan.loaned_on, time(), ctx.timezone)
            entry = ReadingHistoryEntry(
                item_id=loan.item.id,
                title=loan.item.title,
                loaned_at=loaned_at,
                author=loan.item.author,
            )
            outcome = await repository.record(ctx.owner, entry)
            added += outcome is HistoryRecordOutcome.ADDED
        if complete:
            # Returned since the switch: the same item borrowed again later is a new loan.
            await repository.release_preexisting(owner, before_switch - set(tags))
        if looked:
            self._remember(self._recorded, owner, loans)
        return added

    @staticmethod
    def _remember(memo: dict[PatronRef, Any], owner: PatronRef, value: Any) -> None:
        if len(memo) >= _MAX_REMEMBERED:
            memo.clear()
        memo[owner] = value

    async def _open(self, ctx: PatronContext, password: str, *, create: bool) -> HistoryKeyOpened:
        history = self._store.reading_history
        try:
            if create:
                return HistoryKeyOpened(await history.set_up(ctx.owner, password))
            return HistoryKeyOpened(await history.unlock(ctx.owner, password))
        except HistoryNotSetUp:
            return HistoryKeyOpened(None)
        except WrongHistoryPassword:
            # Only reached with a password the library accepts: it was reset outside the gateway.
            return HistoryKeyOpened(await history.reset(ctx.owner, password), reset=True)


async def _check_password(ctx: PatronContext, backend: ILSBackend, password: str) -> None:
    patron = await backend.authenticate(ctx.patron.card_number, password)
    if patron.id != ctx.patron.id:
        raise AuthenticationFailed(operator_detail="password belongs to another patron")
