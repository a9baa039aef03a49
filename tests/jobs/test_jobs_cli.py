"""``ils-gateway jobs list|run`` on the embedded demo with a store in a temporary file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.jobs import registry
from ils_gateway.store.engine import default_url


def _invoke(*args: str, store: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["jobs", *args, "--store", store])
    return result.exit_code, result.output


def test_jobs_run_then_list_shows_the_outcome_and_failures_exit_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ILS_GATEWAY_SETTINGS", raising=False)
    store = default_url(tmp_path / "jobs.db")
    code, out = _invoke("run", "purge_cancelled_holds", store=store)
    assert code == 0, out
    assert "purge_cancelled_holds: ok {'demo': 0}" in out

    async def broken(env: registry.JobEnv, tenant: object) -> None:
        raise RuntimeError("the library said no")

    spec = replace(registry.JOBS["notices_overdue"], run=broken)
    monkeypatch.setitem(registry.JOBS, "notices_overdue", spec)
    code, out = _invoke("run", "notices_overdue", "--tenant", "demo", "--force", store=store)
    assert code == 1, out
    assert "notices_overdue:demo: failed (RuntimeError: the library said no)" in out

    code, out = _invoke("list", store=store)
    assert code == 0, out
    lines = {line.split()[0] + " " + line.split()[1]: line for line in out.splitlines() if line}
    assert lines["purge_cancelled_holds (all)"].endswith(" ok")
    assert "every 6h" in lines["purge_cancelled_holds (all)"]
    assert lines["notices_overdue demo"].endswith(" failed")
    assert "cron 0 10 * * *" in lines["notices_overdue demo"]
    assert lines["notices_hold_ready demo"].endswith(" -")

    code, out = _invoke("run", "no_such_job", store=store)
    assert code == 2 and "no job 'no_such_job'" in out
