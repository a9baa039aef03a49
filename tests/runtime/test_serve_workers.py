"""``ils-gateway serve --workers N`` (issue 17): N processes on one port sharing Redis, and a
graceful shutdown on SIGTERM. Real subprocesses; every wait is bounded and event-driven (the
lines the command prints), no sleeps."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.sample_data import sample_library

KOHA_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenants" / "koha-demo.toml"
CLI = Path(sys.executable).with_name("ils-gateway")
T = "/v1/tenants/koha-demo"
CARD, PASSWORD = "1000000001", "hanako01"


@pytest.fixture
async def tenant_file(tmp_path: Path) -> AsyncIterator[Path]:
    runner, url = await start_koha_simulator(sample_library(), port=0)
    path = tmp_path / "tenants.toml"
    text = KOHA_EXAMPLE.read_text(encoding="utf-8").replace("http://127.0.0.1:6201", url)
    path.write_text(text, encoding="utf-8")
    try:
        yield path
    finally:
        await runner.cleanup()


async def _line(stream: asyncio.StreamReader, start: str) -> str:
    while True:
        line = (await stream.readline()).decode()
        assert line, f"the command ended before printing {start!r}"
        if line.startswith(start):
            return line.strip()


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


async def test_more_workers_than_one_need_redis(tenant_file: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(CLI), "serve", "--config", str(tenant_file), "--workers", "2", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "ILS_GATEWAY_REDIS_URL"},
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "--redis" in lines[0], lines
    assert out == b""


async def test_two_workers_share_the_port_and_redis_then_stop_on_sigterm(
    tenant_file: Path, tmp_path: Path, redis_url: str
) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    process = await asyncio.create_subprocess_exec(
        str(CLI), "serve", "--config", str(tenant_file), "--workers", "2", "--port", "0",
        "--redis", redis_url, "--store", store,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(90):
            banner = await _line(process.stdout, "ils-gateway: 2 workers on ")
            url = banner.split()[4]
            for _ in range(2):  # each worker says when it listens
                await _line(process.stdout, "======== Running on")
            workers = _children(process.pid)
            assert len(workers) == 2
            async with aiohttp.ClientSession() as http:
                assert (await http.get(f"{url}/healthz")).status == 200
                login = await http.post(
                    f"{url}{T}/sessions", json={"card_number": CARD, "password": PASSWORD}
                )
                assert login.status == 201, await login.text()
                auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
                # new connections, spread by the kernel over both workers: all see the session
                for _ in range(20):
                    async with aiohttp.ClientSession() as fresh:
                        loans = await fresh.get(f"{url}{T}/loans", headers=auth)
                        assert loans.status == 200, await loans.text()
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
            assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)  # noqa: ASYNC240
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
