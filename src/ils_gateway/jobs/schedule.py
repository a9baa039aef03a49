"""The periodic jobs on APScheduler, with job locks shared by every gateway process.

``GatewayJobs`` plans every job of the registry (``jobs.registry``): one entry per tenant for a
per-tenant job (its schedule from ``[tenants.jobs]`` or the registry's default, cron times in
the tenant's time zone), one for a global job. ``scheduler()`` puts them on an
``AsyncIOScheduler``; ``run(name, tenant)`` runs one now (what the scheduler calls, and
``ils-gateway jobs run``).

Locks (``JobLocks``: Redis ``SET NX PX`` when Redis is configured, else the store's
``job_leases`` table, else this process's memory), so two processes never run a job at once and
a scheduled run time is run once:

- ``run:<job>[:<tenant>]`` is held while the job runs (at most the job's ``max_runtime``, so a
  process that dies mid-run loses it) and released after: a second process is "busy".
- ``slot:<job>[:<tenant>]:<run time>`` is taken once per scheduled run time (the latest one at
  or before now; interval schedules are aligned on a fixed instant, so every process computes
  the same times) and kept until the next: a second process finds it "done" and skips.
  ``force`` (``jobs run --force``) runs without looking at the slot, still under the run lock.

Each run's start, end and outcome are kept (the store's ``job_runs``; in memory without a
store) for ``ils-gateway jobs list``, and counted (``ils_gateway_job_runs_total``).

The outbox drain (``drain_outbox``, docs/mail.md) takes no lock: every process drains, and the
outbox's claims give each mail to one of them; it is planned only when some tenant can send
mail, on the server's ``mail.drain_interval`` (None: off).

``jobs_context`` is the aiohttp cleanup context ``serve`` appends after the runtime's; ``serve
--no-jobs`` leaves it out (the jobs then run as Kubernetes CronJobs, ``ils-gateway jobs run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from ils_gateway.domain.clock import Clock, epoch_seconds, system_clock
from ils_gateway.jobs.registry import JOBS, JobEnv, JobSpec
from ils_gateway.mail.drain import mail_routes
from ils_gateway.observability import metrics
from ils_gateway.runtime.jobs import JobHistory, job_history, job_locks
from ils_gateway.runtime.keys import GATEWAY_KEY, REDIS_KEY, SETTINGS_KEY, STORE_KEY
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.tenant import Gateway, TenantRuntime
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.state.joblocks import JobLocks
from ils_gateway.tenants.jobs import Every, Schedule, parse_schedule

log = structlog.get_logger(__name__)

#: Outcomes of ``GatewayJobs.run``.
OK, FAILED, BUSY, DONE, OFF, UNKNOWN = "ok", "failed", "busy", "done", "off", "unknown"


class UnknownJob(LookupError):
    """No such job (or not for that tenant)."""


@dataclass(frozen=True)
class PlannedJob:
    """One job as scheduled: for one tenant (per-tenant jobs) or for all (``tenant`` None)."""

    spec: JobSpec
    tenant: TenantRuntime | None
    schedule: Schedule

    @property
    def tenant_id(self) -> str | None:
        return None if self.tenant is None else self.tenant.config.id

    @property
    def key(self) -> str:
        """``name`` or ``name:tenant``: the lock and the APScheduler job id."""
        return self.spec.name if self.tenant is None else f"{self.spec.name}:{self.tenant_id}"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.tenant.config.timezone if self.tenant is not None else "UTC")

    def describe(self) -> str:
        """The schedule as the tenant file writes it."""
        return "off" if self.schedule is None else self.schedule.describe()


@dataclass(frozen=True)
class RunResult:
    """What ``run`` did: an outcome (ok, failed, busy, done, off) and the job's report."""

    key: str
    outcome: str
    report: Any = None
    error: str | None = None


@dataclass
class GatewayJobs:
    """Plans, schedules and runs the jobs of one gateway process."""

    gateway: Gateway
    lists: MyLists | None
    locks: JobLocks
    history: JobHistory
    clock: Clock = system_clock
    holder: str = field(default_factory=lambda: uuid.uuid4().hex)
    specs: dict[str, JobSpec] = field(default_factory=lambda: dict(JOBS))
    #: How each tenant that can send mail sends it (``mail.drain.mail_routes``), by id.
    mail_routes: dict[str, Any] = field(default_factory=dict)
    #: Schedules of global jobs set by the server's settings (the drain's interval).
    overrides: dict[str, Schedule] = field(default_factory=dict)
    _running: set[asyncio.Task[Any]] = field(default_factory=set)

    def plans(self) -> list[PlannedJob]:
        """Every job to schedule, in the registry's order (per tenant, the tenants' order)."""
        planned: list[PlannedJob] = []
        for spec in self.specs.values():
            if spec.needs_store and self.lists is None:
                continue
            if spec.needs_mail and not self.mail_routes:
                continue  # no tenant can send: their mails are kept in the outbox
            if not spec.per_tenant:
                schedule = self.overrides.get(spec.name, spec.schedule)
                planned.append(PlannedJob(spec, None, schedule))
                continue
            for tenant in self.gateway:
                text = tenant.config.jobs.get(spec.name)
                schedule = spec.schedule if text is None else parse_schedule(text)
                planned.append(PlannedJob(spec, tenant, schedule))
        return planned

    def unknown_names(self) -> list[str]:
        """Job names in tenant files that the registry does not have."""
        return sorted(
            f"{t.config.id}: {n}"
            for t in self.gateway
            for n in t.config.jobs
            if n not in self.specs
        )

    def plan(self, name: str, tenant_id: str | None = None) -> list[PlannedJob]:
        """The planned entries of job ``name`` (one tenant's when ``tenant_id`` is given)."""
        if name not in self.specs:
            raise UnknownJob(f"no job {name!r} (see `ils-gateway jobs list`)")
        found = [p for p in self.plans() if p.spec.name == name]
        if not found:
            needs = "a tenant that can send mail" if self.specs[name].needs_mail else "the store"
            raise UnknownJob(f"job {name!r} needs {needs}")
        if tenant_id is not None:
            if not self.specs[name].per_tenant:
                raise UnknownJob(f"job {name!r} runs for every tenant at once: no --tenant")
            found = [p for p in found if p.tenant_id == tenant_id]
            if not found:
                raise UnknownJob(f"no tenant {tenant_id!r}")
        return found

    async def run(self, plan: PlannedJob, *, force: bool = False) -> RunResult:
        """Run one planned job now under its locks (see the module docstring); a job that
        takes none (the outbox drain) runs in every process that asks."""
        now = self.clock()
        if not plan.spec.locked:
            if plan.schedule is None and not force:
                return RunResult(plan.key, OFF)
            return await self._run(plan, now)
        slot_name: str | None = None
        slot_ttl = timedelta(0)
        if not force:
            if plan.schedule is None:
                return RunResult(plan.key, OFF)
            slot = plan.schedule.previous(now, plan.timezone)
            following = plan.schedule.following(now, plan.timezone)
            if slot is None or following is None:
                return RunResult(plan.key, OFF)
            slot_name = f"slot:{plan.key}:{slot.astimezone(UTC):%Y%m%dT%H%M%S}"
            slot_ttl = following - now + timedelta(minutes=1)
        run_name = f"run:{plan.key}"
        if not await self.locks.acquire(run_name, self.holder, plan.spec.max_runtime):
            return RunResult(plan.key, BUSY)
        try:
            if slot_name is not None and not await self.locks.acquire(
                slot_name, self.holder, slot_ttl
            ):
                return RunResult(plan.key, DONE)
            return await self._run(plan, now)
        finally:
            await self.locks.release(run_name, self.holder)

    async def _run(self, plan: PlannedJob, started: datetime) -> RunResult:
        tenant_id = plan.tenant_id or ""
        await self.history.started(plan.spec.name, tenant_id, started)
        perf = time.perf_counter()
        env = JobEnv(self.gateway, self.lists, self.clock, self.mail_routes)
        try:
            report = await plan.spec.run(env, plan.tenant)
        except Exception as exc:
            metrics.job_ran(plan.spec.name, False, time.perf_counter() - perf)
            log.exception("periodic job failed", job=plan.key)
            error = f"{type(exc).__name__}: {exc}"[:300]
            await self.history.finished(
                plan.spec.name, tenant_id, started, self.clock(), FAILED, error
            )
            return RunResult(plan.key, FAILED, error=error)
        metrics.job_ran(plan.spec.name, True, time.perf_counter() - perf)
        log.info("periodic job ran", job=plan.key)
        await self.history.finished(
            plan.spec.name, tenant_id, started, self.clock(), OK, _summary(report)
        )
        return RunResult(plan.key, OK, report)

    async def run_named(
        self, name: str, tenant_id: str | None = None, *, force: bool = False
    ) -> list[RunResult]:
        """Run job ``name`` (for one tenant, or every one it is planned for) now."""
        return [await self.run(plan, force=force) for plan in self.plan(name, tenant_id)]

    def scheduler(self, plans: Iterable[PlannedJob] | None = None) -> Any:
        """An ``AsyncIOScheduler`` with one job per planned entry that has a schedule (not
        started). Each runs once at start (a run time missed while no process ran is caught up
        then; one already run is skipped), then on its schedule. Runs that fall behind are
        coalesced into one; one instance per entry."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        # Its own INFO lines ("Running job …") repeat ours ("periodic job ran"); warnings stay.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(timezone=UTC)
        started = datetime.now(UTC)  # APScheduler keeps the wall clock's time
        for plan in self.plans() if plans is None else plans:
            if plan.schedule is None:
                continue
            scheduler.add_job(
                self._scheduled,
                trigger=plan.schedule.apscheduler(plan.timezone),
                args=[plan],
                id=plan.key,
                name=plan.key,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=300,
                next_run_time=started,
            )
        return scheduler

    async def _scheduled(self, plan: PlannedJob) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self.run(plan)
        except asyncio.CancelledError:  # ``stop``: the app is shutting down (its lock expires)
            log.info("periodic job stopped at shutdown", job=plan.key)
        except Exception:  # the locks or the run record failed (Redis, store down)
            log.exception("periodic job could not run", job=plan.key)
        finally:
            if task is not None:
                self._running.discard(task)

    async def stop(self, scheduler: Any) -> None:
        """Stop ``scheduler`` and cancel the runs still under way (their locks expire)."""
        if scheduler.running:
            scheduler.shutdown(wait=False)  # AsyncIOScheduler: done by call_soon_threadsafe
            await asyncio.sleep(0)  # …so let the loop run it before going on
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _summary(report: Any) -> str | None:
    if report is None:
        return None
    return repr(report)[:500]


def gateway_jobs(
    gateway: Gateway,
    lists: MyLists | None,
    redis: Any,
    settings: GatewaySettings,
    clock: Clock | None = None,
) -> GatewayJobs:
    """The jobs of one runtime: its gateway, store and Redis, and the mail routes of its
    tenants (a tenant that cannot send is logged: its mails wait in the outbox)."""
    clock = clock or settings.clock
    mail = settings.mail
    routes, why_not = mail_routes([t.config for t in gateway], mail.smtp, mail.sender)
    for tenant_id, why in why_not.items():
        log.warning(
            "mail is not configured; the tenant's mails are kept in the outbox",
            tenant=tenant_id,
            why=why,
        )
    drain = None if mail.drain_interval is None else Every(max(1, int(mail.drain_interval)))
    return GatewayJobs(
        gateway=gateway,
        lists=lists,
        locks=job_locks(redis, lists, settings.redis_prefix, epoch_seconds(clock)),
        history=job_history(lists),
        clock=clock,
        mail_routes=routes,
        overrides={"drain_outbox": drain},
    )


#: Where the cleanup context keeps the running scheduler, when it starts with the app (no
#: ``start_delay``; tests look at its jobs).
SCHEDULER_KEY: web.AppKey[Any] = web.AppKey("job_scheduler")


def jobs_context(
    only: Iterable[str] | None = None, *, start_delay: float = 0.0
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the jobs (``only`` those names, when given) on an
    ``AsyncIOScheduler`` while the app runs. With ``start_delay`` (``serve``), the scheduler
    is made and started that many seconds after the app starts, so that the port opens and
    answers first (issue 17, start-up: APScheduler's import and the runs at start); an app
    stopped before then runs no job."""
    wanted = None if only is None else set(only)

    async def context(app: web.Application) -> AsyncIterator[None]:
        jobs = gateway_jobs(app[GATEWAY_KEY], app[STORE_KEY], app[REDIS_KEY], app[SETTINGS_KEY])
        for problem in jobs.unknown_names():
            log.warning("unknown job in [tenants.jobs]", job=problem)
        plans = [p for p in jobs.plans() if wanted is None or p.spec.name in wanted]
        running: list[Any] = []

        def start() -> None:
            scheduler = jobs.scheduler(plans)
            scheduler.start()
            running.append(scheduler)

        later = None
        if start_delay > 0:
            later = asyncio.get_running_loop().call_later(start_delay, start)
        else:
            start()
            app[SCHEDULER_KEY] = running[0]
        try:
            yield
        finally:
            if later is not None:
                later.cancel()
            for scheduler in running:
                await jobs.stop(scheduler)

    return context


__all__ = [
    "BUSY",
    "DONE",
    "FAILED",
    "OFF",
    "OK",
    "SCHEDULER_KEY",
    "GatewayJobs",
    "PlannedJob",
    "RunResult",
    "UnknownJob",
    "gateway_jobs",
    "jobs_context",
]
