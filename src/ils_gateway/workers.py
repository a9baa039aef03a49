"""``serve --workers N``: N processes on one port, each with its own event loop and Redis
client (issue 17).

The parent binds the port first with SO_REUSEPORT (a busy port or a bad address is one clear
line before anything starts; the bound socket keeps the port reserved but never listens, so it
takes no connections), then forks N workers. Each builds its app in its own process and
listens on the same port with SO_REUSEPORT: the kernel spreads connections over them. Sessions,
Idempotency-Keys, caches and limits must then live in Redis (``--redis``): ``workers_problem``
refuses N > 1 without it.

Signals: SIGTERM or SIGINT to the parent is passed to every worker, which shuts down
gracefully (``api.server.serve_app``: readiness off, requests in flight and SIP2 face
connections drained, then pools closed); the parent exits when they all have, with 0 if every
worker did. A worker that dies on its own makes the parent stop the others and exit 1 (the
process manager above, systemd or Kubernetes, restarts the whole).

``ServeHooks`` lets other parts prepare for many processes: ``before_fork`` runs in the parent
with N before any worker starts (e.g. a Prometheus multi-process directory for this run),
``worker_exited`` in the parent with each worker's pid as it ends (e.g. ``mark_process_dead``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from types import FrameType
from typing import Any


@dataclass
class ServeHooks:
    """Callbacks of the parent process around its workers (see the module docstring)."""

    before_fork: list[Callable[[int], None]] = field(default_factory=list)
    worker_exited: list[Callable[[int], None]] = field(default_factory=list)


HOOKS = ServeHooks()


def workers_problem(workers: int, redis_url: str | None, config: object | None) -> str | None:
    """Why ``serve --workers N`` cannot run as asked (one line), or None."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers == 1:
        return None
    if redis_url is None:
        return (
            f"--workers {workers} needs --redis URL (or ILS_GATEWAY_REDIS_URL): sessions "
            "in memory would not be shared between the worker processes"
        )
    if config is None:
        return "--workers N > 1 needs --config: the embedded demo library lives in one process"
    return None


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with SO_REUSEPORT, not listening: the port is ours
    and the workers may bind it too. ``OSError`` when it is busy or the address is bad."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _child(worker: Callable[[int], None], index: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):  # the parent's forwarding is not ours
        signal.signal(sig, signal.SIG_DFL)
    worker(index)


def run_workers(worker: Callable[[int], None], workers: int, hooks: ServeHooks = HOOKS) -> int:
    """Fork ``workers`` processes each running ``worker(index)``, pass SIGTERM/SIGINT on,
    wait for all; the exit status (0 when every worker ended well after a signal)."""
    for hook in hooks.before_fork:
        hook(workers)
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_child, args=(worker, i)) for i in range(workers)]
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)

    previous: dict[int, Any] = {
        sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for process in processes:
            process.start()
        if stopping:  # a signal came while starting them
            forward(signal.SIGTERM, None)
        running = list(processes)
        failed = False
        while running:
            ready = set(wait([process.sentinel for process in running]))
            for process in [p for p in running if p.sentinel in ready]:
                running.remove(process)
                process.join()
                for hook in hooks.worker_exited:
                    hook(process.pid or 0)
                if process.exitcode != 0:
                    failed = True
                if not stopping:  # died on its own: stop the others
                    forward(signal.SIGTERM, None)
                    failed = True
        return 1 if failed else 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
