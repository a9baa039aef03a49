"""``benchmarks/load.py --quick`` runs (issue 17): every process starts, every scenario is
driven and the table and ratios are printed. Its figures are not checked here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LOAD = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


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
