"""``ils-gateway contract-test`` as installed: the console script (``cli.run``), which keeps
rich and pygments out of the gateway's commands, still runs the suite (pytest needs pygments)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_console_script_runs_the_suite_against_the_embedded_demo() -> None:
    script = Path(sys.executable).parent / "ils-gateway"
    done = subprocess.run(
        [str(script), "contract-test"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("Target: embedded demo") for line in lines), done.stdout
    assert lines[-1].endswith("skip") or lines[-1].endswith("pass"), lines[-1]
    assert "fail" not in lines[-1], lines[-1]
