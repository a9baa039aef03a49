"""The library system stops, then comes back (issue 13): what clients get meanwhile, and how
soon writes work again.

Run::

    .venv/bin/python benchmarks/outage.py                     # outages of 10 s and 60 s
    .venv/bin/python benchmarks/outage.py --outages 5         # a quick run

Both servers run as deployed, each in its own process: the library system is
``ils-gateway simulate sip2 --data FILE --port P --login …`` (the sample library with
unlimited renewals, ``_faultload.prepare_library``), the gateway ``ils-gateway serve --config
<generated tenant file>`` talking SIP2 straight to it (tenant timeouts as the tenant file's
defaults unless ``--ils-timeout`` is given). Clients over real sockets: every patron of
``READERS`` and ``WRITERS`` lists their loans (``GET …/loans``) every ``--gap`` s, and each
of ``WRITERS`` also renews a loan every ``--gap`` s (a new Idempotency-Key each time; every
call is measured, none retried). A read is *stale* when its body says so (``stale: true``);
the readers' lists stay fresh in the gateway's cache for a minute, the writers' not (each
renewal attempt drops them).

For each outage: ``--warmup`` s of normal traffic; the ILS process is killed (SIGKILL: the
library system is gone, no goodbye) and started again on the same port after the outage's
length. *Return* is the moment the new ILS process says it listens. Printed per outage:
reads during the outage (count, how many were stale, statuses, p50/p99 latency), writes
during the outage (statuses — a fast 503 is expected — and p50/p99), and the time from the
return to the first successful write (target: within 3 s), with the answers writes got in
between.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faultload import TENANT, prepare_library, tenant_toml
from faults import free_port, wait_healthy

BIN = Path(sys.executable).parent
LOGIN_USER, LOGIN_PASSWORD = "gateway", "outage-bench-pass"
READERS = [("1000000014", "pass0014"), ("1000000015", "pass0015"), ("1000000016", "pass0016")]
WRITERS = [("1000000017", "pass0017"), ("1000000018", "pass0018"), ("1000000019", "pass0019")]
WRITERS += [("1000000020", "pass0020")]


@dataclass
class Call:
    kind: str  # read | write
    sent: float  # monotonic
    took: float
    status: str
    ok: bool  # a read with loans (fresh or stale) / a renewal done
    stale: bool = False


@dataclass
class Timeline:
    calls: list[Call] = field(default_factory=list)
    running: bool = True


class Ils:
    """The ``ils-gateway simulate sip2`` process, killed and started again at will."""

    def __init__(self, data: Path, port: int, log: Path) -> None:
        self.data, self.port, self.log = data, port, log
        self.child: subprocess.Popen[str] | None = None

    async def start(self) -> float:
        """Start it; returns the monotonic time it said it listens."""
        args = [str(BIN / "ils-gateway"), "simulate", "sip2", "--data", str(self.data)]
        args += ["--port", str(self.port), "--login", f"{LOGIN_USER}:{LOGIN_PASSWORD}"]
        self.child = _spawn(args, self.log)
        stdout = self.child.stdout
        assert stdout is not None
        async with asyncio.timeout(60):
            while True:
                line = await asyncio.to_thread(stdout.readline)
                if not line:
                    raise RuntimeError("the ILS process exited (see its log)")
                if line.startswith("SIP2 ACS simulator on"):
                    return time.monotonic()

    async def kill(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            await asyncio.to_thread(self.child.wait, 30)


async def login(session: aiohttp.ClientSession, base: str, card: str, password: str) -> str:
    async with session.post(
        f"{base}/sessions", json={"card_number": card, "password": password}
    ) as response:
        assert response.status == 201, await response.text()
        return (await response.json())["token"]


async def reader(
    session: aiohttp.ClientSession, base: str, token: str, gap: float, line: Timeline
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    while line.running:
        sent = time.monotonic()
        try:
            async with session.get(f"{base}/loans", headers=auth) as response:
                body = await response.json(content_type=None)
                status = str(response.status)
                ok = response.status == 200
                stale = bool(ok and body.get("stale"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, ok, stale = type(exc).__name__, False, False
        line.calls.append(Call("read", sent, time.monotonic() - sent, status, ok, stale))
        await asyncio.sleep(gap)


async def writer(
    session: aiohttp.ClientSession, base: str, token: str, item: str, gap: float, line: Timeline
) -> None:
    while line.running:
        key = f"outage-{uuid.uuid4()}"  # never one used before: every call is a new renewal
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        sent = time.monotonic()
        try:
            async with session.post(f"{base}/loans/{item}/renewal", headers=headers) as response:
                body = await response.json(content_type=None)
                slug = ""
                if response.status >= 400 and isinstance(body, dict):
                    slug = " " + str(body.get("type", "")).rsplit("/", 1)[-1]
                status = f"{response.status}{slug}"
                ok = response.status == 200 and body.get("outcome") == "ok"
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, ok = type(exc).__name__, False
        line.calls.append(Call("write", sent, time.monotonic() - sent, status, ok))
        await asyncio.sleep(gap)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[str]:
    # A plain Popen: asyncio's child watcher did not always see a SIGKILLed child end.
    with _log_file(log) as err:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)


def _log_file(path: Path) -> TextIO:
    return open(path, "a")  # the caller closes it (with)


def _spread(calls: list[Call]) -> str:
    took = [c.took for c in calls]
    return f"p50 {_pct(took, 0.5)}, p99 {_pct(took, 0.99)}"


def _pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000:.0f} ms"


def report(seconds: float, line: Timeline, stopped: float, back: float) -> bool:
    """Print the figures of one outage; True when the first success came within 3 s."""
    during = [c for c in line.calls if stopped <= c.sent < back]
    reads = [c for c in during if c.kind == "read"]
    writes = [c for c in during if c.kind == "write"]
    after = sorted((c for c in line.calls if c.kind == "write" and c.sent >= back),
                   key=lambda c: c.sent + c.took)  # fmt: skip
    first = next((c for c in after if c.ok), None)
    print(f"\noutage of {seconds:g} s (ILS killed, started again; return = it listens again)")
    stale = sum(c.stale for c in reads)
    fresh = sum(c.ok and not c.stale for c in reads)
    print(f"  reads during the outage   {len(reads)}: {stale} stale, {fresh} still fresh in the "
          f"cache, "
          f"statuses {dict(Counter(c.status for c in reads))}; {_spread(reads)}")  # fmt: skip
    print(f"  writes during the outage  {len(writes)}: "
          f"statuses {dict(Counter(c.status for c in writes))}; {_spread(writes)}")  # fmt: skip
    if first is None:
        print("  first successful write after the return: NONE within the run")
        return False
    recovery = first.sent + first.took - back
    before_first = [c for c in after if c.sent + c.took < first.sent + first.took]
    print(f"  first successful write    {recovery:.2f} s after the return (target <= 3 s) "
          f"{'OK' if recovery <= 3 else 'ABOVE TARGET'}; answers before it: "
          f"{dict(Counter(c.status for c in before_first))}")  # fmt: skip
    return recovery <= 3


async def run(args: argparse.Namespace, work: Path) -> int:
    from ils_gateway.simulators.sample_data import sample_library

    library = sample_library()
    prepare_library(library)
    data = work / "library.json"
    data.write_text(library.to_json(), encoding="utf-8")
    items = {card: library.loans(card)[0].barcode for card, _ in WRITERS}
    ils = Ils(data, free_port(), work / "ils.log")
    await ils.start()
    toml = tenant_toml(ils.port, timeout=args.ils_timeout, login_password=LOGIN_PASSWORD)
    config = work / "tenants.toml"
    config.write_text(toml, encoding="utf-8")
    port = free_port()
    serve = [str(BIN / "ils-gateway"), "serve", "--config", str(config), "--port", str(port)]
    serve += ["--store", f"sqlite+aiosqlite:///{work / 'store.sqlite3'}"]
    with _log_file(work / "gateway.log") as err:
        gateway = await asyncio.create_subprocess_exec(*serve, stdout=err, stderr=err)
    met = True
    try:
        root = f"http://127.0.0.1:{port}"
        await wait_healthy(root, lambda: gateway.returncode is not None)
        base = f"{root}/v1/tenants/{TENANT}"
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            tokens = {c: await login(session, base, c, p) for c, p in READERS + WRITERS}
            for seconds in args.outages:
                line = Timeline()
                tasks = [
                    asyncio.create_task(reader(session, base, tokens[c], args.gap, line))
                    for c, _ in READERS + WRITERS
                ] + [
                    asyncio.create_task(writer(session, base, tokens[c], items[c], args.gap, line))
                    for c, _ in WRITERS
                ]
                await asyncio.sleep(args.warmup)
                stopped = time.monotonic()
                await ils.kill()
                print(f"ILS stopped for {seconds:g} s …", flush=True)
                await asyncio.sleep(seconds)
                back = await ils.start()
                print(f"… back (listening {back - stopped - seconds:.1f} s after its start)",
                      flush=True)  # fmt: skip
                deadline = back + args.recovery_limit
                while time.monotonic() < deadline:
                    if any(c.ok and c.kind == "write" and c.sent >= back for c in line.calls):
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1)
                line.running = False
                await asyncio.gather(*tasks)
                met = report(seconds, line, stopped, back) and met
    finally:
        with contextlib.suppress(ProcessLookupError):
            gateway.terminate()
        await gateway.wait()
        await ils.kill()
    print("\ntarget (first successful write within 3 s of the return):", "MET" if met else "MISSED")
    return 0 if met else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--outages",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[10.0, 60.0],
        help="outage lengths in seconds, comma-separated (default 10,60)",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="normal traffic first (s)")
    parser.add_argument("--gap", type=float, default=0.1, help="pause between a client's calls")
    parser.add_argument("--ils-timeout", type=float, default=None, help="gateway SIP2 timeouts")
    parser.add_argument("--recovery-limit", type=float, default=90.0, help="give up after (s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ils-outage-"))
    print(f"logs and data in {work}")
    os.environ.setdefault("ILS_GATEWAY_STORE_SECRET", "outage-benchmark-secret-0123456789")
    try:
        code = asyncio.run(run(args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
