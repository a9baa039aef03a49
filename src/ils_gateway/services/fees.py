"""What the patron owes: the library system's charges, the blocks they cause, where to pay.

``FeeService.summary`` reads the account through the backend (cached per patron like the other
patron lists, and checked there to be this patron's) and adds:

- the blocks: the library system's own (a patron record blocked for charges, ``FINES``, with
  its message), and the tenant's thresholds (``[tenants.policy.fees]``: yen owed from which
  holds, renewals or loans are refused), each with the rule in the library's words;
- where to pay (``payment``): the gateway takes no payment, the library does.

``refuse_when_owing`` is the same threshold rule applied before the library system is asked
(holds, renewals, self-check loans): the refusal names the rule.
"""

from __future__ import annotations

from ils_gateway.adapters.base import Capability
from ils_gateway.domain.errors import GatewayError, Refused
from ils_gateway.domain.fees import (
    BlockedAction,
    FeeAccount,
    FeeBlock,
    FeeBlockSource,
    FeeSummary,
    Payment,
)
from ils_gateway.domain.labels import Language
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, Feature, RefusalReason
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.tenants.policy import FeesPolicy

__all__ = ["FeeService", "refuse_when_owing", "threshold_of"]

_ACTION_WORDS: dict[BlockedAction, tuple[str, str]] = {
    BlockedAction.HOLDS: ("new holds", "予約"),
    BlockedAction.RENEWALS: ("renewals", "貸出期間の延長"),
    BlockedAction.BORROWING: ("loans", "貸出"),
}


def threshold_of(policy: FeesPolicy, action: BlockedAction) -> int | None:
    """The yen owed from which the tenant refuses ``action`` (None: no such rule)."""
    return {
        BlockedAction.HOLDS: policy.holds_blocked_from,
        BlockedAction.RENEWALS: policy.renewals_blocked_from,
        BlockedAction.BORROWING: policy.borrowing_blocked_from,
    }[action]


def rule_text(action: BlockedAction, threshold: int, lang: Language) -> str:
    """The threshold rule in words."""
    en, ja = _ACTION_WORDS[action]
    if lang == "en":
        return f"No {en} while ¥{threshold:,} or more is owed"
    return f"未納の料金が{threshold:,}円以上あるときは{ja}ができません"


def _tenant_blocks(policy: FeesPolicy, owed: int, lang: Language) -> list[FeeBlock]:
    blocks = []
    for action in BlockedAction:
        threshold = threshold_of(policy, action)
        if threshold is not None and owed >= threshold:
            blocks.append(
                FeeBlock(
                    source=FeeBlockSource.TENANT_RULE,
                    actions=(action,),
                    threshold=threshold,
                    rule=rule_text(action, threshold, lang),
                )
            )
    return blocks


def _ils_block(patron: Patron, lang: Language) -> FeeBlock | None:
    """The library system's block for charges on the patron record, if it set one."""
    if BlockReason.FINES not in patron.blocks:
        return None
    rule = (
        "The library system blocks this card for unpaid charges"
        if lang == "en"
        else "未納の料金があるため、図書館システムで利用が制限されています"
    )
    message = "; ".join(m for m in patron.block_messages if m.strip()) or None
    return FeeBlock(source=FeeBlockSource.ILS, actions=(), rule=rule, backend_message=message)


class FeeService:
    """Fines and fees of one tenant's patrons."""

    def __init__(self, tenant: TenantContext) -> None:
        self._tenant = tenant

    async def summary(self, caller: Caller, lang: Language = "ja") -> FeeSummary:
        """Each charge, the total, the blocks it causes and where to pay."""
        self._tenant.require_feature(Feature.FEES, caller.channel)
        backend = self._tenant.backend
        backend.capabilities.require(Capability.LIST_FEES)
        account = await backend.list_fees(caller.patron)
        policy = self._tenant.policy.fees
        blocks = _tenant_blocks(policy, account.total, lang)
        patron = caller.patron
        if backend.capabilities.supports(Capability.PATRON_SUMMARY):
            try:
                patron = await backend.patron_summary(caller.patron)
            except GatewayError:
                pass  # the charges stand; the library system's block shows at next login
        ils = _ils_block(patron, lang)
        if ils is not None:
            blocks.insert(0, ils)
        where = policy.payment_en if lang == "en" else policy.payment
        return summary_of(account, blocks, Payment(where=where))


def summary_of(account: FeeAccount, blocks: list[FeeBlock], payment: Payment) -> FeeSummary:
    """The summary of ``account`` with ``blocks`` and ``payment``."""
    return FeeSummary(
        fees=account.fees,
        total=account.total,
        credit=account.credit,
        items_total=account.items_total,
        items_match=account.items_match,
        blocks=tuple(blocks),
        payment=payment,
    )


async def refuse_when_owing(
    tenant: TenantContext,
    patron: Patron,
    action: BlockedAction,
    refusal: type[Refused],
) -> None:
    """Raise ``refusal`` (reason ``patron_blocked``, the rule as detail) when the tenant refuses
    ``action`` from an amount the patron owes. Nothing is asked when the tenant has no such
    rule; a backend that cannot list fees, or fails to, leaves the decision to the library
    system."""
    threshold = threshold_of(tenant.policy.fees, action)
    if threshold is None or not tenant.backend.capabilities.supports(Capability.LIST_FEES):
        return
    try:
        account = await tenant.backend.list_fees(patron)
    except GatewayError:
        return
    if account.total >= threshold:
        raise refusal(
            RefusalReason.PATRON_BLOCKED,
            rule_text(action, threshold, "en"),
            operator_detail=f"refused by tenant rule policy.fees ({account.total} >= {threshold})",
        )
