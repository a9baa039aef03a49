"""Load benchmark of the gateway as deployed (issue 17): separate processes, load over TCP.

Run: ``.venv/bin/python benchmarks/load.py [--quick] [--seconds S] [--clients C] [--loaders L]``.

What runs, each in its own process:
- the Koha REST simulator (``ils-gateway simulate koha``), the library system;
- the gateway (``serve``'s own code path: ``serve_app``, and ``run_workers`` for 2 workers)
  in three shapes: 1 worker in memory, 1 worker with Redis, 2 workers with Redis (2 workers in
  memory are refused by ``serve``: sessions would not be shared). Two tenants on the same
  simulator: ``koha-demo`` (reads cached, fresh 60 s) and ``koha-nocache`` (nothing fresh:
  every read goes to the simulator), so cached and uncached reads come from one gateway;
- a bare aiohttp app answering the cached loans body (the same bytes) on the same path;
- the load generator: ``L`` processes, ``C`` keep-alive connections in all (a lean HTTP/1.1
  client on asyncio's protocols: 14–18 µs of CPU per request beside the bare app, where
  aiohttp's client took 58–68 µs, about as much as the server it measured), each sending
  its next request when the last is answered (closed loop) for ``S`` seconds after a warm-up.

Scenarios: cached ``GET loans``, uncached ``GET loans`` (8 connections at most: each costs
the simulator's work), renewals (``POST loans/{id}/renewal``
with a new Idempotency-Key each: the library refuses most once the limit is reached, a 422 is
an answer too) and the cached hold list. For each: requests/s, p50 and p99 latency, and CPU
per request of the server processes (user + system from ``/proc``, the worker processes
included), what one core could serve whatever else runs on this (shared) machine, and the load
generators' own CPU per request. Then the ratios the issue sets targets for: cached GET vs bare
per core (≥ 0.6; with the cores each server kept busy: the figure is comparable when both are
saturated, as with this load generator they are), p99 ≤ 3 × p50, Redis
CPU per cached GET vs memory (≤ 1.3), two processes with Redis vs one in memory (≥ 1.7, by
requests/s: needs two free cores to show).

``--quick``: a fraction of a second per scenario, the Redis shapes only when Redis answers on
127.0.0.1:6379 (a test runs it to check that it runs, not its figures).

How this differs from ``benchmarks/api.py``: that one runs one in-process gateway and a
single-process Python client, and prints the cached GET ratio; this one runs everything as
deployed, with a multi-process load generator, more scenarios and the Redis shapes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import multiprocessing as mp
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
KOHA_EXAMPLE = ROOT / "examples" / "tenants" / "koha-demo.toml"
CLI = Path(sys.executable).with_name("ils-gateway")
CARD, PASSWORD = "1000000001", "hanako01"
CACHED, UNCACHED = "/v1/tenants/koha-demo", "/v1/tenants/koha-nocache"
REDIS = "redis://127.0.0.1:6379/14"
LOGIN = "\n[tenants.policy.login]\nmax_failures = 100000\nmax_failures_per_address = 100000\n"


# -- servers -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tenants(koha_url: str, directory: Path) -> Path:
    text = KOHA_EXAMPLE.read_text(encoding="utf-8").replace("http://127.0.0.1:6201", koha_url)
    nocache = text.replace('id = "koha-demo"', 'id = "koha-nocache"', 1)
    path = directory / "tenants.toml"
    path.write_text(text + LOGIN + "\n" + nocache + LOGIN, encoding="utf-8")
    return path


def _gateway_main(config: str, port: int, workers: int, redis_url: str | None) -> None:
    """The gateway process: ``serve``'s code path, the no-cache tenant's reads never fresh."""
    import gc
    import logging

    from ils_gateway.adapters.resilience.backend import CachePolicy, ResilientBackend
    from ils_gateway.api.server import serve_app
    from ils_gateway.logging import configure_logging
    from ils_gateway.runtime.backends import resilient
    from ils_gateway.runtime.settings import GatewaySettings
    from ils_gateway.serve import _faces
    from ils_gateway.tenants.loader import load_tenants
    from ils_gateway.workers import reserve_port, run_workers

    sys.stderr = open(os.devnull, "w")  # for the life of the process
    configure_logging(json=True, level=logging.INFO)
    gc.disable()  # as ``serve`` does: serve_app turns it on once listening (after gc.freeze)

    def wrap(tenant: Any, backend: Any, cache: Any, seconds: Any) -> Any:
        wrapped = resilient(tenant, backend, cache, seconds)
        if tenant.id == "koha-nocache" and isinstance(wrapped, ResilientBackend):
            wrapped._cache_policy = CachePolicy(patron_fresh_for=0.0)
        return wrapped

    settings = GatewaySettings(
        tenants=load_tenants(Path(config)),
        redis_url=redis_url,
        secret=b"load-benchmark-secret-0123456789abcdef",
        wrap_backend=wrap,
        redis_prefix=f"load-{uuid.uuid4().hex[:8]}:",
    )
    if workers == 1:
        asyncio.run(serve_app(_faces(settings), "127.0.0.1", port))
        return
    reserved = reserve_port("127.0.0.1", port)
    settings = dataclasses.replace(settings, reuse_port=True)

    def worker(_index: int) -> None:
        reserved.close()
        gc.disable()
        asyncio.run(serve_app(_faces(settings), "127.0.0.1", port, reuse_port=True))

    gc.enable()
    raise SystemExit(run_workers(worker, workers))


def _bare_main(body: bytes, port: int) -> None:
    async def loans(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get(CACHED + "/loans", loans)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("======== Running on", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def _wait_for(
    process: subprocess.Popen[str], start: str, count: int = 1, port: int | None = None
) -> str:
    """The first line holding ``start`` once ``start`` came ``count`` times (``count``
    workers announced), read with a deadline rather than a blocking readline: a process that
    ends or hangs is an error naming what it printed. Workers share one stdout; if one of
    several has not announced within a while but ``port`` answers ``/healthz``, the run goes
    on (said on stderr): the workers serve, and a missed line must not hang the benchmark."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    text, started = "", time.monotonic()
    while True:
        # counted in the text, not per line: two workers' writes can land on one line
        announced = text.count(start)
        lines = [line for line in text.splitlines() if start in line]
        if announced >= count:
            return lines[0].strip()
        waited = time.monotonic() - started
        if announced and port is not None and waited > 20 and _answers(port):
            print(
                f"note: {announced} of {count} workers announced; port {port} answers",
                file=sys.stderr,
            )
            return lines[0].strip()
        if waited > 120:
            raise RuntimeError(f"hung before {count} x {start!r}; printed: {text[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"ended before {count} x {start!r}; printed: {text[-2000:]!r}")
            text += chunk.decode("utf-8", "replace")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            # aiohttp answers in the request's version: "HTTP/1.0 200 OK" here
            return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]
    except OSError:
        return False


@contextlib.contextmanager
def _process(
    args: list[str], start: str, count: int = 1, port: int | None = None
) -> Iterator[tuple[int, str]]:
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    try:
        yield process.pid, _wait_for(process, start, count, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _python(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children alive now (the workers), from /proc."""
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in pids:
        with contextlib.suppress(OSError), open(f"/proc/{one}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# -- load generator ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Job:
    method: str
    urls: tuple[str, ...]  # round robin per connection
    headers: dict[str, str]
    renew: bool = False  # a new Idempotency-Key each request
    most: int = 0  # at most this many connections (0: all): slow requests, a short run


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close\b", re.IGNORECASE)
# An answer cut short by a closed connection (counted with the 5xx: no answer is an error).
CONNECTION_LOST = 599


class _Tally:
    """What one load generator process measured: latencies and statuses after the warm-up."""

    __slots__ = ("latencies", "measure_from", "statuses", "until")

    def __init__(self, measure_from: float, until: float) -> None:
        self.measure_from, self.until = measure_from, until
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def answered(self, sent: float, status: int) -> None:
        if sent >= self.measure_from:
            self.latencies.append(time.perf_counter() - sent)
            self.statuses[status] = self.statuses.get(status, 0) + 1


class _Requests:
    """The request bytes of a job, round robin over its URLs; a new Idempotency-Key on each
    renewal (this process's random prefix and a counter: unique, without uuid4's cost)."""

    def __init__(self, job: Job) -> None:
        self._renew = job.renew
        self._prefix = os.urandom(8).hex()
        self._count = 0
        self._heads: list[bytes] = []
        for url in job.urls:
            parts = urlsplit(url)
            lines = [f"{job.method} {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
            lines += [f"{name}: {value}" for name, value in job.headers.items()]
            if job.method != "GET":
                lines.append("Content-Length: 0")
            self._heads.append(("\r\n".join(lines) + "\r\n").encode())
        first = urlsplit(job.urls[0])
        self.host, self.port = first.hostname or "127.0.0.1", first.port or 80

    def __call__(self, index: int) -> bytes:
        head = self._heads[index % len(self._heads)]
        if not self._renew:
            return head + b"\r\n"
        self._count += 1
        return head + f"Idempotency-Key: {self._prefix}-{self._count}\r\n\r\n".encode()


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the closed loop: the next request goes when the
    last answer has been read whole (its ``Content-Length``; the gateway and the bare app send
    one on every answer). 14–18 µs of CPU per request beside the bare app: aiohttp's client,
    used before, took 58–68 µs, about as much as the server it measured, on the same cores."""

    def __init__(
        self, requests: _Requests, index: int, tally: _Tally, done: asyncio.Future[int]
    ) -> None:
        self._requests, self._index, self._tally, self._done = requests, index, tally, done
        self._buffer = bytearray()
        self._need = -1  # bytes of the answer being read (head and body), once its head is in
        self._status = 0
        self._closing = False  # the answer being read says ``Connection: close``
        self._sent = 0.0  # when the request in flight went (0: none in flight)
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        now = time.perf_counter()
        if now >= self._tally.until:
            self._sent = 0.0
            self._finish()
            return
        assert self._transport is not None
        self._sent = now
        self._transport.write(self._requests(self._index))
        self._index += 1

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if self._need < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[: end + 2])
            length = _CONTENT_LENGTH.search(head)
            if length is None:
                raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
            self._status = int(head[9:12])
            self._closing = _CLOSE.search(head) is not None
            self._need = end + 4 + int(length.group(1))
        if len(buffer) < self._need:
            return
        if len(buffer) > self._need:
            raise RuntimeError("more bytes than the answer asked for (nothing was pipelined)")
        buffer.clear()
        self._need = -1
        self._tally.answered(self._sent, self._status)
        if self._closing:  # the server ends the connection: the next request on a new one
            self._sent = 0.0
            self._finish()
            return
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._sent:  # an answer cut short
            self._tally.answered(self._sent, CONNECTION_LOST)
            self._sent = 0.0
        self._finish()

    def _finish(self) -> None:
        if not self._done.done():
            self._done.set_result(self._index)


async def _load(
    job: Job, connections: int, warmup: float, seconds: float, ready: Any = None, go: Any = None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    requests = _Requests(job)
    if ready is not None:  # start with the other load generators
        ready.put(os.getpid())
        await loop.run_in_executor(None, go.wait)
    start = time.perf_counter()
    tally = _Tally(start + warmup, start + warmup + seconds)
    measured: list[float] = []  # this process's CPU from the end of the warm-up
    loop.call_later(warmup, lambda: measured.append(time.process_time()))

    async def one(index: int) -> None:
        # A connection closed by the server (after an error answer) is opened again.
        while time.perf_counter() < tally.until:
            done: asyncio.Future[int] = loop.create_future()
            transport, _ = await loop.create_connection(
                functools.partial(_Connection, requests, index, tally, done),
                requests.host,
                requests.port,
            )
            try:
                index = await done
            finally:
                transport.close()

    await asyncio.gather(*(one(n) for n in range(connections)))
    cpu = time.process_time() - measured[0] if measured else 0.0
    return {"latencies": tally.latencies, "statuses": tally.statuses, "cpu": cpu}


def _loader_main(
    job: Job, connections: int, warmup: float, seconds: float, out: Any, ready: Any, go: Any
) -> None:
    out.put(asyncio.run(_load(job, connections, warmup, seconds, ready, go)))


@dataclasses.dataclass
class Result:
    rps: float
    p50: float
    p99: float
    cpu_us: float
    errors: int
    loader_us: float = 0.0  # the load generators' CPU per request


def drive(job: Job, pid: int, args: argparse.Namespace) -> Result:
    """Run the load generator processes against ``job``; the server ``pid``'s CPU meanwhile."""
    ctx = mp.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    clients = min(args.clients, job.most) if job.most else args.clients
    per = max(1, clients // args.loaders)
    loaders = [
        ctx.Process(target=_loader_main, args=(job, per, args.warmup, args.seconds, out, ready, go))
        for _ in range(args.loaders)
    ]
    for loader in loaders:
        loader.start()
    for _ in loaders:
        ready.get(timeout=120)
    go.set()
    time.sleep(args.warmup)  # the load generators warm the server up meanwhile
    cpu = _cpu_seconds(pid)
    results = [out.get(timeout=args.warmup + args.seconds + 120) for _ in loaders]
    cpu = _cpu_seconds(pid) - cpu
    loading = sum(r["cpu"] for r in results)
    for loader in loaders:
        loader.join()
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[int, int] = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    count = max(1, len(latencies))
    errors = sum(n for status, n in statuses.items() if status >= 500)
    return Result(
        rps=len(latencies) / args.seconds,
        p50=statistics.median(latencies) * 1000 if latencies else 0.0,
        p99=latencies[min(len(latencies) - 1, int(count * 0.99))] * 1000 if latencies else 0.0,
        cpu_us=cpu / count * 1e6,
        errors=errors,
        loader_us=loading / count * 1e6,
    )


# -- the run -----------------------------------------------------------------------------------


async def _prepare(base: str) -> tuple[dict[str, str], list[str], bytes]:
    """Log in on both tenants (one session token each), warm the cache; the renewable item
    ids and the cached loans body."""
    async with aiohttp.ClientSession() as http:
        auth: dict[str, str] = {}
        for tenant in (CACHED, UNCACHED):
            async with http.post(
                f"{base}{tenant}/sessions", json={"card_number": CARD, "password": PASSWORD}
            ) as response:
                assert response.status == 201, await response.text()
                auth[tenant] = (await response.json())["token"]
        headers = {"Authorization": f"Bearer {auth[CACHED]}"}
        async with http.get(f"{base}{CACHED}/holds", headers=headers) as response:
            assert response.status == 200, await response.text()
        async with http.get(f"{base}{CACHED}/loans", headers=headers) as response:
            assert response.status == 200, await response.text()
            body = await response.read()
        loans = json.loads(body)["loans"]
        items = [loan["item"]["id"] for loan in loans] or ["none"]
    return auth, items, body


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="check that it runs (seconds)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured per scenario")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=64, help="connections in all")
    parser.add_argument("--loaders", type=int, default=2, help="load generator processes")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.command:  # a child process of this benchmark
        if args.command[0] == "gateway":
            _, config, port, workers, redis = args.command
            _gateway_main(config, int(port), int(workers), None if redis == "-" else redis)
        else:
            _, body_file, port = args.command
            _bare_main(Path(body_file).read_bytes(), int(port))
        return
    if args.quick:
        args.seconds, args.warmup, args.clients, args.loaders = 1.0, 0.3, 8, 1
    with_redis = not args.no_redis and _redis_answers()
    shapes: list[tuple[str, int, str | None]] = [("1 process, memory", 1, None)]
    if with_redis:
        shapes += [("1 process, Redis", 1, REDIS), ("2 processes, Redis", 2, REDIS)]
    if args.quick and with_redis:
        shapes = [shapes[0], shapes[2]]
    print(
        f"{os.cpu_count()} cores; {args.clients} connections from {args.loaders} load "
        f"generator process(es); {args.seconds:g} s measured per scenario after "
        f"{args.warmup:g} s warm-up"
    )
    rows: dict[tuple[str, str], Result] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        _process([str(CLI), "simulate", "koha", "--port", "0"], "Koha REST simulator on") as (
            _sim,
            line,
        ),
    ):
        koha = line.split()[4].removesuffix("/api/v1")
        config = _tenants(koha, Path(tmp))
        body = b""
        for shape, workers, redis in shapes:
            port = _free_port()
            gateway = _python("gateway", str(config), str(port), str(workers), redis or "-")
            with _process(gateway, "======== Running on", workers, port) as (pid, _):
                base = f"http://127.0.0.1:{port}"
                auth, items, body = asyncio.run(_prepare(base))
                cached = {"Authorization": f"Bearer {auth[CACHED]}"}
                uncached = {"Authorization": f"Bearer {auth[UNCACHED]}"}
                jobs = {
                    "cached GET loans": Job("GET", (f"{base}{CACHED}/loans",), cached),
                    "uncached GET loans": Job(
                        "GET", (f"{base}{UNCACHED}/loans",), uncached, most=8
                    ),
                    "renewal": Job(
                        "POST",
                        tuple(f"{base}{CACHED}/loans/{i}/renewal" for i in items),
                        cached,
                        renew=True,
                    ),
                    "cached GET holds": Job("GET", (f"{base}{CACHED}/holds",), cached),
                }
                for name, job in jobs.items():
                    rows[(shape, name)] = drive(job, pid, args)
                    _print_row(shape, name, rows[(shape, name)])
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        port = _free_port()
        with _process(_python("bare", str(body_file), str(port)), "======== Running on") as (
            pid,
            _,
        ):
            job = Job("GET", (f"http://127.0.0.1:{port}{CACHED}/loans",), {})
            rows[("bare aiohttp", "same body")] = drive(job, pid, args)
            _print_row("bare aiohttp", "same body", rows[("bare aiohttp", "same body")])
    _ratios(rows)


def _print_row(shape: str, name: str, r: Result) -> None:
    print(
        f"{shape:<20} {name:<20} {r.rps:>8,.0f} req/s  p50 {r.p50:6.1f} ms  "
        f"p99 {r.p99:6.1f} ms  CPU {r.cpu_us:6.0f} µs/req  "
        f"(load generator {r.loader_us:3.0f})  5xx {r.errors}",
        flush=True,
    )


def _ratios(rows: dict[tuple[str, str], Result]) -> None:
    bare = rows[("bare aiohttp", "same body")]
    memory = rows[("1 process, memory", "cached GET loans")]
    print("ratios:")
    print(
        f"  cached GET loans (1 process, memory) vs bare: {memory.rps / bare.rps:.2f} by req/s, "
        f"{bare.cpu_us / memory.cpu_us:.2f} per core (target >= 0.6); cores busy serving: "
        f"gateway {memory.rps * memory.cpu_us / 1e6:.2f}, bare {bare.rps * bare.cpu_us / 1e6:.2f}"
    )
    for (shape, name), r in rows.items():
        if shape != "bare aiohttp" and r.p50:
            print(f"  p99/p50 {shape}, {name}: {r.p99 / r.p50:.1f} (target <= 3)")
    redis = rows.get(("1 process, Redis", "cached GET loans"))
    if redis is not None:
        print(
            f"  CPU per cached GET, Redis vs memory: {redis.cpu_us / memory.cpu_us:.2f} "
            "(target <= 1.3)"
        )
    two = rows.get(("2 processes, Redis", "cached GET loans"))
    if two is not None:
        print(
            f"  cached GET loans, 2 processes with Redis vs 1 in memory: "
            f"{two.rps / memory.rps:.2f} by req/s (target >= 1.7; needs 2 free cores), "
            f"{memory.cpu_us / two.cpu_us:.2f} by CPU per request"
        )


if __name__ == "__main__":
    main()
