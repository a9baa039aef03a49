"""``serve --config FILE --simulate``: every tenant of a file served on simulators shaped for it.

``simulated_settings(registry)`` starts, in this event loop, one simulated library system per
tenant on 127.0.0.1 (free ports) and returns the ``GatewaySettings`` whose tenants talk to them:

- the kind the tenant's backend names: the SIP2 ACS simulator for ``sip2`` (with the tenant's
  encoding — CP932 for Nishinomiya —, terminator, institution, hold-entry and expiry fields),
  the Koha REST simulator for ``koha``, the FOLIO (Okapi) simulator for ``folio``; and for a
  ``kinoden`` e-library the e-library simulator (``kind = "simulator"`` e-libraries are started
  by the gateway itself, ``runtime.elibrary``);
- the seeded sample library (``simulators.sample_data``) written as of the clock's instant, so
  due dates and pickup deadlines agree with the gateway's date; shaped for the tenant: every
  sample card that the tenant's card rule refuses is renumbered into one it accepts
  (``tenant_card``: Kanagawa's 6-digit cards, 1000000004 → 400004), the pickup libraries the
  file lists exist as branches, and the library system's own rules follow the file's (renewal
  count and period, overdue renewals, hold limits by material type, …; ``house_rules``);
- the backend's address and credentials in the file are replaced by the simulator's (fresh
  secrets each run; TLS off: the simulators speak plain TCP/HTTP).

The gateway and every simulator read one injected clock: ``RunningClock(now)`` for ``--now``,
else the system clock. ``SimulatedRun.describe()`` says where each simulator listens and which
sample patrons can log in. Nothing here reads files; the caller loads the tenants.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from ils_gateway.domain.clock import Clock, RunningClock, system_clock
from ils_gateway.domain.vocab import HoldStatus, MaterialType
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators import policy as ils
from ils_gateway.simulators.elibrary import ElibrarySimulatorConfig, start_elibrary_simulator
from ils_gateway.simulators.folio import create_folio_app
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.records import Branch, BranchKind, LibraryData, Station
from ils_gateway.simulators.sample_data import DEFAULT_SEED, DEMO_PATRONS, build_sample_data
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.simulators.sru import create_sru_app
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.tenants.backends import (
    FolioBackend,
    KinodenElibrary,
    KohaBackend,
    Sip2Backend,
)
from ils_gateway.tenants.loader import TenantRegistry
from ils_gateway.tenants.models import TenantConfig
from ils_gateway.tenants.policy import CardPolicy, Policy

__all__ = [
    "SIMULATED_RUN",
    "SampleLogin",
    "SimulatedRun",
    "SimulatedTenant",
    "house_rules",
    "simulated_settings",
    "tenant_card",
]

HOST = "127.0.0.1"
_SIMULATOR_USER = "ils-gateway"

# The tenant's material types the simulated library system has an item type for.
_ITEM_TYPES: dict[MaterialType, ils.ItemType] = {
    MaterialType.BOOK: ils.ItemType.BOOK,
    MaterialType.PICTURE_BOOK: ils.ItemType.PICTURE_BOOK,
    MaterialType.MAGAZINE: ils.ItemType.MAGAZINE,
    MaterialType.KAMISHIBAI: ils.ItemType.KAMISHIBAI,
    MaterialType.CD: ils.ItemType.CD,
    MaterialType.DVD: ils.ItemType.DVD,
    MaterialType.CASSETTE: ils.ItemType.CASSETTE,
    MaterialType.ART_REPRODUCTION: ils.ItemType.ART,
}
_OVERDUE = {
    "refuse": ils.OverdueRenewal.IN_PERIOD_ONLY,
    "allow": ils.OverdueRenewal.ALLOW,
    "shortened": ils.OverdueRenewal.SHORTENED,
}


@dataclass(frozen=True)
class SampleLogin:
    """A sample patron of a simulated library: the card the tenant accepts and its password."""

    card: str
    password: str
    name: str
    note: str


@dataclass(frozen=True)
class SimulatedTenant:
    """One tenant on its simulators: where they listen, its sample logins, its library."""

    tenant: str
    listeners: tuple[str, ...]
    logins: tuple[SampleLogin, ...]
    library: SimulatedLibrary


@dataclass(frozen=True)
class SimulatedRun:
    """The gateway settings serving every tenant on its simulators, and what was started."""

    settings: GatewaySettings
    tenants: tuple[SimulatedTenant, ...]
    now: datetime

    def describe(self) -> list[str]:
        """Lines for the console: the date, each tenant's simulators and sample logins."""
        lines = [f"simulated libraries as of {self.now.isoformat(timespec='minutes')}"]
        for tenant in self.tenants:
            lines.append(f"tenant {tenant.tenant!r}:")
            lines += [f"  {listener}" for listener in tenant.listeners]
            lines.append("  sample logins (card / password):")
            lines += [
                f"    {login.card} / {login.password}  {login.name}: {login.note}"
                for login in tenant.logins
            ]
        return lines


SIMULATED_RUN: web.AppKey[SimulatedRun] = web.AppKey("simulated_run", SimulatedRun)
"""Where ``serve --simulate``'s app keeps what was started (tests reach the libraries)."""


def tenant_card(card: str, policy: CardPolicy, taken: Iterable[str] = ()) -> str | None:
    """``card`` if the tenant's card rule accepts it, else a card it accepts made from the
    sample card's number (its last digits, as ``400004`` for patron 4 under ``^\\d{6}$``, or
    zero-padded), not among ``taken``; None when no such card is found."""
    if policy.normalise(card) == card:
        return card
    used = set(taken)
    number = str(int(card[-4:])) if card[-4:].isdigit() and int(card[-4:]) else card[-4:]
    for length in range(1, 21):
        candidates = [number.zfill(length)]
        if length > 2 * len(number):
            candidates.insert(0, number + "0" * (length - 2 * len(number)) + number)
        candidates.append(card[-length:])
        for candidate in candidates:
            if candidate not in used and policy.normalise(candidate) == candidate:
                return candidate
    return None


def house_rules(policy: Policy, base: ils.HouseRules) -> ils.HouseRules:
    """The simulated library system's rules following the tenant's policy where the file says
    (renewals, hold limits by material type, exclusions); ``base`` for what it leaves out."""
    renewal, holds = policy.renewal, policy.holds
    said = renewal.model_fields_set
    changes: dict[str, Any] = {}
    if "max_renewals" in said:
        changes["max_renewals"] = renewal.max_renewals
    if renewal.period_days is not None:
        changes["renewal_days"] = renewal.period_days
    if "overdue" in said:
        changes["overdue_renewal"] = _OVERDUE[renewal.overdue.mode]
        changes["overdue_grace_days"] = renewal.overdue.grace_days
    if "earliest_days_before_due" in said:
        changes["earliest_renewal_days_before_due"] = renewal.earliest_days_before_due
    if "interlibrary_loans" in said:
        changes["renew_interlibrary_loans"] = renewal.interlibrary_loans
    if renewal.excluded_material_types:
        changes["renewal_excluded_types"] = _item_types(renewal.excluded_material_types)
    if renewal.excluded_loan_branches:
        changes["renewal_excluded_branches"] = tuple(sorted(renewal.excluded_loan_branches))
    if holds.max_total is not None:
        changes["max_holds"] = holds.max_total
    if holds.limits:
        limits = [
            ils.HoldLimit(limit.name, _item_types(limit.material_types), limit.max)
            for limit in holds.limits
        ]
        changes["hold_limits"] = tuple(limit for limit in limits if limit.item_types)
    if "refuse_when_overdue_days" in holds.model_fields_set:
        changes["overdue_days_blocking_holds"] = holds.refuse_when_overdue_days
    if holds.excluded_material_types:
        changes["not_holdable_types"] = _item_types(holds.excluded_material_types)
    if "cancel_allowed_states" in holds.model_fields_set:
        changes["cancellable_states"] = tuple(
            state for status, state in _CANCELLABLE if status in holds.cancel_allowed_states
        )
    return replace(base, **changes)


# The library system's open hold states a patron's cancel can reach, by the tenant's status
# words (Nishinomiya cancels 移送中 too); found holds past these get a cancellation request.
_CANCELLABLE = (
    (HoldStatus.WAITING, ils.HoldState.PENDING),
    (HoldStatus.IN_TRANSIT, ils.HoldState.TRANSIT),
    (HoldStatus.PREPARING, ils.HoldState.PROCESSING),
    (HoldStatus.READY, ils.HoldState.AWAITING_PICKUP),
)


def _item_types(types: Iterable[MaterialType]) -> tuple[ils.ItemType, ...]:
    found = {_ITEM_TYPES[t] for t in types if t in _ITEM_TYPES}
    return tuple(t for t in ils.ItemType if t in found)


def _shape(data: LibraryData, tenant: TenantConfig) -> dict[str, str]:
    """Shape the sample data for ``tenant`` in place; the renumbered cards (old → new)."""
    data.rules = house_rules(tenant.policy, data.rules)
    renumbered: dict[str, str] = {}
    taken = {p.card_number for p in data.patrons}
    for patron in data.patrons:
        card = tenant_card(patron.card_number, tenant.policy.card, taken)
        if card is not None and card != patron.card_number:
            renumbered[patron.card_number] = card
            taken.add(card)
            patron.card_number = card
    codes = {branch.code for branch in data.branches}
    for library in tenant.pickup_libraries:
        if library.code in codes:
            continue
        stations = [Station(s.code, s.name, "") for s in library.bookmobile_stations]
        kind = BranchKind.BOOKMOBILE if stations else BranchKind.LIBRARY
        data.branches.append(Branch(library.code, library.name, kind, not stations, stations))
    return renumbered


Cleanup = Callable[[], Any]


@dataclass
class _Started:
    tenant: TenantConfig
    listeners: list[str] = field(default_factory=list)
    stops: list[Cleanup] = field(default_factory=list)


async def _http(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, HOST, 0).start()
    port = runner.addresses[0][1]
    return runner, f"http://{HOST}:{port}"


async def _start_backend(started: _Started, library: SimulatedLibrary) -> None:
    tenant = started.tenant
    backend = tenant.backend
    secret = secrets.token_urlsafe(18)
    if isinstance(backend, Sip2Backend):
        user = backend.login_user or _SIMULATOR_USER
        server, _acs = await start_sip2_simulator(
            library,
            host=HOST,
            port=0,
            logins={user: secret},
            codec=CodecSettings(encoding=backend.encoding, terminator=backend.terminator_text),
            institution_id=backend.institution_id,
            title_hold_entries=backend.title_hold_entries,
            expiry_field=backend.expiry_field,
        )
        started.stops.append(server.aclose)
        update: dict[str, Any] = {
            "host": HOST,
            "port": server.port,
            "tls": None,
            "login_user": user,
            "login_password": SecretStr(secret),
        }
        started.listeners.append(
            f"SIP2 ACS simulator on {HOST}:{server.port} (encoding {backend.encoding}, "
            f"terminator {backend.terminator}, institution {backend.institution_id or '-'})"
        )
    elif isinstance(backend, KohaBackend):
        runner, url = await _http(
            create_koha_app(library, client_id=_SIMULATOR_USER, client_secret=secret)
        )
        started.stops.append(runner.cleanup)
        update = {
            "base_url": url,
            "auth": "oauth2",
            "client_id": _SIMULATOR_USER,
            "client_secret": SecretStr(secret),
            "username": None,
            "password": None,
        }
        started.listeners.append(f"Koha REST simulator on {url}/api/v1")
    elif isinstance(backend, FolioBackend):
        runner, url = await _http(
            create_folio_app(
                library, tenant=backend.tenant, username=backend.username, password=secret
            )
        )
        started.stops.append(runner.cleanup)
        update = {"okapi_url": url, "password": SecretStr(secret)}
        started.listeners.append(
            f"FOLIO (Okapi) simulator on {url} (X-Okapi-Tenant {backend.tenant})"
        )
    else:  # kind = "simulator": the gateway runs it itself
        started.listeners.append("in-process simulated library system (kind = simulator)")
        return
    started.tenant = tenant.model_copy(update={"backend": backend.model_copy(update=update)})
    await _start_sru(started, library)


async def _start_sru(started: _Started, library: SimulatedLibrary) -> None:
    """The SRU server a tenant's file names (``[tenants.catalog.sru]``), on the same library."""
    catalog = started.tenant.catalog
    if catalog.sru is None:
        return
    runner, url = await _http(create_sru_app(library))
    started.stops.append(runner.cleanup)
    sru = catalog.sru.model_copy(update={"url": f"{url}/sru"})
    started.tenant = started.tenant.model_copy(
        update={"catalog": catalog.model_copy(update={"sru": sru})}
    )
    started.listeners.append(f"SRU catalogue simulator on {url}/sru")


async def _start_elibrary(started: _Started, clock: Clock) -> None:
    config = started.tenant.elibrary
    if not isinstance(config, KinodenElibrary):
        if config is not None:
            started.listeners.append("e-library simulator started by the gateway (in-process)")
        return
    secret = secrets.token_urlsafe(18)
    simulated = ElibrarySimulatorConfig(client_id=config.client_id, client_secret=secret)
    runner, url = await start_elibrary_simulator(simulated, clock, host=HOST, port=0)
    started.stops.append(runner.cleanup)
    started.listeners.append(f"e-library (KinoDen-style) simulator on {url}")
    elibrary = config.model_copy(update={"base_url": url, "client_secret": SecretStr(secret)})
    started.tenant = started.tenant.model_copy(update={"elibrary": elibrary})


def _logins(renumbered: dict[str, str]) -> tuple[SampleLogin, ...]:
    return tuple(
        SampleLogin(
            renumbered.get(demo.card_number, demo.card_number),
            demo.password,
            demo.name,
            re.sub(r"\s+", " ", demo.purpose),
        )
        for demo in DEMO_PATRONS
    )


async def simulated_settings(
    registry: TenantRegistry,
    *,
    now: datetime | None = None,
    clock: Clock | None = None,
    seed: int = DEFAULT_SEED,
    **settings: Any,
) -> SimulatedRun:
    """Start simulators shaped for every tenant of ``registry``; the settings serving them.

    ``now`` (``serve --now``) is the instant the sample data is written as of and the clock
    starts at (``RunningClock``); ``clock`` replaces that clock (tests: a ``ManualClock``);
    with neither, the system clock and today. Other keyword arguments go to
    ``GatewaySettings``. The simulators stop after the gateway (``extra_cleanups``); if one
    fails to start, those already started are stopped.
    """
    if clock is None:
        clock = system_clock if now is None else RunningClock(now)
    now = now or clock()
    runs: list[SimulatedTenant] = []
    tenants: list[TenantConfig] = []
    stops: list[Cleanup] = []
    try:
        for tenant in registry:
            data = build_sample_data(seed, now)
            renumbered = _shape(data, tenant)
            library = SimulatedLibrary(data, clock)
            started = _Started(tenant)
            try:
                await _start_backend(started, library)
                await _start_elibrary(started, clock)
            finally:
                stops += started.stops
            tenants.append(started.tenant)
            runs.append(
                SimulatedTenant(tenant.id, tuple(started.listeners), _logins(renumbered), library)
            )
    except BaseException:
        for stop in reversed(stops):
            await stop()
        raise

    async def stop_simulators() -> AsyncIterator[None]:
        try:
            yield
        finally:
            for stop in reversed(stops):
                await stop()

    gateway = GatewaySettings(
        tenants=TenantRegistry(tenants), clock=clock, extra_cleanups=(stop_simulators,)
    )
    return SimulatedRun(replace(gateway, **settings), tuple(runs), now)
