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
import os
from dataclasses import dataclass
from pathlib import Path

import click

from ils_gateway.adapters.base import Capabilities, Capability, ILSBackend
from ils_gateway.adapters.sip2.capabilities import capabilities_from_bx
from ils_gateway.cli import config
from ils_gateway.mail.templates import override_problems
from ils_gateway.runtime.backends import build_backend
from ils_gateway.services.mylists.hold_extras import PickupExtender
from ils_gateway.tenants import backends as configs
from ils_gateway.tenants.enforcement import explain
from ils_gateway.tenants.loader import TenantConfigError, load_tenants
from ils_gateway.tenants.loans import ANY_BOOKMOBILE
from ils_gateway.tenants.models import TenantConfig

__all__ = [
    "BackendFacts",
    "Problem",
    "backend_facts",
    "branch_problems",
    "capability_problems",
    "check",
    "check_tenants",
    "explain_material_types",
    "kiosk_problems",
    "mail_problems",
    "material_type_problems",
    "problem_line",
    "tenant_problems",
]

# Which backend reads each table of [tenants.material_types] (the others ignore it).
_MATERIAL_MAPS = {
    "sip2_media_types": "sip2",
    "sip2_type_field": "sip2",
    "sip2_type_values": "sip2",
    "koha_item_types": "koha",
    "folio_material_types": "folio",
}

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


def branch_problems(tenant: TenantConfig) -> list[Problem]:
    """Branch codes of the renewal rules that name no branch of the tenant.

    Codes are held against the pickup libraries (and their bookmobile stations) where the file
    lists them, plus the bookmobiles of ``[tenants.policy.loans]``; the keyword ``bookmobile``
    needs a bookmobile named in either place (else it matches no loan).
    """
    renewal, loans = tenant.policy.renewal, tenant.policy.loans
    named = [
        ("policy.renewal.excluded_loan_branches", code)
        for code in sorted(renewal.excluded_loan_branches)
    ] + [("policy.renewal.branch_period_days", code) for code in renewal.branch_period_days]
    mobiles = {m.code for m in loans.bookmobiles} | {
        s for m in loans.bookmobiles for s in m.stations
    }
    libraries = {lib.code for lib in tenant.pickup_libraries} | {
        s.code for lib in tenant.pickup_libraries for s in lib.bookmobile_stations
    }
    any_mobile = bool(loans.bookmobiles) or any(
        lib.bookmobile_stations for lib in tenant.pickup_libraries
    )
    found: list[Problem] = []
    for key, code in named:
        if code == ANY_BOOKMOBILE:
            if not any_mobile:
                found.append(
                    Problem(
                        key,
                        f"{code!r} means every bookmobile, and the tenant names none: list them"
                        " in [tenants.policy.loans] bookmobiles (or pickup libraries with"
                        " bookmobile_stations)",
                    )
                )
        elif tenant.pickup_libraries and code not in libraries | mobiles:
            found.append(
                Problem(
                    key,
                    f"branch code {code!r} is none of the tenant's pickup libraries, stations or"
                    " bookmobiles, so it matches no loan",
                )
            )
    return found


def material_type_problems(tenant: TenantConfig) -> list[Problem]:
    """Tables of ``[tenants.material_types]`` that this tenant's backend never reads."""
    maps = tenant.material_types
    kind = tenant.backend.kind
    return [
        Problem(
            f"material_types.{name}",
            f"only a {reader} backend reads it; this tenant's backend is {kind}",
        )
        for name, reader in _MATERIAL_MAPS.items()
        if reader != kind and getattr(maps, name)
    ]


def explain_material_types(tenant: TenantConfig) -> list[str]:
    """One line per entry of ``[tenants.material_types]``: what the backend says -> type."""
    maps = tenant.material_types
    kind = tenant.backend.kind
    lines: list[str] = []
    for name, reader in _MATERIAL_MAPS.items():
        value = getattr(maps, name)
        if not value:
            continue
        where = (
            f"gateway ({kind} adapter, before every limit by type)"
            if reader == kind
            else f"NOT READ (only a {reader} backend reads it)"
        )
        if isinstance(value, dict):
            lines += [
                f"material_types.{name}.{code} = {target.value}  -> {where}"
                for code, target in value.items()
            ]
        else:
            lines.append(f"material_types.{name} = {value!r}  -> {where}")
    return lines


def mail_problems(tenant: TenantConfig) -> list[Problem]:
    """``[tenants.mail]``: override templates that are misnamed or do not render with a full
    sample context (errors); a template directory that is not there, an SMTP password variable
    that is not set here, or a password that would cross the network unencrypted (warnings)."""
    mail = tenant.mail
    if mail is None:
        return []
    found = []
    if mail.templates is not None and not mail.templates.is_dir():
        found.append(
            Problem(
                "mail.templates",
                f"not a directory: {mail.templates} (the shipped templates are used)",
                error=False,
            )
        )
    else:
        found += [Problem("mail.templates", message) for message in override_problems(tenant)]
    smtp = mail.smtp
    if smtp is not None:
        if smtp.password_env is not None and smtp.password_env not in os.environ:
            found.append(
                Problem(
                    "mail.smtp.password_env",
                    f"{smtp.password_env} is not set in this environment: mail waits in the"
                    " outbox until the gateway runs with it",
                    error=False,
                )
            )
        if smtp.security == "none" and smtp.username is not None:
            found.append(
                Problem(
                    "mail.smtp.security",
                    "authenticating without TLS sends the SMTP password in the clear;"
                    " use starttls or tls",
                    error=False,
                )
            )
    return found


def kiosk_problems(tenant: TenantConfig) -> list[Problem]:
    """``[tenants.kiosk_sip2]`` beyond what loading checks (subnets, encodings, message codes,
    overlapping listeners): certificate files that are not there (errors: the face would not
    start), a profile an earlier one always wins over (warning: it is never chosen)."""
    kiosk = tenant.kiosk_sip2
    if kiosk is None or not kiosk.enabled:
        return []
    found = []
    certificates = [("kiosk_sip2.tls", kiosk.tls)] + [
        (f"kiosk_sip2.listeners[{i}].tls", listener.tls)
        for i, listener in enumerate(kiosk.listeners)
    ]
    for key, tls in certificates:
        if tls is None:
            continue
        for name, path in (("cert_file", tls.cert_file), ("key_file", tls.key_file)):
            if not path.is_file():
                found.append(Problem(f"{key}.{name}", f"no such file: {path}"))
    seen: dict[tuple[object, ...], str] = {}
    for i, profile in enumerate(kiosk.profiles):
        keys = (
            frozenset(profile.addresses),
            frozenset(profile.ports),
            frozenset(profile.locations),
            frozenset(profile.login_prefixes),
        )
        earlier = seen.get(keys)
        if earlier is not None and not profile.matches_anyone:
            found.append(
                Problem(
                    f"kiosk_sip2.profiles[{i}]",
                    f"{profile.name!r} is never chosen: {earlier!r} before it matches the same "
                    "machines",
                    error=False,
                )
            )
        seen.setdefault(keys, profile.name)
    return found


def tenant_problems(tenant: TenantConfig, facts: BackendFacts) -> list[Problem]:
    """Everything ``config check`` holds against a loaded tenant."""
    return (
        capability_problems(tenant, facts)
        + branch_problems(tenant)
        + material_type_problems(tenant)
        + mail_problems(tenant)
        + kiosk_problems(tenant)
    )


async def check_tenants(
    tenants: list[TenantConfig],
) -> list[tuple[TenantConfig, list[Problem]]]:
    """Each tenant with what ``config check`` (and ``serve`` at start-up) finds wrong in it."""
    out: list[tuple[TenantConfig, list[Problem]]] = []
    for tenant in tenants:
        out.append((tenant, tenant_problems(tenant, await backend_facts(tenant))))
    return out


def problem_line(path: Path, tenant: TenantConfig, problem: Problem) -> str:
    """The one line that states a problem, the same for ``config check`` and ``serve``."""
    level = "error" if problem.error else "warning"
    return f"{path}: {tenant.id}: {problem.key}: {level}: {problem.message}"


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
    results = asyncio.run(check_tenants(list(registry)))
    errors = sum(p.error for _, problems in results for p in problems)
    if not errors:
        click.echo(f"{path}: {len(registry)} tenant(s) OK")
    for tenant, problems in results:
        elibrary = tenant.elibrary.kind if tenant.elibrary else "none"
        click.echo(
            f"  {tenant.id}: {tenant.name} (backend {tenant.backend.kind}, e-library {elibrary})"
        )
        if tenant.sdi.enabled:
            click.echo(f"    {tenant.sdi.describe(tenant.backend.kind, tenant.timezone)}")
        if tenant.demo_page:
            click.echo(f"    demo page: on, served at /demo/{tenant.id}/ (docs/demo.md)")
        if show_rules:
            for line in [*explain(tenant.policy), *explain_material_types(tenant)]:
                click.echo(f"    {line}")
        for problem in problems:
            click.echo(problem_line(path, tenant, problem), err=True)
    if errors:
        click.echo(f"{path}: {errors} error(s)", err=True)
        raise SystemExit(1)
