"""The periodic jobs as ``serve`` runs them: one task per job, each on its own interval.

Several gateway processes may share one store. Each run first takes the job's lease in the store
(``store.leases``) for one interval, so one process runs a given job per interval; if that
process dies, another takes over once the lease expires. (The jobs are also safe to run twice at
once — records are deduplicated, purges and releases idempotent — so the lease saves work rather
than guarding correctness.) The outbox drain (``drain_outbox``, see docs/mail.md) takes no lease:
every process drains, and the outbox's claims give each mail to one of them.

``jobs_context(intervals)`` is an aiohttp cleanup context: append it after the runtime's
(``runtime.contexts.install``, which ``create_app`` calls) so it starts after them (it reads
the tenants from ``runtime.keys.GATEWAY_KEY`` and the store's list services from
``STORE_KEY``) and stops before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web

from ils_gateway.jobs.purge import purge_cancelled_holds
from ils_gateway.jobs.runner import every
from ils_gateway.mail.drain import MailRoute, drain_outbox, mail_routes
from ils_gateway.runtime.keys import GATEWAY_KEY, SETTINGS_KEY, STORE_KEY
from ils_gateway.services.context import TenantContext
from ils_gateway.services.mylists.history_capture import capture_reading_history
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.services.mylists.sequence_enforcement import enforce_hold_sequences

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class JobIntervals:
    """Seconds between runs of each job; None switches a job off."""

    capture_reading_history: float | None = 3600.0
    enforce_hold_sequences: float | None = 600.0
    purge_cancelled_holds: float | None = 6 * 3600.0
    #: The mail outbox (``mail.drain.drain_outbox``); every process drains, without a lease.
    drain_outbox: float | None = 60.0


#: Jobs every process runs at once, without the store lease: they share the work safely
#: (the outbox's claims give each mail to one drainer).
UNLEASED = frozenset({"drain_outbox"})


@dataclass
class JobScheduler:
    """Runs the periodic jobs over ``tenants`` under store leases held as ``holder``."""

    lists: MyLists
    tenants: list[TenantContext]
    intervals: JobIntervals = JobIntervals()
    holder: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: How each tenant that can send mail sends it (``mail.drain.mail_routes``).
    mail_routes: dict[str, MailRoute] = field(default_factory=dict)

    def jobs(self) -> dict[str, Callable[[], Awaitable[Any]]]:
        """The jobs by name (the lease name)."""
        return {
            "capture_reading_history": self.capture_reading_history,
            "enforce_hold_sequences": self.enforce_hold_sequences,
            "purge_cancelled_holds": self.purge_cancelled_holds,
            "drain_outbox": self.drain_outbox,
        }

    async def capture_reading_history(self) -> dict[str, Any]:
        """One capture run over every tenant."""
        return {
            t.id: await capture_reading_history(
                self.lists.store, self.lists.history, t.config, t.backend, self.lists.roster
            )
            for t in self.tenants
        }

    async def enforce_hold_sequences(self) -> dict[str, Any]:
        """One enforcement run over every tenant."""
        return {
            t.id: await enforce_hold_sequences(
                self.lists.store, self.lists.sequences, t.config, t.backend, self.lists.roster
            )
            for t in self.tenants
        }

    async def purge_cancelled_holds(self) -> dict[str, int]:
        """One purge over every tenant."""
        return await purge_cancelled_holds(self.lists.cancelled, (t.config for t in self.tenants))

    async def drain_outbox(self) -> dict[str, object]:
        """One outbox drain (only the tenants that can send; the others' mails are kept)."""
        clock = self.tenants[0].clock if self.tenants else None
        if not self.mail_routes or clock is None:
            return {}
        report = await drain_outbox(self.lists.store.outbox, self.mail_routes, clock=clock)
        return report.as_dict()

    async def run_once(self, name: str, lease: timedelta) -> Any | None:
        """Run job ``name`` if this process gets its lease (jobs in ``UNLEASED``: always);
        None when another process has it."""
        leased = name not in UNLEASED
        if leased and not await self.lists.store.leases.acquire(name, self.holder, lease):
            return None
        report = await self.jobs()[name]()
        log.info("periodic job ran", job=name)
        return report

    def start(self, stop: asyncio.Event) -> list[asyncio.Task[int]]:
        """One task per job that has an interval; they end when ``stop`` is set."""
        tasks: list[asyncio.Task[int]] = []
        for name in self.jobs():
            interval = getattr(self.intervals, name)
            if interval is None or (name == "drain_outbox" and not self.mail_routes):
                continue  # switched off; or no tenant can send mail (its mails are kept)
            lease = timedelta(seconds=interval)

            async def run(name: str = name, lease: timedelta = lease) -> None:
                await self.run_once(name, lease)

            run.__name__ = name
            tasks.append(asyncio.create_task(every(interval, run, stop), name=f"job:{name}"))
        return tasks


def jobs_context(
    intervals: JobIntervals,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the jobs while the app runs (nothing without a store)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        gateway = app[GATEWAY_KEY]
        runtimes = list(gateway)
        lists = app[STORE_KEY]
        if lists is None:
            yield
            return
        mail = app[SETTINGS_KEY].mail
        configs = [r.config for r in runtimes]
        routes, why_not = mail_routes(configs, mail.smtp, mail.sender)
        for tenant_id, why in why_not.items():
            log.warning(
                "mail is not configured; the tenant's mails are kept in the outbox",
                tenant=tenant_id,
                why=why,
            )
        every_job = intervals
        if mail.drain_interval is None:
            every_job = dataclasses.replace(intervals, drain_outbox=None)
        elif intervals.drain_outbox is not None:
            every_job = dataclasses.replace(intervals, drain_outbox=mail.drain_interval)
        scheduler = JobScheduler(
            lists, [r.context for r in runtimes], every_job, mail_routes=routes
        )
        stop = asyncio.Event()
        tasks = scheduler.start(stop)
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return context
