"""What the kiosk face is given: one tenant's use cases, and the little it reads of the tenant.

``kiosk_services(runtime)`` is the one place the face's services come from; the face calls
these and never a backend. (The composition root can hand over its own bundle here.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ils_gateway.adapters.base import Capabilities
from ils_gateway.domain.labels import Labels
from ils_gateway.runtime.tenant import TenantRuntime
from ils_gateway.services.account import AccountService
from ils_gateway.services.catalog import CatalogService
from ils_gateway.services.circulation import CirculationService
from ils_gateway.services.context import TenantContext
from ils_gateway.services.holds import HoldService
from ils_gateway.services.loans import LoanService
from ils_gateway.services.notices.service import NoticeService
from ils_gateway.tenants.policy import Policy

__all__ = ["KioskServices", "kiosk_services"]


@dataclass(frozen=True)
class KioskServices:
    """One tenant's use cases as the kiosk face uses them."""

    tenant: TenantContext
    account: AccountService
    loans: LoanService
    holds: HoldService
    catalog: CatalogService
    circulation: CirculationService
    #: The child entry mail at a kiosk login (issue 18); None without a store.
    notices: NoticeService | None = None

    @property
    def tenant_id(self) -> str:
        """The tenant's id."""
        return self.tenant.id

    @property
    def tenant_name(self) -> str:
        """The library's name."""
        return self.tenant.config.name

    @property
    def policy(self) -> Policy:
        """The tenant's house rules."""
        return self.tenant.policy

    @property
    def labels(self) -> Labels:
        """The tenant's label catalogue."""
        return self.tenant.labels

    @property
    def capabilities(self) -> Capabilities:
        """What the tenant's library system can do (read when asked: a SIP2 backend learns it
        from its ACS's 98 once started)."""
        return self.tenant.backend.capabilities

    def now(self) -> datetime:
        """The current instant in the tenant's time zone."""
        return self.tenant.now()


def kiosk_services(runtime: TenantRuntime) -> KioskServices:
    """The kiosk face's services of ``runtime``'s tenant."""
    return KioskServices(
        tenant=runtime.context,
        account=runtime.account,
        loans=runtime.loans,
        holds=runtime.holds,
        catalog=runtime.catalog,
        circulation=runtime.circulation,
        notices=runtime.notices,
    )
