"""Start-up cost of the command line and of ``serve`` (issue 17), each beside a bare baseline.

Plain script: ``.venv/bin/python benchmarks/startup.py [--runs N]``. Every figure is the median
of N runs (default 7), each a fresh process started the way a user starts it:

- ``ils-gateway --help``: wall time and CPU (user + system, from the child's rusage), beside a
  bare ``python -c pass`` started the same way. Target: ≤ 0.3 s.
- ``ils-gateway serve`` with no options (the zero-config demo: embedded SIP2 simulator, SQLite
  store in a scratch directory, kiosk face) until the first 200 on ``/healthz``: the child's CPU
  at that moment (``/proc/PID/stat``; on a system without ``/proc``, the rusage at exit, which
  includes shutting down) and the wall time, beside a bare aiohttp app whose only route is
  ``/healthz``, started as ``python -c …`` and polled the same way. Target: ≤ 1 s of CPU.
  Also the CPU 1.5 s after that first 200 (``SETTLE``): ``serve`` leaves the tenants' warm-up
  and its jobs' runs at start until 0.5 s after the port opens, and this figure includes them.
  A first, unmeasured ``serve`` creates the demo's store (migrations) and the bytecode caches,
  as the first ``./scripts/serve`` does; the runs measured start on an existing store, the
  usual case. The children run without ``PYTHONDONTWRITEBYTECODE`` (see ``ENV``).

CPU time rather than wall time is the figure to compare: on a shared machine the wall time
includes waiting for a core. The poller sleeps 5 ms between attempts and is not counted.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
GATEWAY = str(BIN / "ils-gateway")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Seconds after the first 200 at which the CPU is read again: past the delay after which
# serve warms its caches and runs its jobs' runs at start (api.server.SETTLE_DELAY, 0.5 s).
SETTLE = 1.5

BARE_APP = """
import sys
from aiohttp import web

async def healthz(request):
    return web.json_response({"status": "ok"})

app = web.Application()
app.router.add_get("/healthz", healthz)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    settled: float | None = None  # CPU SETTLE seconds after the first 200 (serve only)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# As a user's shell runs it: bytecode is cached (some sandboxes set PYTHONDONTWRITEBYTECODE,
# which makes every start compile the package from source: about 1 s more of CPU for serve).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_to_exit(args: list[str], cwd: str) -> Run:
    """A command to completion: wall time and the child's CPU (rusage of the reaped child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{args} exited with {proc.returncode}")
    return Run(wall, usage.ru_utime + usage.ru_stime)


def proc_cpu(pid: int) -> float | None:
    """The process's CPU so far (user + system), from /proc; None where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def run_to_healthz(args: list[str], port: int, cwd: str, timeout: float = 120.0) -> Run:
    """A server until its first 200 on /healthz: wall time and its CPU at that moment, and
    its CPU ``SETTLE`` seconds later (the work ``serve`` leaves until after its first answers:
    the tenants' warm-up, the jobs' runs at start)."""
    url = f"http://127.0.0.1:{port}/healthz"
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise SystemExit(f"{args} exited with {proc.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"{args}: no 200 on /healthz after {timeout} s")
            time.sleep(0.005)
        wall = time.perf_counter() - start
        cpu = proc_cpu(proc.pid)
        time.sleep(SETTLE)
        settled = proc_cpu(proc.pid)
    finally:
        if proc.returncode is None:  # (poll() reaped it if it exited)
            proc.send_signal(signal.SIGTERM)
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0
    if cpu is None:
        return Run(wall, usage.ru_utime + usage.ru_stime)
    return Run(wall, cpu, settled)


def median(runs: list[Run]) -> Run:
    settled = [r.settled for r in runs if r.settled is not None]
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(settled) if settled else None,
    )


def row(name: str, result: Run, bare: Run) -> str:
    return (
        f"{name:<34} {result.wall:7.3f} s wall {result.cpu:7.3f} s CPU   "
        f"× bare: {result.wall / bare.wall:5.1f} wall {result.cpu / max(bare.cpu, 1e-3):5.1f} CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    # The demo tenant's kiosk face listens on 127.0.0.1:6011: one demo server at a time on this
    # machine (the tests that start one take the same lock).
    lock = open(Path("/tmp") / "ils-gateway-demo-kiosk-6011.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    with lock, tempfile.TemporaryDirectory(prefix="ils-startup-") as scratch:
        run_to_exit([GATEWAY, "--help"], scratch)  # writes the bytecode caches, if missing
        help_runs = [run_to_exit([GATEWAY, "--help"], scratch) for _ in range(runs)]
        python_runs = [run_to_exit([sys.executable, "-c", "pass"], scratch) for _ in range(runs)]
        serve = [GATEWAY, "serve", "--host", "127.0.0.1", "--port"]
        run_to_healthz([*serve, str(port := free_port())], port, scratch)  # creates the store
        serve_runs = []
        bare_runs = []
        for _ in range(runs):  # interleaved, so that both see the same load
            port = free_port()
            serve_runs.append(run_to_healthz([*serve, str(port)], port, scratch))
            port = free_port()
            bare_runs.append(
                run_to_healthz([sys.executable, "-c", BARE_APP, str(port)], port, scratch)
            )
    print(f"start-up, median of {runs} runs ({os.cpu_count()} cores)")
    print(row("ils-gateway --help", median(help_runs), median(python_runs)))
    print(row("  bare: python -c pass", median(python_runs), median(python_runs)))
    print(row("serve (demo) to first /healthz 200", median(serve_runs), median(bare_runs)))
    print(row("  bare aiohttp app to /healthz 200", median(bare_runs), median(bare_runs)))
    serve_settled, bare_settled = median(serve_runs).settled, median(bare_runs).settled
    if serve_settled is not None and bare_settled is not None:
        print(
            f"{'serve, CPU ' + str(SETTLE) + ' s after that 200':<34} {serve_settled:7.3f} s CPU"
            f"{'':17}× bare: {serve_settled / max(bare_settled, 1e-3):5.1f} CPU "
            f"(bare {bare_settled:.3f} s; the warm-up and jobs' first runs, left until then)"
        )
    help_cpu, serve_cpu = median(help_runs).cpu, median(serve_runs).cpu
    print(
        f"targets: --help ≤ 0.3 s CPU ({'met' if help_cpu <= 0.3 else 'NOT met'}); "
        f"serve ≤ 1 s CPU to /healthz ({'met' if serve_cpu <= 1.0 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
