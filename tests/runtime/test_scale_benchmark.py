"""``benchmarks/scale.py --quick`` runs (issue 17): the crowd is set up, logins and cached reads
are measured over HTTP, and the figures, the memory and the ratios are printed. Its figures are
not checked here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCALE = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


def test_the_scale_benchmark_runs_quickly() -> None:
    done = subprocess.run(
        [sys.executable, str(SCALE), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = done.stdout
    assert "100 sessions + cached lists: login" in out, out
    assert "resident after 100 sessions + 100 cached lists" in out, out
    assert "ratio 100 / 10: login" in out and "cached GET loans" in out, out
