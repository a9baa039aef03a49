"""Reading-history capture over enrolled patrons, so loans returned before the patron next logs
in are still recorded (if the job ran while they were out). The periodic job
(``ils_gateway.jobs.schedule``) calls it once per tenant."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.errors import GatewayError
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.reading_history import ReadingHistoryService
from ils_gateway.services.mylists.roster import PatronRoster
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig

log = structlog.get_logger(__name__)


@dataclass
class CaptureReport:
    """What one run did for one tenant."""

    patrons: int = 0
    recorded: int = 0
    failed: list[str] = field(default_factory=list)  # masked card numbers


async def capture_reading_history(
    store: Store,
    history: ReadingHistoryService,
    tenant: TenantConfig,
    backend: ILSBackend,
    roster: PatronRoster,
) -> CaptureReport:
    """Record the current loans of every enrolled patron who has history switched on.

    A patron whose loans cannot be read is skipped (and logged, card masked); the next run
    tries again. Patrons who switched history off are withdrawn.
    """
    report = CaptureReport()
    if not backend.capabilities.supports(Capability.LIST_LOANS):
        return report
    for patron in await roster.patrons(tenant.id):
        ctx = PatronContext.of(store, tenant, patron)
        if not (await store.settings.get(ctx.owner)).reading_history_enabled:
            continue
        report.patrons += 1
        try:
            loans = await backend.list_loans(patron)
        except GatewayError as exc:
            report.failed.append(patron.masked_card)
            log.warning(
                "history capture failed",
                tenant=tenant.id,
                card=patron.masked_card,
                error=exc.type_slug,
            )
            continue
        report.recorded += await history.capture(ctx, loans)
    return report
