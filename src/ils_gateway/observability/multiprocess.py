"""Prometheus metrics across several worker processes (prometheus-client's multi-process mode).

prometheus-client picks how a metric keeps its value when ``prometheus_client`` is first
imported: in shared memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR`` when that variable
is set, else in the process. So a run of several workers calls ``prepare_multiprocess_dir`` in
the parent *before* anything imports ``prometheus_client`` (``ils_gateway.observability.metrics``
does when the first metric is touched) and before the workers start; the workers inherit the
variable, and ``/metrics`` in any of them then answers for all (``MultiProcessCollector``). When
a worker ends, the parent calls ``worker_exited(pid)`` so that its live gauges (SIP2 pool
connections, breaker states) stop counting.

This module imports no ``prometheus_client`` at import time (only inside ``worker_exited``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Path | None:
    """The directory metrics are shared through, or None in one-process mode."""
    value = os.environ.get(ENV) or os.environ.get(ENV.lower())
    return Path(value) if value else None


def prepare_multiprocess_dir(path: Path | str | None = None) -> Path:
    """Set up ``path`` (a fresh temporary directory when None; else the directory emptied of a
    previous run's ``*.db`` files) and point ``PROMETHEUS_MULTIPROC_DIR`` at it.

    Call once per run, in the parent process, before ``prometheus_client`` is imported and
    before the workers start. Raises ``RuntimeError`` when ``prometheus_client`` was imported
    already without the variable (its metrics would then stay per process).
    """
    import sys

    if "prometheus_client" in sys.modules and multiprocess_dir() is None:
        raise RuntimeError(
            "prometheus_client was imported before the multi-process directory was set: "
            "call prepare_multiprocess_dir() first"
        )
    if path is None:
        target = Path(tempfile.mkdtemp(prefix="ils-gateway-metrics-"))
    else:
        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        for stale in target.glob("*.db"):  # a previous run's counters must not add up
            stale.unlink()
    os.environ[ENV] = str(target)
    return target


def remove_multiprocess_dir(path: Path) -> None:
    """Delete a directory ``prepare_multiprocess_dir`` made (at the end of the run)."""
    shutil.rmtree(path, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """Tell prometheus-client that worker ``pid`` ended (its live gauges stop counting)."""
    if multiprocess_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
