"""The job scheduler: one run per scheduled time across processes (Redis, the store, memory),
never two at once, schedules per tenant in the tenant's time zone, APScheduler wiring."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ils_gateway.domain.clock import ManualClock, epoch_seconds
from ils_gateway.jobs.registry import JOBS, JobEnv, JobSpec
from ils_gateway.jobs.schedule import GatewayJobs, UnknownJob
from ils_gateway.runtime.jobs import MemoryJobHistory
from ils_gateway.runtime.tenant import Gateway
from ils_gateway.state.joblocks import JobLocks, MemoryJobLocks, RedisJobLocks
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.jobs import JOB_NAMES, Cron, Every, parse_schedule
from ils_gateway.tenants.loader import parse_tenants

NOW = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # Saturday 15:30 in Tokyo
TOKYO = ZoneInfo("Asia/Tokyo")
TEN_MINUTES = Every(600)


def _tenant(tenant_id: str, jobs: str = "") -> Any:
    text = f"""
[[tenants]]
id = "{tenant_id}"
name = "図書館"
[tenants.backend]
kind = "koha"
base_url = "http://127.0.0.1:9"
client_id = "gw"
client_secret = "s"
[tenants.jobs]
{jobs}
"""
    config = parse_tenants(text, "<test>").tenants[0]
    return SimpleNamespace(config=config)  # what the scheduler reads of a TenantRuntime


class Counting:
    """A job that counts its runs and can be held open by the test."""

    def __init__(self) -> None:
        self.runs: list[str | None] = []
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()

    async def __call__(self, env: JobEnv, tenant: Any) -> str:
        self.runs.append(None if tenant is None else tenant.config.id)
        self.started.set()
        await self.release.wait()
        return "ran"


def _jobs(
    locks: JobLocks,
    clock: Callable[[], datetime],
    job: Counting,
    holder: str,
    tenants: tuple[Any, ...] = (),
    schedule: Any = TEN_MINUTES,
    per_tenant: bool = False,
) -> GatewayJobs:
    spec = JobSpec("notices_overdue", "test job", per_tenant, schedule, job, needs_store=False)
    gateway = Gateway({t.config.id: t for t in tenants})
    return GatewayJobs(
        gateway, None, locks, MemoryJobHistory(), clock, holder, {"notices_overdue": spec}
    )


async def _two_processes_one_run(locks_one: JobLocks, locks_two: JobLocks) -> None:
    clock = ManualClock(NOW)
    job = Counting()
    one = _jobs(locks_one, clock, job, "process-1")
    two = _jobs(locks_two, clock, job, "process-2")
    results = await asyncio.gather(
        one.run_named("notices_overdue"), two.run_named("notices_overdue")
    )
    outcomes = sorted(r[0].outcome for r in results)
    assert outcomes in (["busy", "ok"], ["done", "ok"])
    assert job.runs == [None]
    clock.advance(minutes=10)  # the next run time: whichever process comes first runs it
    assert [r.outcome for r in await two.run_named("notices_overdue")] == ["ok"]
    assert [r.outcome for r in await one.run_named("notices_overdue")] == ["done"]
    assert len(job.runs) == 2


async def test_two_schedulers_on_one_store_run_a_job_once(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    url = default_url(tmp_path / "jobs.db")
    opened = [open_store(url, secret=b"x" * 32, kdf=KdfParams.minimal(), clock=clock)]
    async with opened[0] as first:
        async with open_store(url, secret=b"x" * 32, kdf=KdfParams.minimal(), clock=clock) as s:
            await _two_processes_one_run(first.leases, s.leases)
        # The marks of past run times are dropped a day after they expired (the purge job).
        later = NOW + timedelta(days=2)
        assert await first.job_runs.purge_leases(later, timedelta(days=1)) == 2
        assert await first.job_runs.purge_leases(later, timedelta(days=1)) == 0


async def test_two_schedulers_on_one_redis_run_a_job_once(
    redis_client: Any, redis_prefix: str
) -> None:
    await _two_processes_one_run(
        RedisJobLocks(redis_client, prefix=redis_prefix),
        RedisJobLocks(redis_client, prefix=redis_prefix),
    )


async def test_a_running_job_is_busy_elsewhere_even_when_forced() -> None:
    clock = ManualClock(NOW)
    locks = MemoryJobLocks(epoch_seconds(clock))
    job = Counting()
    job.release.clear()
    one = _jobs(locks, clock, job, "process-1")
    two = _jobs(locks, clock, job, "process-2")
    running = asyncio.create_task(one.run_named("notices_overdue"))
    await job.started.wait()
    assert [r.outcome for r in await two.run_named("notices_overdue", force=True)] == ["busy"]
    job.release.set()
    assert [r.outcome for r in await running] == ["ok"]
    # Forced, once the lock is free: runs although this run time was run.
    assert [r.outcome for r in await two.run_named("notices_overdue", force=True)] == ["ok"]


async def test_a_dead_process_loses_the_run_lock_after_the_jobs_max_runtime() -> None:
    clock = ManualClock(NOW)
    locks = MemoryJobLocks(epoch_seconds(clock))
    assert await locks.acquire("run:notices_overdue", "dead", timedelta(minutes=15))
    job = Counting()
    alive = _jobs(locks, clock, job, "alive")
    assert [r.outcome for r in await alive.run_named("notices_overdue")] == ["busy"]
    clock.advance(minutes=15)
    assert [r.outcome for r in await alive.run_named("notices_overdue")] == ["ok"]


async def test_redis_lock_renews_for_its_holder_and_releases_only_its_own(
    redis_client: Any, redis_prefix: str
) -> None:
    locks = RedisJobLocks(redis_client, prefix=redis_prefix)
    minute = timedelta(minutes=1)
    assert await locks.acquire("x", "a", minute)
    assert await locks.acquire("x", "a", minute)  # renewed
    assert not await locks.acquire("x", "b", minute)
    await locks.release("x", "b")  # not b's: stays
    assert not await locks.acquire("x", "b", minute)
    await locks.release("x", "a")
    assert await locks.acquire("x", "b", minute)


async def test_per_tenant_schedules_in_the_tenants_time_zone() -> None:
    clock = ManualClock(NOW)
    job = Counting()
    akiruno = _tenant("akiruno", 'notices_overdue = "cron 30 15 * * sat"')
    other = _tenant("other", 'notices_overdue = "off"')
    jobs = _jobs(
        MemoryJobLocks(epoch_seconds(clock)), clock, job, "p", (akiruno, other), Every(3600), True
    )
    plans = {p.key: p.describe() for p in jobs.plans()}
    assert plans == {
        "notices_overdue:akiruno": "cron 30 15 * * sat",
        "notices_overdue:other": "off",
    }
    results = await jobs.run_named("notices_overdue")
    assert [(r.key, r.outcome) for r in results] == [
        ("notices_overdue:akiruno", "ok"),
        ("notices_overdue:other", "off"),
    ]
    clock.advance(minutes=-1)  # Saturday 15:29 Tokyo: the run time is last Saturday's
    assert await jobs.run_named("notices_overdue", "akiruno") and job.runs == ["akiruno", "akiruno"]
    scheduler = jobs.scheduler()
    (aps,) = scheduler.get_jobs()  # pending: not started
    assert aps.id == "notices_overdue:akiruno"
    fire = aps.trigger.get_next_fire_time(None, NOW + timedelta(seconds=1))
    assert fire == datetime(2026, 12, 12, 15, 30, tzinfo=TOKYO)
    with pytest.raises(UnknownJob):
        await jobs.run_named("notices_overdue", "nowhere")
    with pytest.raises(UnknownJob):
        await jobs.run_named("nope")


async def test_the_scheduler_fires_a_due_job_on_the_event_loop() -> None:
    clock = ManualClock(NOW)
    job = Counting()
    jobs = _jobs(MemoryJobLocks(epoch_seconds(clock)), clock, job, "p")
    scheduler = jobs.scheduler()
    scheduler.start()
    try:
        scheduler.modify_job("notices_overdue", next_run_time=datetime.now(UTC))  # due now
        await asyncio.wait_for(job.started.wait(), 10)
    finally:
        await jobs.stop(scheduler)
    assert job.runs == [None]
    assert not scheduler.running


def test_schedules_parse_and_align() -> None:
    assert parse_schedule("every 15m") == Every(900)
    assert parse_schedule(" CRON 30 15 * * sat ") == Cron("30 15 * * sat")
    assert parse_schedule("off") is None
    for bad in ("every 5s", "cron 30 15 * *", "cron 99 15 * * sat", "weekly"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
    # Every process computes the same run times for an interval.
    assert Every(900).previous(NOW + timedelta(minutes=7), TOKYO) == NOW
    assert Cron("30 15 * * sat").previous(NOW - timedelta(minutes=1), TOKYO) == datetime(
        2026, 11, 28, 15, 30, tzinfo=TOKYO
    )


def test_tenant_files_may_schedule_exactly_the_per_tenant_jobs() -> None:
    assert {name for name, spec in JOBS.items() if spec.per_tenant} == JOB_NAMES
    with pytest.raises(Exception, match="notices_hold_redy"):
        _tenant("x", 'notices_hold_redy = "every 10m"')


def test_the_registry_keeps_the_existing_jobs_and_declares_the_notices() -> None:
    assert {
        "capture_reading_history",
        "enforce_hold_sequences",
        "purge_cancelled_holds",
        "purge_account_tokens",
        "purge_sent_mail",
        "notices_hold_ready",
        "notices_ebook_hold_ready",
        "notices_due_reminder",
        "notices_overdue",
    } <= set(JOBS)
    assert not JOBS["purge_cancelled_holds"].per_tenant
    assert not JOBS["purge_account_tokens"].per_tenant and not JOBS["purge_sent_mail"].per_tenant


def test_a_tenant_file_with_a_bad_schedule_names_the_job() -> None:
    with pytest.raises(Exception, match="notices_overdue"):
        _tenant("x", 'notices_overdue = "cron 61 * * * *"')
