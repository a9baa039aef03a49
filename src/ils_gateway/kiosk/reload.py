"""Reloading the SIP2 faces' terminal profiles while machines stay connected.

``KioskServers`` is what ``open_kiosk_faces`` yields: each tenant's server on its own
``host:port`` by tenant id (as before), plus every listener's server and each tenant's
``TerminalDesk``. ``reload_from_file(desks, path)`` re-reads the tenant file (SIGHUP, or the
operator call ``POST /v1/tenants/{tenant}/operator/kiosk/reload``): a file that does not load
keeps every tenant's profiles as they were and says why; otherwise each desk takes its
tenant's new ``[tenants.kiosk_sip2]`` for the next frame and login of every machine, connected
ones included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from ils_gateway.kiosk.terminals import TerminalDesk
from ils_gateway.sip2.server import SIP2Server
from ils_gateway.tenants.loader import TenantConfigError, TenantRegistry, load_tenants

__all__ = ["KioskServers", "ReloadResult", "reload_from_file", "reload_from_registry"]

log = structlog.get_logger(__name__)


class KioskServers(dict[str, SIP2Server]):
    """Each tenant's server on its own ``host:port`` by tenant id, with its listeners and
    terminal desk."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners: dict[str, list[SIP2Server]] = {}
        """Every server of a tenant: its own first, then ``listeners`` in file order."""
        self.desks: dict[str, TerminalDesk] = {}


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did for one tenant."""

    tenant: str
    applied: bool
    generation: int
    problems: tuple[str, ...] = ()
    """Why nothing was applied (the file's problems, one line each)."""
    notes: tuple[str, ...] = field(default=())
    """What was applied only in part (listeners need a restart)."""


def reload_from_registry(
    desks: Mapping[str, TerminalDesk], registry: TenantRegistry
) -> list[ReloadResult]:
    """Apply each desk's tenant from ``registry``."""
    results = []
    for tenant, desk in desks.items():
        if tenant not in registry:
            results.append(_kept(desk, ("the tenant is no longer in the file",)))
            continue
        config = registry.get(tenant).kiosk_sip2
        if config is None or not config.enabled:
            problem = "kiosk_sip2 is off in the file: restart the gateway to stop the face"
            results.append(_kept(desk, (problem,)))
            continue
        notes = desk.apply(config)
        log.info(
            "kiosk.reloaded",
            tenant=tenant,
            generation=desk.generation,
            profiles=[p.name for p in config.profiles],
            notes=notes,
        )
        results.append(ReloadResult(tenant, True, desk.generation, notes=tuple(notes)))
    return results


def reload_from_file(desks: Mapping[str, TerminalDesk], path: Path) -> list[ReloadResult]:
    """Re-read the tenant file at ``path`` and apply it; a file that does not load changes
    nothing."""
    try:
        registry = load_tenants(path)
    except TenantConfigError as exc:
        problems = tuple(f"{exc.source}: {problem}" for problem in exc.problems)
        return [_kept(desk, problems) for desk in desks.values()]
    return reload_from_registry(desks, registry)


def _kept(desk: TerminalDesk, problems: tuple[str, ...]) -> ReloadResult:
    log.warning("kiosk.reload_refused", tenant=desk.tenant_id, problems=list(problems))
    return ReloadResult(desk.tenant_id, False, desk.generation, problems=problems)
