"""Writes under injected faults, run as deployed (issue 13): is each write done exactly once,
and does every client learn what happened?

Run::

    .venv/bin/python benchmarks/faults.py                      # 1,000 operations, seed 13
    .venv/bin/python benchmarks/faults.py --operations 200 --fault-rate 0.5 --seed 7

Three processes and the clients:

- the library system: the SIP2 simulator over the seeded sample library (``_ils.py``, the
  same simulator as ``ils-gateway simulate sip2 --data FILE``; ``--backend koha``: the Koha
  REST simulator, as ``ils-gateway simulate koha``), with house rules under which
  every operation may succeed (``_faultload.prepare_library``: unlimited renewals of 14 days
  counted from the old due date, so a renewal made twice moves the due date 28 days), and a
  side port where the benchmark reads the library's own records;
- a fault-injecting TCP proxy (``_faultproxy.FaultProxy``, in this process) in front of it
  (for Koha an HTTP proxy, ``_faultproxy.HttpFaultProxy``, with the same faults);
- the gateway: ``ils-gateway serve --config <generated tenant file> --store <temp SQLite>``,
  whose backend is the proxy (backend timeouts ``--ils-timeout`` s, 2 by default;
  ``default``: the tenant file's defaults, 10 s);
- one portal client per demo patron, concurrently, each running renew / place-hold /
  change-pickup / cancel operations one after another through the HTTP API over real sockets,
  retrying a failed call with the same Idempotency-Key (at most 4 tries, backoff from 0.25 s).

Before ``--fault-rate`` of the operations (random, seeded) the proxy is armed for that
operation's write (SIP2 29, 15+, 15*, 15- for that patron; Koha's POST renewal, POST
hold, PUT pickup_location, DELETE hold): drop before forwarding, drop
after forwarding (the ACS acts, the answer is lost), drop mid-answer, carry out then go silent
for ``--silence`` s (longer than the gateway waits), or answer ``--delay`` s late. Afterwards
every operation is judged against the library's records; the definitions of *lost*,
*doubled*, *contradicted* and *still-unknown* are in ``benchmarks/_faultload.py``. Targets:
0 lost, 0 doubled, still-unknown <= 1 %. The gateway's and the ILS's logs are kept in the
temporary directory printed at the start (``--keep`` keeps it). The exit code is 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faultload import (
    TENANT,
    Workload,
    holdable_titles,
    prepare_library,
    summarise,
    tenant_toml,
)
from _faultproxy import FaultProxy, HttpFaultProxy

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LOGIN = "gateway:faults-bench-pass"
PATRONS = [("1000000001", "hanako01"), ("1000000006", "yui00006"), ("1000000009", "naoki009")]
PATRONS += [(f"10000000{n}", f"pass00{n}") for n in range(14, 21)]


def free_port() -> int:
    """A port nobody listens on now (the gateway's ``serve`` takes a fixed ``--port``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process (stdout piped, stderr to ``log``), terminated on exit."""
    with open(log, "w") as err:
        child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def ils_ready(child: subprocess.Popen[str], timeout: float = 60) -> dict[str, int]:
    """The ports ``_ils.py`` printed on its READY line."""
    deadline = time.monotonic() + timeout
    assert child.stdout is not None
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("READY"):
            return {k: int(v) for k, v in (part.split("=") for part in line.split()[1:])}
        if not line and child.poll() is not None:
            break
    raise RuntimeError("the ILS process did not start (see its log)")


async def wait_healthy(base: str, exited: Callable[[], bool], within: float = 60) -> None:
    """Poll ``/healthz`` until the gateway answers (``exited``: has its process ended)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if exited():
                raise RuntimeError("the gateway exited (see its log)")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError("the gateway did not come up")


def write_dataset(path: Path, seed: int) -> dict[int, list[str]]:
    """The sample library with the benchmark's house rules, as a ``--data`` file."""
    from ils_gateway.simulators.sample_data import sample_library

    library = sample_library(seed)
    prepare_library(library)
    path.write_text(library.to_json(), encoding="utf-8")
    return holdable_titles(library)


async def run(args: argparse.Namespace, work: Path) -> int:
    titles = write_dataset(work / "library.json", args.data_seed)
    ils_args = [sys.executable, str(HERE / "_ils.py"), "--data", str(work / "library.json")]
    ils_args += ["--login", LOGIN, "--backend", args.backend]
    with process(ils_args, work / "ils.log") as ils:
        ports = ils_ready(ils)
        proxy: FaultProxy | HttpFaultProxy
        if args.backend == "koha":
            upstream = f"http://127.0.0.1:{ports['koha']}"
            proxy = HttpFaultProxy(upstream, silence=args.silence, delay=args.delay)
        else:
            proxy = FaultProxy("127.0.0.1", ports["sip2"], silence=args.silence, delay=args.delay)
        await proxy.start()
        config = work / "tenants.toml"
        password = LOGIN.split(":")[1]
        config.write_text(
            tenant_toml(
                proxy.port, timeout=args.ils_timeout, login_password=password, backend=args.backend
            ),
            encoding="utf-8",
        )
        port = free_port()
        serve = [str(BIN / "ils-gateway"), "serve", "--config", str(config), "--port", str(port)]
        serve += ["--store", f"sqlite+aiosqlite:///{work / 'store.sqlite3'}"]
        env_log = work / "gateway.log"
        with process(serve, env_log) as gateway:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, lambda: gateway.poll() is not None)
            state_url = f"http://127.0.0.1:{ports['state']}/patrons/"
            async with aiohttp.ClientSession() as reader:

                async def snapshot(card: str) -> dict[str, Any]:
                    async with reader.get(state_url + card) as response:
                        return await response.json()

                workload = Workload(
                    base=base,
                    proxy=proxy,
                    snapshot=snapshot,
                    patrons=PATRONS,
                    titles=titles,
                    operations=args.operations,
                    fault_rate=args.fault_rate,
                    seed=args.seed,
                    backend=args.backend,
                )
                started = time.perf_counter()
                ops = await workload.run()
                took = time.perf_counter() - started
                await workload.settle(wait=args.silence + 5)
            await proxy.close()
    timeouts = "the tenant's defaults" if args.ils_timeout is None else f"{args.ils_timeout} s"
    title = (
        f"fault run: {len(ops)} operations, fault rate {args.fault_rate:.0%}, seed {args.seed}, "
        f"{len(PATRONS) - len(workload.logins_failed)} clients, {took:.0f} s; gateway backend "
        f"timeouts {timeouts}, silence {args.silence} s, delay {args.delay} s "
        f"(tenant '{TENANT}', backend {args.backend})"
    )
    summary = summarise(ops, title=title)
    print(summary.table)
    if workload.logins_failed:
        print(f"logins failed: {workload.logins_failed}")
    met = summary.lost == 0 and summary.doubled == 0 and summary.unknown_share <= 0.01
    print("targets (0 lost, 0 doubled, still-unknown <= 1 %):", "MET" if met else "MISSED")
    return 0 if met else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sip2", "koha"], default="sip2")
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--data-seed", type=int, default=20250602, help="sample library seed")
    parser.add_argument(
        "--ils-timeout",
        type=lambda text: None if text == "default" else float(text),
        default=2.0,
        help="the tenant's backend timeouts (s), or 'default' for the tenant file's defaults",
    )
    parser.add_argument("--silence", type=float, default=5.0, help="seconds of silence")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds an answer is late")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ils-faults-"))
    print(f"logs and data in {work}")
    os.environ.setdefault("ILS_GATEWAY_STORE_SECRET", "faults-benchmark-secret-0123456789")
    try:
        code = asyncio.run(run(args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
