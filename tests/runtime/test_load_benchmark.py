"""``benchmarks/load.py --quick`` runs (issue 17): every process starts, every scenario is
driven and the table and ratios are printed. Its figures are not checked here."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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
