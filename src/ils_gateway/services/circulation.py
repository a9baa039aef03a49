"""Checkout and checkin: lending a copy to a patron at a machine, and taking it back.

Both are loans made and ended, so the tenant's ``loans`` switch for the channel governs them
(as it governs the loan list and renewals), and neither runs in a maintenance window. A
checkout is the reading history's moment too: an opted-in patron's new loan is captured
through the loan hooks (sealed to the patron's public key, so no password is needed), and a
store failure there is logged by the hook and never undoes the loan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ils_gateway.domain.errors import Refused
from ils_gateway.domain.fees import BlockedAction
from ils_gateway.domain.models import Item, Loan
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.services import rules
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.fees import refuse_when_owing

if TYPE_CHECKING:
    from ils_gateway.services.mylists.hooks import LoanHooks


class CirculationService:
    """Circulation use cases of one tenant (the kiosk face's; any face that lends)."""

    def __init__(self, tenant: TenantContext, hooks: LoanHooks | None = None) -> None:
        self._tenant = tenant
        # The reading history's capture, when the gateway has a store.
        self._hooks = hooks

    def lending_enabled(self, channel: Channel) -> bool:
        """Whether the tenant lends and takes back on ``channel`` at all."""
        return self._tenant.policy.feature_enabled(Feature.LOANS, channel)

    def require_lending(self, channel: Channel) -> None:
        """Raise ``FeatureDisabled`` when the tenant switched loans off on ``channel``."""
        self._tenant.require_feature(Feature.LOANS, channel)

    async def checkout(self, caller: Caller, item_id: str) -> Loan:
        """Lend ``item_id`` to the caller; the backend's refusal (reason mapped) is passed on."""
        self.require_lending(caller.channel)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        await refuse_when_owing(self._tenant, caller.patron, BlockedAction.BORROWING, Refused)
        loan = await self._tenant.backend.checkout(caller.patron, item_id)
        if self._hooks is not None:
            await self._hooks.loans_listed(caller, [loan])
        return loan

    async def checkin(self, item_id: str, channel: Channel) -> Item:
        """Take ``item_id`` back (no patron: whoever hands it in); the item as it is now."""
        self.require_lending(channel)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        return await self._tenant.backend.checkin(item_id)
