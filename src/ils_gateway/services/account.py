"""Log in, the patron summary, and the password change a temporary password forces.

Login normalises the card by the tenant's rule and turns every "no" into the one
``AuthenticationFailed`` (never saying whether card or password was wrong). A card-level block
(expired, unused for years, lost) refuses the login with ``PatronBlocked``; blocks for overdue
items or fines let the patron in to see what is wrong. A temporary password (flagged by the
ILS, or matching the tenant's first-login pattern) yields a login that may do nothing but
change the password, where the tenant gates it (Kanagawa, Ibaraki).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ils_gateway.domain.errors import BadRequest, PatronBlocked
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, Feature
from ils_gateway.services import rules
from ils_gateway.services.context import Caller, TenantContext


@dataclass(frozen=True)
class Login:
    """A successful login: the patron, and whether only a password change is allowed now."""

    patron: Patron
    password_change_required: bool


class AccountService:
    """Account use cases of one tenant."""

    def __init__(self, tenant: TenantContext) -> None:
        self._tenant = tenant

    async def login(self, card_number: str, password: str) -> Login:
        """Check the card and password; raises ``AuthenticationFailed`` or ``PatronBlocked``."""
        patron = await self.identify(card_number, password)
        card_blocks = self.card_blocks(patron)
        if card_blocks:
            raise PatronBlocked(card_blocks, operator_detail="; ".join(patron.block_messages))
        return Login(patron=patron, password_change_required=self._temporary(patron, password))

    async def identify(self, card_number: str, password: str) -> Patron:
        """The patron behind card and password, blocked or not (a self-check shows the blocks);
        raises ``AuthenticationFailed``."""
        card = rules.normalise_card(self._tenant.policy.card, card_number)
        return await self._tenant.backend.authenticate(card, password)

    def card_blocks(self, patron: Patron) -> list[BlockReason]:
        """The blocks that make the card unusable today (expired counts when nothing else does)."""
        blocks = [b for b in patron.blocks if b in rules.CARD_BLOCKS]
        if patron.card_expired_on(self._tenant.today()) and not blocks:
            blocks.append(BlockReason.CARD_EXPIRED)
        return blocks

    async def summary(self, caller: Caller) -> Patron:
        """The patron's fresh record: counts, blocks, contact data."""
        return await self._tenant.backend.patron_summary(caller.patron)

    async def change_password(self, caller: Caller, old_password: str, new_password: str) -> None:
        """Change the password after checking the tenant's password rules."""
        self._tenant.require_feature(Feature.PASSWORD_CHANGE, caller.channel)
        problems = self._tenant.policy.password.problems(new_password)
        if problems:
            raise BadRequest("The new password is not acceptable: " + "; ".join(problems))
        if new_password == old_password:
            raise BadRequest("The new password must differ from the current one")
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        await self._tenant.backend.change_password(caller.patron, old_password, new_password)

    def _temporary(self, patron: Patron, password: str) -> bool:
        account = self._tenant.policy.account
        if not account.temporary_password_gate:
            return False
        if patron.temporary_password:
            return True
        pattern = account.temporary_password_pattern
        return pattern is not None and re.fullmatch(pattern, password) is not None
