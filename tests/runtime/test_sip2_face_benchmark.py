"""``benchmarks/sip2_face.py`` (issue 21): ``--quick`` runs the simulator, the gateway and the
load generator as processes and prints every row with numbers and no wrong answer; the load
generator's checks count a refusal as wrong. Its speeds are not checked here."""

from __future__ import annotations

import importlib.util
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

from ils_gateway.simulators.sip2_acs import start_sip2_simulator

FACE = Path(__file__).resolve().parents[2] / "benchmarks" / "sip2_face.py"
NUMBER = r"[\d,.]+"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sip2_face_benchmark", FACE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_sip2_face_benchmark_runs_quickly() -> None:
    done = subprocess.run(
        [sys.executable, str(FACE), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for kind in ("lookup", "lending"):
        for route, servers in (("direct", ["simulator"]), ("face", ["gateway", "simulator"])):
            cpu = r"\s+".join(rf"{s} CPU\s+{NUMBER} µs/tx" for s in servers)
            row = (
                rf"^{kind}\s+{route}\s+{NUMBER} tx/s\s+p50\s+{NUMBER} ms\s+p99\s+{NUMBER} ms"
                rf"\s+{cpu}\s+simulator requests/tx {NUMBER} \(.*\)\s+wrong 0$"
            )
            assert re.search(row, out, re.MULTILINE), (row, out)
        ratio = rf"^{kind}\s+face/direct: tx/s {NUMBER}x, p50 {NUMBER}x, p99 {NUMBER}x, server CPU"
        assert re.search(ratio, out, re.MULTILINE), out
    assert "FAILED" not in out


async def test_the_load_generator_counts_refusals_as_wrong() -> None:
    bench = _benchmark()
    server, _acs = await start_sip2_simulator(
        bench.bench_library(),
        logins=dict([bench.MACHINE_LOGIN]),
        institution_id=bench.INSTITUTION,
    )
    try:
        good = bench.plan(1)[0]
        machines = [
            good,
            bench.Machine(good.card, "not-the-password", good.copies),
            bench.Machine(good.card, good.password, ("no-such-copy",)),
        ]
        go = threading.Event()
        go.set()
        lookup = await bench._load(server.port, machines, "lookup", 2, queue.Queue(), go)
        lending = await bench._load(server.port, machines[:1], "lending", 2, queue.Queue(), go)
        refused = bench.Machine(good.card, "not-the-password", good.copies)
        lending_refused = await bench._load(server.port, [refused], "lending", 1, queue.Queue(), go)
    finally:
        await server.aclose()
    assert lookup.wrong == {
        "23: patron or password not valid": 2,
        "17: not the copy asked for, or no title": 2,
    }
    assert len(lookup.latencies) == 6
    assert lending.wrong == {} and len(lending.latencies) == 2
    assert sum(lending_refused.wrong.values()) >= 1
    assert any(what.startswith("11: not lent") for what in lending_refused.wrong)
