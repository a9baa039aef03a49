"""``ils-gateway config check FILE [--explain]``: a tenant file that loads is not enough.

Loading (``tenants.loader``) refuses unknown keys and bad values. Then each tenant's rules are
held against what its backend can do (the adapters' declared ``Capabilities``, without
connecting): a feature switched on that the backend cannot carry out is an error naming the
key and why (``capability_problems``), so a file that passes really runs. ``--explain`` prints
each tenant's rules and who enforces them, from ``tenants.enforcement`` (the registry the
tests hold against the code that reads each key).

SIP2 capabilities come from the ACS's BX flags at login; here the best an ACS can declare is
assumed (every flag ``Y``), so only what SIP2 can never do is an error.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import click

from ils_gateway.adapters.base import Capabilities, Capability, ILSBackend
from ils_gateway.adapters.sip2.capabilities import capabilities_from_bx
from ils_gateway.cli import config
from ils_gateway.runtime.backends import build_backend
from ils_gateway.services.mylists.hold_extras import PickupExtender
from ils_gateway.tenants import backends as configs
from ils_gateway.tenants.enforcement import explain
from ils_gateway.tenants.loader import TenantConfigError, load_tenants
from ils_gateway.tenants.models import TenantConfig

__all__ = ["BackendFacts", "Problem", "backend_facts", "capability_problems", "check"]

_ALL_BX = "Y" * 16


@dataclass(frozen=True)
class BackendFacts:
    """What a tenant's backend can do, as far as it is known without connecting."""

    kind: str
    capabilities: Capabilities
    extends_pickup: bool
    unservable: str | None = None

    def why_not(self, capability: Capability) -> str:
        """The backend's own explanation of a missing capability."""
        return self.capabilities.disabled(capability).operator_detail or capability.value


@dataclass(frozen=True)
class Problem:
    """One key a tenant sets that cannot work; ``error`` False: a warning only."""

    key: str
    message: str
    error: bool = True


async def backend_facts(tenant: TenantConfig) -> BackendFacts:
    """The tenant's backend capabilities (SIP2: the most an ACS can declare)."""
    backend_config = tenant.backend
    if isinstance(backend_config, configs.Sip2Backend):
        capabilities = capabilities_from_bx(
            _ALL_BX,
            title_level_holds=backend_config.title_level_holds,
            pickup_change=backend_config.pickup_change,
            lists_name_items=backend_config.list_mode != "title",
        )
        # SIP2 has no pickup extension request; the adapter has no extend_pickup.
        return BackendFacts("sip2", capabilities, extends_pickup=False)
    try:
        backend: ILSBackend = build_backend(tenant)
    except ValueError as exc:
        return BackendFacts(backend_config.kind, Capabilities(), False, unservable=str(exc))
    try:
        return BackendFacts(
            backend_config.kind,
            backend.capabilities,
            extends_pickup=isinstance(backend, PickupExtender),
        )
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            await close()


def capability_problems(tenant: TenantConfig, facts: BackendFacts) -> list[Problem]:
    """Each rule of ``tenant`` its backend cannot carry out, naming the key and why."""
    if facts.unservable is not None:
        return [Problem("backend.kind", facts.unservable)]
    caps = facts.capabilities
    holds = tenant.policy.holds
    kind = facts.kind
    found: list[Problem] = []
    can_suspend = caps.supports(Capability.SUSPEND_HOLD)
    if holds.skip_allowed and not can_suspend:
        found.append(
            Problem(
                "policy.holds.skip_allowed",
                f"hold skip needs a backend that can suspend a hold; this {kind} backend cannot"
                f" ({facts.why_not(Capability.SUSPEND_HOLD)})",
            )
        )
    if holds.sequences and not (can_suspend or caps.supports(Capability.HOLD_SEQUENCES)):
        found.append(
            Problem(
                "policy.holds.sequences",
                "hold sequences are kept by suspending the later holds, or by the backend itself;"
                f" this {kind} backend can do neither"
                f" ({facts.why_not(Capability.SUSPEND_HOLD)})",
            )
        )
    if holds.pickup_extension is not None and not facts.extends_pickup:
        found.append(
            Problem(
                "policy.holds.pickup_extension",
                f"this {kind} backend offers no way to extend a pickup deadline (no API for it);"
                " remove the key (patrons ask at the counter)",
            )
        )
    places_holds = caps.supports(Capability.PLACE_HOLD)
    lists_pickup = caps.supports(Capability.LIST_PICKUP_LIBRARIES)
    if places_holds and not lists_pickup and not tenant.pickup_libraries:
        found.append(
            Problem(
                "pickup_libraries",
                f"holds need a pickup library and this {kind} backend cannot list them"
                f" ({facts.why_not(Capability.LIST_PICKUP_LIBRARIES)}): list them in the"
                " tenant file ([[tenants.pickup_libraries]])",
            )
        )
    if tenant.elibrary is None:
        ebook_keys = {
            "policy.ebooks.max_loans": tenant.policy.ebooks.max_loans,
            "policy.ebooks.max_holds": tenant.policy.ebooks.max_holds,
            "policy.holds.max_ebook_holds": holds.max_ebook_holds,
        }
        found += [
            Problem(key, "an e-book rule, but the tenant has no [tenants.elibrary]")
            for key, value in ebook_keys.items()
            if value is not None
        ]
    if tenant.policy.account.temporary_password_gate and not caps.supports(
        Capability.CHANGE_PASSWORD
    ):
        found.append(
            Problem(
                "policy.account.temporary_password_gate",
                f"a temporary-password patron may only change the password, and this {kind}"
                f" backend cannot change one ({facts.why_not(Capability.CHANGE_PASSWORD)}):"
                + (
                    f" such a patron is sent to {tenant.password_change.link}"
                    if tenant.password_change.link
                    else " such a patron can do nothing online"
                ),
                error=False,
            )
        )
    return found


async def _check_all(tenants: list[TenantConfig]) -> list[tuple[TenantConfig, list[Problem]]]:
    out: list[tuple[TenantConfig, list[Problem]]] = []
    for tenant in tenants:
        out.append((tenant, capability_problems(tenant, await backend_facts(tenant))))
    return out


@config.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--explain",
    "show_rules",
    is_flag=True,
    help="Print each tenant's rules and where each is enforced (gateway or ILS).",
)
def check(path: Path, show_rules: bool) -> None:
    """Validate tenant file(s) at PATH; exit 1 naming each bad key and its problem."""
    try:
        registry = load_tenants(path)
    except TenantConfigError as exc:
        for message in exc.problems:
            click.echo(f"{exc.source}: {message}", err=True)
        raise SystemExit(1) from None
    results = asyncio.run(_check_all(list(registry)))
    errors = sum(p.error for _, problems in results for p in problems)
    if not errors:
        click.echo(f"{path}: {len(registry)} tenant(s) OK")
    for tenant, problems in results:
        elibrary = tenant.elibrary.kind if tenant.elibrary else "none"
        click.echo(
            f"  {tenant.id}: {tenant.name} (backend {tenant.backend.kind}, e-library {elibrary})"
        )
        if show_rules:
            for line in explain(tenant.policy):
                click.echo(f"    {line}")
        for problem in problems:
            level = "error" if problem.error else "warning"
            click.echo(f"{path}: {tenant.id}: {problem.key}: {level}: {problem.message}", err=True)
    if errors:
        click.echo(f"{path}: {errors} error(s)", err=True)
        raise SystemExit(1)
