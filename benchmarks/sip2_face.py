"""Self-check machines on the gateway's SIP2 face, beside the SIP2 simulator's own ACS serving
the same machines directly (issue 21), each server in its own process over real sockets.

Run: ``.venv/bin/python benchmarks/sip2_face.py [--terminals 50] [--transactions 40]
[--no-lending] [--quick] [--gateway-log FILE]`` (``--gateway-log``: keep the gateway's
log, at info).

What runs, each in its own process:
- the library system: the SIP2 simulator over the sample library (``start_sip2_simulator``,
  as ``ils-gateway simulate sip2`` serves it) with its connection limits off, counting the
  requests it answers per message code;
- the gateway: ``ils-gateway serve --config <generated tenant file> --no-jobs`` whose tenant
  has the simulator as its SIP2 backend (the default pool of 4 connections, the resilience
  layer as deployed) and its kiosk face (``[tenants.kiosk_sip2]``) on a free port with a login
  for the machines and the connection limits raised;
- the load generator (a spawned process): ``--terminals`` machines, each one connection
  (``SIP2ClientPool`` of one: 93 login, 99 status) held for the run, each doing
  ``--transactions`` transactions one after the other once every machine is connected.

Two kinds of transaction, a row each, first straight to the simulator ("direct"), then to the
face (which asks the simulator):
- lookup: 23 patron status (card and password) then 17 item information;
- lending: 11 checkout of a copy then 09 check-in of it.
Each machine has a patron of its own (the sample library's 16 who may borrow, with their
loans, then added patrons without loans: ``bench_library``) and copies of its own: no two
machines check one card or lend one copy at the same moment, as at a real library (the
gateway checks one card at a time and refuses a second check of it meanwhile).

Every answer is checked (23: valid patron and password; 17: the copy asked for, with a title;
11 and 09: ok 1): a refusal or an error is counted, printed, and fails the run (exit 1).

Printed per row: transactions/s, p50 and p99 of a transaction's time (both messages), CPU
seconds per transaction of each server process (user + system from ``/proc``: far steadier
than transactions/s on a shared machine with two cores), and, through the face, the requests
the simulator answered per transaction (the backend round trips the face needed); then the
ratios face/direct.

Backend round trips through the face (``simulator requests/tx``): a 23 is one 63 (the
password is checked by the library system); a 17 is one 17, or none while the gateway's cache
holds the copy fresh — here each machine asks about the same copy again and again, so most
are answered from the cache, as they would not be in a library of many copies. A lending
transaction is 5 round trips where 3 would do: the 11 is a 63 (the patron's login), a 17 (the
resilience layer's baseline before a write: the copy's status, so that an unknown outcome can
be settled by reading the patron's loans back; only a copy already on loan makes it list the
patron's loans, one 17 per loan on SIP2), then the 11; the 09 is a 17 (the copy before the
check-in, the same baseline) then the 09 (``adapters/resilience/backend.py``,
``checkout``/``checkin``: the baseline is read before every write, not only when the outcome
turns out unknown).

How this differs from deployment: everything is on one host over loopback, so the load
generator shares the cores with both servers (the CPU figures, not the rates, are what one
core could serve); the simulator answers in microseconds where a library system takes
milliseconds, so the face's share of the time is as large as it will ever be; the periodic
jobs are off (their backend calls would be counted as the machines'); logging is at
``warning``; the gateway store is SQLite in a temporary directory (``serve``'s default kind),
which the face reads on each patron check (passwords the gateway keeps for a SIP2 library) and
each checkout (notices): its CPU is in the gateway's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("ils-gateway")
INSTITUTION = "DEMO"
BACKEND_LOGIN = ("gateway", "demo")
MACHINE_LOGIN = ("sc01", "demo-selfcheck")
NOW = "20250602    100000"

TENANT = """\
[[tenants]]
id = "bench"
name = "ベンチ市立図書館"

[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = {sip2}
institution_id = "{institution}"
login_user = "{backend_user}"
login_password = "{backend_password}"

[tenants.kiosk_sip2]
enabled = true
host = "127.0.0.1"
port = {face}
institution_id = "{institution}"
logins = [{{ user = "{machine_user}", password = "{machine_password}" }}]
max_connections = 100000
max_connections_per_address = 100000

[[tenants.pickup_libraries]]
code = "CEN"
name = "中央図書館"
"""


# -- the plan: who borrows what ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Machine:
    """One terminal's patron (card, password) and copies."""

    card: str
    password: str
    copies: tuple[str, ...]


MORE_PATRONS = 200


def bench_library() -> Any:
    """The sample library with ``MORE_PATRONS`` more patrons (cards 2000000000…, password
    ``benchNNNN``, no loans), so that every machine serves a patron of its own: the gateway
    checks one card at a time (a second check of a card while one is under way is refused),
    and the sample library has 20 patrons."""
    from ils_gateway.simulators.library import ManualClock, SimulatedLibrary
    from ils_gateway.simulators.sample_data import SAMPLE_NOW, build_sample_data

    data = build_sample_data()
    template = next(p for p in data.patrons if p.card_number == "1000000011")  # no loans
    first = max(p.id for p in data.patrons) + 1
    data.patrons += [
        dataclasses.replace(
            template, id=first + n, card_number=f"{2000000000 + n}", password=f"bench{n:04d}"
        )
        for n in range(MORE_PATRONS)
    ]
    return SimulatedLibrary(data, ManualClock(SAMPLE_NOW))


def plan(terminals: int) -> list[Machine]:
    """Each machine a patron of its own whom the library lends to (the sample library's
    first, with their loans, then the added ones) and copies nobody else's machine uses:
    read from the library the simulator serves (the same seed)."""
    from ils_gateway.simulators.records import ItemStatus

    library = bench_library()
    patrons = [
        p
        for p in library.data.patrons
        if not p.temporary_password and p.block_note is None and p.expiry_date > library.today()
    ]
    copies = [
        i.barcode
        for i in library.data.items
        if i.status is ItemStatus.AVAILABLE and not i.not_for_loan
    ]
    lenders = [
        p for p in patrons if all(not library.checkout_refusals(p.card_number, c) for c in copies)
    ]
    if len(lenders) < terminals or len(copies) < terminals:
        raise SystemExit(
            f"the library has {len(lenders)} patrons and {len(copies)} copies to lend: "
            f"{terminals} terminals are too many"
        )
    per = len(copies) // terminals
    return [
        Machine(
            lenders[n].card_number,
            lenders[n].password,
            tuple(copies[n * per : (n + 1) * per]),
        )
        for n in range(terminals)
    ]


# -- the simulator process ---------------------------------------------------------------------


async def _simulator_main() -> None:
    """The SIP2 simulator as ``simulate sip2`` serves it, counting requests per code; prints
    ``READY sip2=<port>``, then a ``COUNTS {json}`` line for each line read on stdin."""
    import logging

    from ils_gateway.logging import configure_logging
    from ils_gateway.simulators.sip2_acs import ServerLimits, SimulatedACS, server_settings
    from ils_gateway.sip2.messages import Message
    from ils_gateway.sip2.server import SIP2Server, SIP2Session

    configure_logging(json=True, level=logging.WARNING)
    acs = SimulatedACS(
        bench_library(), logins=dict([BACKEND_LOGIN, MACHINE_LOGIN]), institution_id=INSTITUTION
    )
    counts: Counter[str] = Counter()

    async def handle(message: Message, session: SIP2Session) -> Message:
        counts[message.code] += 1
        return await acs.handle(message, session)

    limits = ServerLimits(max_connections=None, max_connections_per_address=None)
    server = SIP2Server(handle, server_settings(acs, limits=limits))
    await server.start()
    print(f"READY sip2={server.port}", flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        print("COUNTS " + json.dumps(counts), flush=True)
    await server.aclose()


# -- the load generator process ----------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    latencies: list[float]  # seconds per transaction
    wrong: Counter[str]  # "<code>: <what>" → how many answers were refusals or errors
    seconds: float  # from the go to the last answer


async def _machine(
    port: int,
    machine: Machine,
    kind: str,
    count: int,
    ready: asyncio.Barrier,
    go: asyncio.Event,
    out: Outcome,
) -> None:
    from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
    from ils_gateway.sip2.fields import SipDate
    from ils_gateway.sip2.messages import (
        CheckinRequest,
        CheckinResponse,
        CheckoutRequest,
        CheckoutResponse,
        ItemInformationRequest,
        ItemInformationResponse,
        PatronStatusRequest,
        PatronStatusResponse,
    )

    now = SipDate(NOW)
    settings = SIP2ClientSettings(
        host="127.0.0.1",
        port=port,
        login_user=MACHINE_LOGIN[0],
        login_password=MACHINE_LOGIN[1],
        institution_id=INSTITUTION,
        pool_size=1,
    )

    def wrong(what: str) -> None:
        out.wrong[what] += 1

    async with SIP2ClientPool(settings) as sip:
        await ready.wait()
        await go.wait()
        for n in range(count):
            copy = machine.copies[n % len(machine.copies)]
            started = time.perf_counter()
            try:
                if kind == "lookup":
                    status = await sip.request(
                        PatronStatusRequest.build(
                            transaction_date=now,
                            institution_id=INSTITUTION,
                            patron_identifier=machine.card,
                            patron_password=machine.password,
                        ),
                        idempotent=True,
                    )
                    if not isinstance(status, PatronStatusResponse):
                        wrong(f"23: answered {status.code}")
                    elif not (status.valid_patron and status.valid_patron_password):
                        screen = status.get("AF")
                        wrong(
                            "23: patron or password not valid" + (f": {screen}" if screen else "")
                        )
                    item = await sip.request(
                        ItemInformationRequest.build(
                            transaction_date=now, institution_id=INSTITUTION, item_identifier=copy
                        ),
                        idempotent=True,
                    )
                    if not isinstance(item, ItemInformationResponse):
                        wrong(f"17: answered {item.code}")
                    elif item.item_identifier != copy or not item.title_identifier:
                        wrong("17: not the copy asked for, or no title")
                else:
                    lent = await sip.request(
                        CheckoutRequest.build(
                            transaction_date=now,
                            institution_id=INSTITUTION,
                            patron_identifier=machine.card,
                            patron_password=machine.password,
                            item_identifier=copy,
                        ),
                        idempotent=False,
                    )
                    if not isinstance(lent, CheckoutResponse) or not lent.ok:
                        wrong(f"11: not lent {lent.get('AF') or lent.code}")
                    back = await sip.request(
                        CheckinRequest.build(
                            transaction_date=now,
                            return_date=now,
                            current_location="CEN",
                            institution_id=INSTITUTION,
                            item_identifier=copy,
                        ),
                        idempotent=False,
                    )
                    if not isinstance(back, CheckinResponse) or not back.ok:
                        wrong(f"09: not checked in {back.get('AF') or back.code}")
            except Exception as exc:  # counted and printed: the run fails on it
                wrong(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            out.latencies.append(time.perf_counter() - started)


async def _load(
    port: int, machines: list[Machine], kind: str, count: int, ready: Any, go: Any
) -> Outcome:
    out = Outcome([], Counter(), 0.0)
    barrier, start = asyncio.Barrier(len(machines) + 1), asyncio.Event()
    tasks = [
        asyncio.create_task(_machine(port, m, kind, count, barrier, start, out)) for m in machines
    ]
    async with asyncio.timeout(120):
        await barrier.wait()  # every machine connected and logged in
    ready.put(os.getpid())
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    started = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    out.seconds = time.perf_counter() - started
    return out


def _load_main(
    port: int, machines: list[Machine], kind: str, count: int, out: Any, ready: Any, go: Any
) -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    outcome = asyncio.run(_load(port, machines, kind, count, ready, go))
    out.put(
        {"latencies": outcome.latencies, "wrong": dict(outcome.wrong), "seconds": outcome.seconds}
    )


# -- the run -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(process: subprocess.Popen[str], start: str) -> str:
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"process {process.args!r} ended before {start!r}")
        if line.startswith(start):
            return line.strip()


@contextlib.contextmanager
def _process(args: list[str], start: str, log: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with open(log, "w") as err:
        process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=ROOT,
        )
    try:
        yield process, _wait_for(process, start)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Simulator:
    """The simulator process: its pid and its request counts."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def counts(self) -> Counter[str]:
        assert self.process.stdin is not None
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return Counter(json.loads(_wait_for(self.process, "COUNTS ").split(" ", 1)[1]))


@dataclasses.dataclass
class Row:
    tps: float
    p50_ms: float
    p99_ms: float
    cpu_us: dict[str, float]  # server → CPU µs per transaction
    backend: Counter[str]  # requests the simulator answered per code, during the run
    transactions: int
    wrong: Counter[str]


def drive(
    port: int,
    machines: list[Machine],
    kind: str,
    count: int,
    servers: dict[str, int],
    simulator: Simulator,
) -> Row:
    """Run the load generator process against ``port``; the servers' CPU meanwhile."""
    ctx = mp.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    loader = ctx.Process(target=_load_main, args=(port, machines, kind, count, out, ready, go))
    loader.start()
    ready.get(timeout=180)
    before = {name: _cpu_seconds(pid) for name, pid in servers.items()}
    counts = simulator.counts()
    go.set()
    result = out.get(timeout=1800)
    after = {name: _cpu_seconds(pid) for name, pid in servers.items()}
    backend = simulator.counts() - counts
    loader.join()
    latencies = sorted(result["latencies"])
    done = max(1, len(latencies))
    return Row(
        tps=len(latencies) / result["seconds"],
        p50_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
        p99_ms=latencies[min(done - 1, int(done * 0.99))] * 1000 if latencies else 0.0,
        cpu_us={name: (after[name] - before[name]) / done * 1e6 for name in servers},
        backend=backend,
        transactions=len(latencies),
        wrong=Counter(result["wrong"]),
    )


def _print_row(kind: str, route: str, row: Row) -> None:
    cpu = "  ".join(f"{name} CPU {us:7.0f} µs/tx" for name, us in row.cpu_us.items())
    trips = sum(row.backend.values()) / max(1, row.transactions)
    codes = " ".join(
        f"{code}:{n / max(1, row.transactions):.2f}" for code, n in sorted(row.backend.items())
    )
    print(
        f"{kind:<7} {route:<7} {row.tps:>8,.0f} tx/s  p50 {row.p50_ms:6.1f} ms  "
        f"p99 {row.p99_ms:6.1f} ms  {cpu}  simulator requests/tx {trips:.2f} ({codes})  "
        f"wrong {sum(row.wrong.values())}",
        flush=True,
    )
    for what, n in row.wrong.most_common(5):
        print(f"    wrong answer x{n}: {what}", flush=True)


def _times(a: float, b: float, digits: int = 1) -> str:
    """``a / b`` as ``2.5x``; ``n/a`` when ``b`` is 0 (a CPU figure under a clock tick)."""
    return f"{a / b:.{digits}f}x" if b else "n/a"


def _print_ratios(kind: str, direct: Row, face: Row) -> None:
    simulator = direct.cpu_us["simulator"]
    print(
        f"{kind:<7} face/direct: tx/s {_times(face.tps, direct.tps, 2)}, "
        f"p50 {_times(face.p50_ms, direct.p50_ms)}, p99 {_times(face.p99_ms, direct.p99_ms)}, "
        f"server CPU per tx (gateway + simulator) "
        f"{_times(sum(face.cpu_us.values()), simulator)} the simulator's alone, "
        f"gateway alone {_times(face.cpu_us['gateway'], simulator)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=50)
    parser.add_argument("--transactions", type=int, default=40, help="per terminal")
    parser.add_argument("--no-lending", action="store_true", help="lookup row only")
    parser.add_argument("--quick", action="store_true", help="4 terminals x 5 (tests)")
    parser.add_argument("--gateway-log", type=Path, help="keep the gateway's log (info) here")
    parser.add_argument("role", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "simulator":  # a child process of this benchmark
        asyncio.run(_simulator_main())
        return
    if args.quick:
        args.terminals, args.transactions = 4, 5
    machines = plan(args.terminals)
    kinds = ["lookup"] if args.no_lending else ["lookup", "lending"]
    print(
        f"{os.cpu_count()} cores; {args.terminals} terminals x {args.transactions} transactions "
        f"(lookup: 23 + 17; lending: 11 + 09), one connection each, load from its own process"
    )
    rows: dict[tuple[str, str], Row] = {}
    env = {**os.environ, "ILS_GATEWAY_STORE_SECRET": "sip2-face-benchmark-0123456789abcdef"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        simulator_args = [sys.executable, str(Path(__file__).resolve()), "simulator"]
        with _process(simulator_args, "READY", work / "simulator.log") as (sim, line):
            simulator = Simulator(sim)
            sip2 = int(line.split("sip2=")[1])
            face = _free_port()
            config = work / "tenants.toml"
            config.write_text(
                TENANT.format(
                    sip2=sip2,
                    face=face,
                    institution=INSTITUTION,
                    backend_user=BACKEND_LOGIN[0],
                    backend_password=BACKEND_LOGIN[1],
                    machine_user=MACHINE_LOGIN[0],
                    machine_password=MACHINE_LOGIN[1],
                ),
                encoding="utf-8",
            )
            serve = [str(CLI), "serve", "--config", str(config), "--port", str(_free_port())]
            serve += ["--store", f"sqlite+aiosqlite:///{work / 'store.sqlite3'}"]
            serve += ["--no-jobs", "--log-level", "info" if args.gateway_log else "warning"]
            gateway_log = args.gateway_log or work / "gateway.log"
            with open(gateway_log, "w") as err:
                gateway = subprocess.Popen(
                    serve, stdout=subprocess.PIPE, stderr=err, text=True, cwd=work, env=env
                )
            try:
                _wait_for(gateway, "======== Running on")
                for kind in kinds:
                    for route, port, servers in (
                        ("direct", sip2, {"simulator": sim.pid}),
                        ("face", face, {"gateway": gateway.pid, "simulator": sim.pid}),
                    ):
                        row = drive(port, machines, kind, args.transactions, servers, simulator)
                        rows[(kind, route)] = row
                        _print_row(kind, route, row)
            finally:
                gateway.terminate()
                try:
                    gateway.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    gateway.kill()
                    gateway.wait()
            errors = gateway_log.read_text(encoding="utf-8", errors="replace")
    for kind in kinds:
        _print_ratios(kind, rows[(kind, "direct")], rows[(kind, "face")])
    wrong = sum(sum(row.wrong.values()) for row in rows.values())
    if wrong:
        print(f"FAILED: {wrong} answers were refusals or errors", flush=True)
        if errors.strip():
            print(errors[-3000:], file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
