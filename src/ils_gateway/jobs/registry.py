"""Every periodic job, declared once: name, what it does, per tenant or global, default
schedule, the longest a run may hold its lock, and the coroutine that runs it.

A tenant file may give a per-tenant job another schedule (``[tenants.jobs]``, see
``ils_gateway.tenants.jobs``); the scheduler (``jobs.schedule``), ``ils-gateway jobs list|run``
and the Kubernetes CronJobs (deploy/k8s/cronjobs.yaml, one per job) all read this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ils_gateway.domain.clock import Clock, system_clock
from ils_gateway.mail.drain import MailRoute, drain_outbox
from ils_gateway.mail.outbox import Outbox
from ils_gateway.runtime.tenant import Gateway, TenantRuntime
from ils_gateway.services.mylists.history_capture import capture_reading_history
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.services.mylists.sequence_enforcement import enforce_hold_sequences
from ils_gateway.services.retention import purge_account_tokens, purge_sent_mail
from ils_gateway.services.sdi import run_sdi
from ils_gateway.tenants.jobs import Cron, Every, Schedule


@dataclass(frozen=True)
class JobEnv:
    """What a job runs with: every tenant's runtime and the list services (None: no store)."""

    gateway: Gateway
    lists: MyLists | None
    clock: Clock = system_clock
    #: How each tenant that can send mail sends it (``mail.drain.mail_routes``), by id.
    mail_routes: Mapping[str, MailRoute] = field(default_factory=dict)


JobRun = Callable[[JobEnv, TenantRuntime | None], Awaitable[Any]]


@dataclass(frozen=True)
class JobSpec:
    """One periodic job."""

    name: str
    description: str
    per_tenant: bool
    schedule: Schedule
    run: JobRun
    #: The longest one run may hold the job's lock (a process that dies loses it then).
    max_runtime: timedelta = timedelta(minutes=15)
    #: Runs only with a gateway store (the list services, the roster, the ledger).
    needs_store: bool = True
    #: False: every process runs it at once, without locks (the outbox drain: the outbox's
    #: own claims give each mail to one drainer).
    locked: bool = True
    #: Runs only when some tenant can send mail.
    needs_mail: bool = False


async def _capture(env: JobEnv, tenant: TenantRuntime | None) -> Any:
    assert tenant is not None and env.lists is not None
    lists = env.lists
    return await capture_reading_history(
        lists.store, lists.history, tenant.config, tenant.context.backend, lists.roster
    )


async def _sequences(env: JobEnv, tenant: TenantRuntime | None) -> Any:
    assert tenant is not None and env.lists is not None
    lists = env.lists
    return await enforce_hold_sequences(
        lists.store,
        lists.sequences,
        tenant.config,
        tenant.context.backend,
        lists.roster,
        lists.or_holds,
    )


async def _purge(env: JobEnv, tenant: TenantRuntime | None) -> Any:
    assert env.lists is not None
    # The store's job leases: a mark per run time is kept until the next; old ones go here.
    await env.lists.store.job_runs.purge_leases(env.clock(), timedelta(days=1))
    return await env.lists.cancelled.purge(runtime.config for runtime in env.gateway)


async def _purge_tokens(env: JobEnv, tenant: TenantRuntime | None) -> Any:
    assert env.lists is not None
    return await purge_account_tokens(env.lists.store, env.clock)


async def _purge_mail(env: JobEnv, tenant: TenantRuntime | None) -> Any:
    assert env.lists is not None
    return await purge_sent_mail(env.lists.store, env.clock)


async def _drain(env: JobEnv, tenant: TenantRuntime | None) -> Any:
    assert env.lists is not None
    report = await drain_outbox(env.lists.store.outbox, env.mail_routes, clock=env.clock)
    return report.as_dict()


async def _new_arrivals(env: JobEnv, tenant: TenantRuntime | None) -> Any:
    assert tenant is not None and env.lists is not None
    if not tenant.config.sdi.enabled:
        return "new-arrival alerts off"
    # run_sdi keeps the tenant's own schedule ([tenants.sdi] schedule, e.g. "sat 15:30"): this
    # job only asks it often whether a scheduled instant has passed since its last run.
    store = env.lists.store
    report = await run_sdi(tenant.config, env.clock(), store=store, outbox=Outbox(store.outbox))
    return report


def _notices(event: str) -> JobRun:
    async def run(env: JobEnv, tenant: TenantRuntime | None) -> Any:
        assert tenant is not None
        if tenant.notices is None:
            return "no store: no notices"
        return await tenant.notices.poll(event)

    run.__name__ = f"notices_{event}"
    return run


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "capture_reading_history",
            "Record the loans of patrons with reading history on (returns between logins).",
            per_tenant=True,
            schedule=Every(3600),
            run=_capture,
        ),
        JobSpec(
            "enforce_hold_sequences",
            "Release the next hold of each hold sequence once the one before has arrived;"
            " cancel the other holds of an OR-hold once one is filled.",
            per_tenant=True,
            schedule=Every(600),
            run=_sequences,
        ),
        JobSpec(
            "purge_cancelled_holds",
            "Delete cancelled-hold entries past each tenant's retention.",
            per_tenant=False,
            schedule=Every(6 * 3600),
            run=_purge,
        ),
        JobSpec(
            "purge_account_tokens",
            "Delete account link tokens used or expired more than a day ago.",
            per_tenant=False,
            schedule=Every(6 * 3600),
            run=_purge_tokens,
        ),
        JobSpec(
            "purge_sent_mail",
            "Delete sent mails after 30 days and failed ones nobody retried after 90.",
            per_tenant=False,
            schedule=Every(6 * 3600),
            run=_purge_mail,
        ),
        JobSpec(
            "drain_outbox",
            "Send the mail outbox's due mails (every process; the outbox's claims share them).",
            per_tenant=False,
            schedule=Every(60),
            run=_drain,
            locked=False,
            needs_mail=True,
        ),
        JobSpec(
            "send_new_arrival_alerts",
            "New-arrival (SDI) mails at each tenant's schedule, one per patron with matches.",
            per_tenant=True,
            schedule=Every(900),
            run=_new_arrivals,
        ),
        JobSpec(
            "notices_hold_ready",
            "Hold ready notices (mail, or the staff's call list) for patrons who opted in.",
            per_tenant=True,
            schedule=Every(900),
            run=_notices("hold_ready"),
        ),
        JobSpec(
            "notices_ebook_hold_ready",
            "E-book hold ready mails, from the e-library, for patrons who opted in.",
            per_tenant=True,
            schedule=Every(900),
            run=_notices("ebook_hold_ready"),
        ),
        JobSpec(
            "notices_due_reminder",
            "Due-date reminders N days before (opt-in), in the tenant's morning.",
            per_tenant=True,
            schedule=Cron("0 9 * * *"),
            run=_notices("due_reminder"),
        ),
        JobSpec(
            "notices_overdue",
            "Overdue notices for loans past their due date.",
            per_tenant=True,
            schedule=Cron("0 10 * * *"),
            run=_notices("overdue"),
        ),
    )
}
