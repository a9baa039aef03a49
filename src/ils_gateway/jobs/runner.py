"""Repeat a job on an interval until told to stop.

The wait is on an ``asyncio.Event`` so stopping is immediate and tests never sleep. When several
gateway processes run, each runs its jobs: every job here is safe to run twice at once (records
are deduplicated, purges and releases are idempotent), so no cross-process lock is needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from ils_gateway.observability import metrics

log = structlog.get_logger(__name__)


async def every(
    interval_seconds: float, job: Callable[[], Awaitable[object]], stop: asyncio.Event
) -> int:
    """Run ``job`` now and then every ``interval_seconds`` until ``stop`` is set; returns runs.

    A failing run is logged and the next one goes ahead. Each run is counted
    (``ils_gateway_job_runs_total`` by job name and outcome, and its duration).
    """
    runs = 0
    name = getattr(job, "__name__", "job")
    while not stop.is_set():
        started = time.perf_counter()
        ok = True
        try:
            await job()
        except Exception:
            ok = False
            log.exception("periodic job failed", job=getattr(job, "__name__", repr(job)))
        metrics.job_ran(name, ok, time.perf_counter() - started)
        runs += 1
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
        except TimeoutError:
            pass
    return runs
