"""``benchmarks/load.py --quick`` runs (issue 17): every process starts, every scenario is
driven and the table and ratios are printed. Its figures are not checked here."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web

LOAD = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ils_gateway_load_benchmark", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_two_workers_announcing_on_one_line_are_both_counted() -> None:
    """Two workers share one stdout pipe: their lines can land joined (seen in CI: the run
    waited 120 s for a second announcement it had already been given)."""
    load = _load_module()
    said = "======== Running on http://127.0.0.1:1 ========"
    process = subprocess.Popen(
        [sys.executable, "-c", f"import sys; print({said!r} * 2, flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert load._wait_for(process, "======== Running on", 2).startswith(said)
    finally:
        process.kill()
        process.wait()


async def test_a_serving_port_is_recognised_by_its_healthz() -> None:
    """The fallback for a missed announcement asks /healthz in HTTP/1.0, which aiohttp answers
    as HTTP/1.0: it was read as 'not serving' before."""
    load = _load_module()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        assert await asyncio.to_thread(load._answers, port)
    finally:
        await runner.cleanup()
    assert not await asyncio.to_thread(load._answers, port)  # nothing listens any more


def test_the_load_benchmark_runs_quickly() -> None:
    done = subprocess.run(
        [sys.executable, str(LOAD), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for scenario in ("cached GET loans", "uncached GET loans", "renewal", "cached GET holds"):
        assert f"1 process, memory    {scenario}" in out, out
    assert "bare aiohttp" in out and "per core" in out, out
    assert " 5xx 0" in out and all(
        line.endswith("5xx 0") for line in out.splitlines() if "µs/req" in line
    ), out


# -- the load generator's client (what every figure of load.py counts) -------------------------


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def _client(load: ModuleType, job: object, until: float = float("inf")) -> tuple[object, ...]:
    loop = asyncio.new_event_loop()
    done = loop.create_future()
    tally = load._Tally(0.0, until)
    connection = load._Connection(load._Requests(job), 0, tally, done)
    transport = _Transport()
    connection.connection_made(transport)
    return connection, transport, tally, done, loop


ANSWER = b"HTTP/1.1 200 OK\r\ncontent-LENGTH: 5\r\nContent-Type: text/plain\r\n\r\nhello"


def test_an_answer_in_pieces_is_counted_once_and_the_next_request_follows() -> None:
    load = _load_module()
    job = load.Job("GET", ("http://127.0.0.1:9/a", "http://127.0.0.1:9/b"), {"X-A": "1"})
    connection, transport, tally, _done, loop = _client(load, job)
    try:
        assert transport.written == [b"GET /a HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-A: 1\r\n\r\n"]
        for i in range(len(ANSWER)):  # one byte at a time: nothing counted before the last
            assert not tally.statuses
            connection.data_received(ANSWER[i : i + 1])
        assert tally.statuses == {200: 1} and len(tally.latencies) == 1
        assert transport.written[1].startswith(b"GET /b HTTP/1.1\r\n")  # round robin
        connection.data_received(ANSWER.replace(b"200 OK", b"503 Service Unavailable"))
        assert tally.statuses == {200: 1, 503: 1} and len(transport.written) == 3
    finally:
        loop.close()


def test_an_answer_cut_short_counts_as_an_error_and_ends_the_connection() -> None:
    load = _load_module()
    connection, _transport, tally, done, loop = _client(
        load, load.Job("GET", ("http://127.0.0.1:9/a",), {})
    )
    try:
        connection.data_received(ANSWER[:20])
        connection.connection_lost(None)
        assert tally.statuses == {load.CONNECTION_LOST: 1} and load.CONNECTION_LOST >= 500
        assert done.done() and done.result() == 1  # the next request's index, for the next one
    finally:
        loop.close()


def test_an_answer_without_its_length_or_with_extra_bytes_is_refused() -> None:
    load = _load_module()
    job = load.Job("GET", ("http://127.0.0.1:9/a",), {})
    connection, _t, _tally, _d, loop = _client(load, job)
    try:
        with pytest.raises(RuntimeError, match="Content-Length"):
            connection.data_received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    finally:
        loop.close()
    connection, _t, _tally, _d, loop = _client(load, job)
    try:
        with pytest.raises(RuntimeError, match="more bytes"):
            connection.data_received(ANSWER + b"HTTP/1.1")
    finally:
        loop.close()


def test_no_request_goes_after_the_end() -> None:
    load = _load_module()
    connection, transport, tally, done, loop = _client(
        load, load.Job("GET", ("http://127.0.0.1:9/a",), {}), until=0.0
    )
    try:
        assert transport.written == [] and done.done()
        connection.connection_lost(None)  # closed by the driver: nothing was in flight
        assert tally.statuses == {}
    finally:
        loop.close()


def test_each_renewal_has_its_own_idempotency_key_and_a_length() -> None:
    load = _load_module()
    requests = load._Requests(
        load.Job("POST", ("http://127.0.0.1:9/r",), {"Authorization": "Bearer t"}, renew=True)
    )
    sent = [requests(0), requests(0), requests(0)]
    keys = [line for r in sent for line in r.split(b"\r\n") if line.startswith(b"Idempotency")]
    assert len(set(keys)) == 3
    assert all(
        r.startswith(b"POST /r HTTP/1.1\r\n") and b"\r\nContent-Length: 0\r\n" in r for r in sent
    )
    assert all(r.endswith(b"\r\n\r\n") and b"Authorization: Bearer t\r\n" in r for r in sent)


def test_an_answer_closing_its_connection_ends_it_without_a_request_lost() -> None:
    load = _load_module()
    connection, transport, tally, done, loop = _client(
        load, load.Job("GET", ("http://127.0.0.1:9/a",), {})
    )
    try:
        closing = ANSWER.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        connection.data_received(closing.replace(b"200 OK", b"400 Bad Request"))
        assert len(transport.written) == 1 and done.done() and done.result() == 1
        connection.connection_lost(None)  # the server closes it: nothing was in flight
        assert tally.statuses == {400: 1}
    finally:
        loop.close()
