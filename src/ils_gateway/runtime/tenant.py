"""``TenantRuntime``: one tenant's use cases; ``Gateway``: every tenant's, by id.

A face gets the ``Gateway`` (or one ``TenantRuntime``) and calls the services on it; it never
builds a backend, a pool or a Redis client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ils_gateway.adapters.catalog.port import CatalogSource
from ils_gateway.domain.errors import NotFound
from ils_gateway.mail.outbox import Outbox, TenantOutbox
from ils_gateway.services.account import AccountService
from ils_gateway.services.account_lifecycle import AccountLifecycle
from ils_gateway.services.catalog import CatalogService
from ils_gateway.services.circulation import CirculationService
from ils_gateway.services.context import TenantContext
from ils_gateway.services.credentials import GatewayCredentials
from ils_gateway.services.ebooks.bridge import BridgeLimiters, PatronCheckService
from ils_gateway.services.ebooks.service import EbookService
from ils_gateway.services.fees import FeeService
from ils_gateway.services.holds import HoldService
from ils_gateway.services.loans import LoanService
from ils_gateway.services.mylists.hooks import ListHooks
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.services.notices.service import NoticeService
from ils_gateway.services.sessions import PatronSessions
from ils_gateway.state.loginguard import LoginGuard
from ils_gateway.state.ratelimit import RateLimit, RateLimiter
from ils_gateway.tenants.models import TenantConfig


@dataclass(frozen=True)
class EbookRuntime:
    """One tenant's e-book service (None without an e-library) and the e-library's bridge."""

    service: EbookService | None
    bridge: PatronCheckService


@dataclass(frozen=True)
class TenantRuntime:
    """One tenant's context and every use case, as a face gets them."""

    context: TenantContext
    account: AccountService
    loans: LoanService
    holds: HoldService
    catalog: CatalogService
    ebooks: EbookRuntime
    circulation: CirculationService
    mylists: MyLists | None = None
    #: Where this tenant's mails are queued (``mail.outbox``); None without a store.
    outbox: TenantOutbox | None = None
    #: The tenant's notices to patrons (issue 18); None without a store.
    notices: NoticeService | None = None
    #: Registration, reset by mailed link and contact changes (issue 18); None without a store.
    lifecycle: AccountLifecycle | None = None

    @classmethod
    def build(
        cls,
        context: TenantContext,
        *,
        sessions: PatronSessions,
        limiters: BridgeLimiters,
        guard: LoginGuard | None = None,
        elibrary: EbookService | None = None,
        mylists: MyLists | None = None,
        outbox: TenantOutbox | None = None,
        rate_limiter: Callable[[str, RateLimit], RateLimiter] | None = None,
        catalog: CatalogSource | None = None,
    ) -> TenantRuntime:
        """The services of ``context`` (with the list services' hooks when there is a store),
        the e-book service over ``elibrary`` and the bridge counting with ``limiters``;
        failed logins counted by ``guard``."""
        notices = (
            NoticeService(context, mylists.store, mylists.roster, outbox, elibrary)
            if mylists is not None and outbox is not None
            else None
        )
        hooks = ListHooks(mylists, context, notices) if mylists is not None else None
        caches = (elibrary.forget_patron,) if elibrary is not None else ()
        credentials = GatewayCredentials(mylists.store) if mylists is not None else None
        account = AccountService(
            context,
            mylists=mylists,
            sessions=sessions,
            guard=guard,
            patron_caches=caches,
            credentials=credentials,
        )
        account_policy = context.policy.account
        per_card = per_address = None
        if rate_limiter is not None:  # shared with the other processes where the state is
            per_card = rate_limiter(
                f"account-card-{context.id}",
                RateLimit(account_policy.reset_requests_per_card, 3600),
            )
            per_address = rate_limiter(
                f"account-address-{context.id}",
                RateLimit(account_policy.reset_requests_per_address, 3600),
            )
        lifecycle = (
            AccountLifecycle(
                context,
                mylists.store,
                sessions=sessions,
                outbox=outbox,
                credentials=credentials,
                per_card=per_card,
                per_address=per_address,
            )
            if mylists is not None
            else None
        )
        config = context.config
        keys = config.elibrary.bridge_keys if config.elibrary is not None else ()
        bridge = PatronCheckService(config.id, account, keys, limiters)
        holds = HoldService(context, hooks)
        return cls(
            context=context,
            account=account,
            loans=LoanService(context, hooks),
            holds=holds,
            catalog=CatalogService(context, catalog, holds),
            circulation=CirculationService(context, hooks),
            ebooks=EbookRuntime(service=elibrary, bridge=bridge),
            mylists=mylists,
            outbox=outbox,
            notices=notices,
            lifecycle=lifecycle,
        )

    @property
    def config(self) -> TenantConfig:
        """The tenant's configuration."""
        return self.context.config

    def warm_up(self) -> None:
        """Load what a first request would otherwise load: the holiday tables (the
        ``holidays`` package and this year's table, about 0.1–0.2 s of CPU). ``serve`` calls
        it once the port is open (``Gateway.warm_up``), so that start-up answers ``/healthz``
        first; without it the first calendar request loads them."""
        calendar = self.context.calendar
        if calendar is not None:
            calendar.day(self.context.today())

    @property
    def fees(self) -> FeeService:
        """What the tenant's patrons owe (stateless: reads go through the backend's cache)."""
        return FeeService(self.context)


class Gateway:
    """Every tenant's runtime, by id (the runtime registry the faces get), and the outbox
    (``mail.outbox.Outbox``, every tenant's; None without a store)."""

    def __init__(self, runtimes: dict[str, TenantRuntime], outbox: Outbox | None = None) -> None:
        self._runtimes = runtimes
        self.outbox = outbox

    def tenant(self, tenant_id: str) -> TenantRuntime:
        """The runtime of ``tenant_id``; ``NotFound`` for an unknown library."""
        try:
            return self._runtimes[tenant_id]
        except KeyError:
            raise NotFound("Unknown library", operator_detail=f"tenant {tenant_id!r}") from None

    def __iter__(self) -> Iterator[TenantRuntime]:
        return iter(self._runtimes.values())

    def warm_up(self) -> None:
        """Every tenant's ``TenantRuntime.warm_up``."""
        for runtime in self._runtimes.values():
            runtime.warm_up()
