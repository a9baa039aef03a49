"""The job scheduler: leases across processes, intervals, a clean stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from mylists_support import SECRET, Clock, Library, make_tenant

from ils_gateway.jobs.schedule import JobIntervals, JobScheduler
from ils_gateway.services.context import TenantContext
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.store.store import Store


def _scheduler(
    store: Store, library: Library, clock: Clock, holder: str, **intervals
) -> JobScheduler:
    lists = MyLists.build(store, SECRET, clock)
    tenant = TenantContext(config=make_tenant(), backend=library.backend, clock=clock)
    return JobScheduler(lists, [tenant], JobIntervals(**intervals), holder=holder)


async def test_one_process_runs_a_job_per_lease_and_another_takes_over_after_it(
    store: Store, open_test_store, library: Library, clock: Clock
) -> None:
    async with open_test_store() as second_store:
        first = _scheduler(store, library, clock, "one")
        second = _scheduler(second_store, library, clock, "two")
        lease = timedelta(minutes=10)
        assert await first.run_once("purge_cancelled_holds", lease) == {"testlib": 0}
        assert await second.run_once("purge_cancelled_holds", lease) is None
        assert await first.run_once("purge_cancelled_holds", lease) is not None  # its own lease
        clock.advance(minutes=10)
        assert await second.run_once("purge_cancelled_holds", lease) is not None
        assert await first.run_once("purge_cancelled_holds", lease) is None


async def test_jobs_without_an_interval_do_not_start_and_stop_is_clean(
    store: Store, library: Library, clock: Clock
) -> None:
    scheduler = _scheduler(
        store, library, clock, "one", capture_reading_history=None, enforce_hold_sequences=None
    )
    stop = asyncio.Event()
    stop.set()  # stopped before the first run: the tasks end without running
    tasks = scheduler.start(stop)
    assert [t.get_name() for t in tasks] == ["job:purge_cancelled_holds"]
    assert await asyncio.gather(*tasks) == [0]
