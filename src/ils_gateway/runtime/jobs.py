"""What the periodic jobs share across processes, as this deployment has it (issue 18).

``job_locks``: Redis (``SET NX PX``) when Redis is configured; else the store's ``job_leases``
table (every process on one database agrees); else this process's memory. ``job_history``:
the store's ``job_runs`` (``ils-gateway jobs list`` reads it), else memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.runtime.assemble import open_gateway
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.shared import open_redis, shared_state
from ils_gateway.runtime.store import open_mylists
from ils_gateway.runtime.tenant import Gateway
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.state.joblocks import JobLocks, MemoryJobLocks, RedisJobLocks
from ils_gateway.store.notices import JobRun


class JobHistory(Protocol):
    """The last run of each job, per tenant ("" for a job over every tenant)."""

    async def started(self, name: str, tenant_id: str, at: datetime) -> None:
        """A run began."""
        ...

    async def finished(
        self,
        name: str,
        tenant_id: str,
        started: datetime,
        at: datetime,
        outcome: str,
        detail: str | None,
    ) -> None:
        """A run ended with ``outcome``."""
        ...

    async def last(self) -> list[JobRun]:
        """Every job's last run."""
        ...


@dataclass
class MemoryJobHistory:
    """Job runs kept in this process (no store)."""

    runs: dict[tuple[str, str], JobRun] = field(default_factory=dict)

    async def started(self, name: str, tenant_id: str, at: datetime) -> None:
        self.runs[name, tenant_id] = JobRun(name, tenant_id, at, None, "running", None)

    async def finished(
        self,
        name: str,
        tenant_id: str,
        started: datetime,
        at: datetime,
        outcome: str,
        detail: str | None,
    ) -> None:
        self.runs[name, tenant_id] = JobRun(name, tenant_id, started, at, outcome, detail)

    async def last(self) -> list[JobRun]:
        return [self.runs[key] for key in sorted(self.runs)]


def job_locks(redis: Any, lists: MyLists | None, prefix: str, clock: EpochSeconds) -> JobLocks:
    """The job locks: in Redis when there is one, else in the store, else in memory."""
    if redis is not None:
        return RedisJobLocks(redis, prefix=prefix)
    if lists is not None:
        return lists.store.leases
    return MemoryJobLocks(clock)


def job_history(lists: MyLists | None) -> JobHistory:
    """Where job runs are recorded: the store's ``job_runs``, else memory."""
    if lists is not None:
        return lists.store.job_runs
    return MemoryJobHistory()


@dataclass(frozen=True)
class OpenRuntime:
    """The runtime as ``ils-gateway jobs`` opens it outside an aiohttp app."""

    gateway: Gateway
    lists: MyLists | None
    redis: Any
    settings: GatewaySettings


@asynccontextmanager
async def open_runtime(settings: GatewaySettings) -> AsyncIterator[OpenRuntime]:
    """Start what ``serve`` starts before its faces (embedded simulators, Redis, the shared
    state, the store, every tenant's runtime), in the same order; closed in reverse."""
    async with AsyncExitStack() as stack:
        for resource in settings.extra_cleanups:
            steps = resource()
            await anext(steps)
            stack.push_async_callback(_finish, steps)
        redis = await stack.enter_async_context(open_redis(settings))
        shared = shared_state(settings, redis)
        lists = None
        if settings.store is not None:
            lists = await stack.enter_async_context(open_mylists(settings.store, settings.clock))
        gateway = await stack.enter_async_context(open_gateway(settings, shared, lists))
        yield OpenRuntime(gateway, lists, redis, settings)


async def _finish(steps: AsyncIterator[None]) -> None:
    with contextlib.suppress(StopAsyncIteration):
        await anext(steps)


__all__ = [
    "JobHistory",
    "MemoryJobHistory",
    "OpenRuntime",
    "job_history",
    "job_locks",
    "open_runtime",
]
