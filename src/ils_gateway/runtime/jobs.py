"""What the periodic jobs share across processes, as this deployment has it (issue 18).

``job_locks``: Redis (``SET NX PX``) when Redis is configured; else the store's ``job_leases``
table (every process on one database agrees); else this process's memory. ``job_history``:
the store's ``job_runs`` (``ils-gateway jobs list`` reads it), else memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ils_gateway.domain.clock import EpochSeconds
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


__all__ = ["JobHistory", "MemoryJobHistory", "job_history", "job_locks"]
