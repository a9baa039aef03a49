"""Hold-sequence enforcement over enrolled patrons: releases the next hold once the one before
it has arrived, even when the patron does not look at their holds. The periodic job
(``ils_gateway.jobs.schedule``) calls it once per tenant."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.domain.errors import GatewayError
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.roster import PatronRoster
from ils_gateway.services.mylists.sequences import HoldSequenceService
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig

log = structlog.get_logger(__name__)


@dataclass
class SequenceReport:
    """What one run did for one tenant."""

    patrons: int = 0
    failed: list[str] = field(default_factory=list)  # masked card numbers


async def enforce_hold_sequences(
    store: Store,
    sequences: HoldSequenceService,
    tenant: TenantConfig,
    backend: ILSBackend,
    roster: PatronRoster,
) -> SequenceReport:
    """Run ``HoldSequenceService.enforce`` for every enrolled patron who has a sequence."""
    report = SequenceReport()
    for patron in await roster.patrons(tenant.id):
        ctx = PatronContext.of(store, tenant, patron)
        if not await store.sequences.list(ctx.owner):
            continue
        report.patrons += 1
        try:
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
