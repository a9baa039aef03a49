"""What the contract checks run against: one tenant's ILS and e-library backends.

The backends are built by the runtime exactly as the gateway builds them
(``runtime.backends.build_backend`` for the ILS, ``runtime.elibrary.open_elibrary`` for the
e-library), but without the resilience wrapper: its cache and read-back would hide what the
backend itself answers. A tenant whose e-library is ``kind = "simulator"`` gets the e-library
simulator started on the contract loop, as ``serve`` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.adapters.catalog.port import CatalogSource
from ils_gateway.contract.undo import UndoLog
from ils_gateway.domain.clock import Clock, system_clock
from ils_gateway.elibrary.base import ElibraryBackend
from ils_gateway.runtime.backends import build_backend
from ils_gateway.runtime.catalog import build_catalog
from ils_gateway.runtime.elibrary import open_elibrary
from ils_gateway.tenants.loader import load_tenants
from ils_gateway.tenants.models import TenantConfig


@dataclass(frozen=True)
class ContractOptions:
    """The suite's options, as given on the command line or to pytest."""

    config: Path | None = None
    tenant: str | None = None
    patron: str | None = None
    password: str | None = field(default=None, repr=False)
    items: tuple[str, ...] = ()
    allow_writes: bool = False
    unknown_card: str | None = None
    ebooks: tuple[str, ...] = ()


@dataclass
class ContractTarget:
    """One tenant's opened backends plus the test patron, items and e-books the operator named."""

    tenant: TenantConfig
    ils: ILSBackend
    elibrary: ElibraryBackend | None
    card_number: str | None
    password: str | None = field(repr=False)
    items: tuple[str, ...]
    allow_writes: bool
    unknown_card: str | None
    description: str
    ebooks: tuple[str, ...] = ()
    undo: UndoLog = field(default_factory=UndoLog)
    catalog: CatalogSource | None = None  # the tenant's catalogue search (issue 19)

    @property
    def has_patron(self) -> bool:
        """True when a test patron (card and password) was given."""
        return bool(self.card_number and self.password)


def describe_backend(tenant: TenantConfig) -> str:
    """Where the tenant's ILS is, in one line, with no secret in it."""
    backend = tenant.backend
    if backend.kind == "sip2":
        return f"sip2 {backend.host}:{backend.port}"
    if backend.kind == "koha":
        return f"koha {backend.base_url}"
    if backend.kind == "folio":
        return f"folio {backend.okapi_url} (tenant {backend.tenant})"
    return backend.kind


@asynccontextmanager
async def open_tenant(
    tenant: TenantConfig,
    options: ContractOptions,
    *,
    description: str | None = None,
    clock: Clock = system_clock,
) -> AsyncIterator[ContractTarget]:
    """Open ``tenant``'s backends for the checks; close them (and any simulator) on exit.

    ``clock`` is the gateway's (the adapters count overdue days by it).
    """
    card = tenant.policy.card.normalise(options.patron) if options.patron else None
    async with AsyncExitStack() as stack:
        ils = build_backend(tenant, clock)
        stack.push_async_callback(ils.close)
        catalog = build_catalog(tenant, ils)
        if catalog is not None:
            stack.push_async_callback(catalog.close)
        elibrary = await stack.enter_async_context(open_elibrary(tenant, clock))
        yield ContractTarget(
            tenant=tenant,
            ils=ils,
            elibrary=elibrary,
            # A card the tenant's pattern rejects is passed on as typed: the login check then
            # reports it, rather than the suite silently skipping every patron check.
            card_number=card or options.patron,
            password=options.password,
            items=options.items,
            allow_writes=options.allow_writes,
            unknown_card=options.unknown_card,
            description=description or describe_backend(tenant),
            ebooks=options.ebooks,
            catalog=catalog,
        )


@asynccontextmanager
async def open_target(options: ContractOptions) -> AsyncIterator[ContractTarget]:
    """The target ``options`` name: a tenant of a config file, or the embedded demo."""
    if options.config is None:
        from ils_gateway.contract.embedded import open_embedded

        async with open_embedded(options) as target:
            yield target
        return
    registry = load_tenants(options.config)
    if options.tenant is None:
        if len(registry) != 1:
            raise ValueError(
                f"{options.config} has tenants {', '.join(registry.ids)}: choose one with --tenant"
            )
        tenant = next(iter(registry))
    elif options.tenant not in registry:
        raise ValueError(
            f"{options.config} has no tenant {options.tenant!r} (it has {', '.join(registry.ids)})"
        )
    else:
        tenant = registry.get(options.tenant)
    async with open_tenant(tenant, options) as target:
        yield target
