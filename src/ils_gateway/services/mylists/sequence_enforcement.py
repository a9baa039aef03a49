"""Hold-sequence enforcement over enrolled patrons: releases the next hold once the one before
it has arrived, and clears OR-hold groups one of whose holds was filled, even when the patron
does not look at their holds. The periodic job
(``ils_gateway.jobs.schedule``) calls it once per tenant."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.domain.errors import GatewayError
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.or_holds import OrHoldService
from ils_gateway.services.mylists.roster import PatronRoster
from ils_gateway.services.mylists.sequences import HoldSequenceService
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig

log = structlog.get_logger(__name__)


@dataclass
class SequenceReport:
    """What one run did for one tenant."""

    patrons: int = 0
    or_groups_cleared: int = 0  # OR-holds one of whose holds was filled
    or_holds_cancelled: int = 0  # the other holds of those groups
    failed: list[str] = field(default_factory=list)  # masked card numbers


async def enforce_hold_sequences(
    store: Store,
    sequences: HoldSequenceService,
    tenant: TenantConfig,
    backend: ILSBackend,
    roster: PatronRoster,
    or_holds: OrHoldService | None = None,
) -> SequenceReport:
    """Run ``HoldSequenceService.enforce`` for every enrolled patron who has a sequence, and
    ``OrHoldService.enforce`` for every one who has an OR-hold group (issue 19)."""
    report = SequenceReport()
    for patron in await roster.patrons(tenant.id):
        ctx = PatronContext.of(store, tenant, patron)
        has_or = or_holds is not None and bool(await store.or_holds.list(ctx.owner))
        has_sequence = bool(await store.sequences.list(ctx.owner))
        if not (has_or or has_sequence):
            continue
        report.patrons += 1
        try:
            if has_or and or_holds is not None:
                done = await or_holds.enforce(ctx, backend)
                report.or_groups_cleared += done.cleared
                report.or_holds_cancelled += done.cancelled
            if has_sequence:
                await sequences.enforce(ctx, backend)
        except GatewayError as exc:
            report.failed.append(patron.masked_card)
            log.warning(
                "sequence enforcement failed",
                tenant=tenant.id,
                card=patron.masked_card,
                error=exc.type_slug,
            )
    return report
