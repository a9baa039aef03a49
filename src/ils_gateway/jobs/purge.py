"""Cancelled-hold purge: removes entries past each tenant's retention period."""

from __future__ import annotations

from collections.abc import Iterable

from ils_gateway.services.mylists.cancelled_holds import CancelledHoldService
from ils_gateway.tenants.models import TenantConfig


async def purge_cancelled_holds(
    service: CancelledHoldService, tenants: Iterable[TenantConfig]
) -> dict[str, int]:
    """Delete what each tenant no longer keeps; returns how many entries per tenant."""
    return await service.purge(tenants)
