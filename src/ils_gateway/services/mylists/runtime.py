"""The list services of one gateway, over one store: built once, shared by every tenant.

``MyLists.build(store, secret, clock)`` builds the services, the shared job roster and the
session-key seal over an opened store; ``ils_gateway.runtime.store`` opens the store (in its own
cleanup context, so it closes after the last request) and builds them. ``MyLists`` also
holds the session-facing steps that several entry points share: what happens at login (open the
history key once the ILS accepted the password; enrol for the jobs) and after a password change
(re-wrap the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ils_gateway.domain.clock import Clock
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.services.mylists.basket import BasketService
from ils_gateway.services.mylists.cancelled_holds import CancelledHoldService
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.hold_extras import HoldExtrasService
from ils_gateway.services.mylists.or_holds import OrHoldService
from ils_gateway.services.mylists.reading_history import ReadingHistoryService
from ils_gateway.services.mylists.roster import PatronRoster, StoreRoster
from ils_gateway.services.mylists.sequences import HoldSequenceService
from ils_gateway.services.mylists.session_key import HistoryKeySeal
from ils_gateway.services.mylists.settings import PatronSettingsService
from ils_gateway.services.mylists.shelves import ShelfService
from ils_gateway.store.records import HoldContactMethod
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig

#: Session ``extra`` flag: the library reset the password, older history entries are unreadable.
RESET_FLAG = "reading_history_reset"


@dataclass(frozen=True)
class LoginOutcome:
    """What the lists add to a new session: ``extra`` entries, and whether the library's
    password reset made the older reading history unreadable."""

    extra: dict[str, str | None]
    history_reset: bool = False


@dataclass(frozen=True)
class MyLists:
    """The store and every list service, plus the roster and the session-key seal."""

    store: Store
    basket: BasketService
    sequences: HoldSequenceService
    or_holds: OrHoldService
    extras: HoldExtrasService
    cancelled: CancelledHoldService
    shelves: ShelfService
    history: ReadingHistoryService
    settings: PatronSettingsService
    roster: PatronRoster
    keys: HistoryKeySeal

    @classmethod
    def build(cls, store: Store, secret: bytes, clock: Clock) -> MyLists:
        """The services over ``store``."""
        return cls(
            store=store,
            basket=BasketService(store, clock),
            sequences=HoldSequenceService(store, clock),
            or_holds=OrHoldService(store, clock),
            extras=HoldExtrasService(store, clock),
            cancelled=CancelledHoldService(store, clock),
            shelves=ShelfService(store),
            history=ReadingHistoryService(store, clock),
            settings=PatronSettingsService(store),
            roster=StoreRoster(store),
            keys=HistoryKeySeal(secret),
        )

    def context(
        self, tenant: TenantConfig, patron: Patron, channel: Channel = Channel.WEB
    ) -> PatronContext:
        """The ``PatronContext`` every list service call takes."""
        return PatronContext.of(self.store, tenant, patron, channel)

    async def at_login(self, ctx: PatronContext, password: str) -> LoginOutcome:
        """Call only after the library accepted ``password``: open the history key for the
        session (a new one if the library reset the password) and enrol for the jobs.

        A channel that may not show the history (kiosks, at most libraries) gets no key.
        """
        await self.sync_enrolment(ctx)
        if not ctx.policy.feature_enabled(Feature.READING_HISTORY, ctx.channel):
            return LoginOutcome(extra={})
        opened = await self.history.open_at_login(ctx, password)
        extra = self.keys.extra_for(opened.key) if opened.key is not None else {}
        return LoginOutcome(extra=extra, history_reset=opened.reset)

    async def after_password_change(
        self,
        ctx: PatronContext,
        extra: Mapping[str, Any],
        *,
        old_password: str,
        new_password: str,
    ) -> dict[str, str | None]:
        """Call after the library accepted the change: re-wrap the history key under the new
        password; returns the session's new ``extra`` entries."""
        key = await self.history.password_changed(
            ctx,
            old_password=old_password,
            new_password=new_password,
            key=self.keys.from_extra(extra),
        )
        return self.keys.extra_for(key) if key is not None else {}

    async def sync_enrolment(self, ctx: PatronContext) -> bool:
        """Enrol the patron for the periodic jobs while history is on, a sequence or an OR-hold
        exists or they opted in to a polled notice (a due-date reminder, hold notices by mail or
        phone;
        issue 18), withdraw them otherwise; returns whether they are enrolled."""
        settings = await self.store.settings.get(ctx.owner)
        wanted = (
            settings.reading_history_enabled
            or settings.due_date_reminder
            or settings.hold_contact_method in (HoldContactMethod.EMAIL, HoldContactMethod.PHONE)
            or bool(await self.store.sequences.list(ctx.owner))
            or bool(await self.store.or_holds.list(ctx.owner))
        )
        if wanted:
            await self.roster.enrol(ctx.tenant.id, ctx.patron)
        else:
            await self.roster.withdraw(ctx.tenant.id, ctx.patron)
        return wanted
