"""Metrics of several worker processes through one directory (issue 17): two processes count
into ``PROMETHEUS_MULTIPROC_DIR``, and ``/metrics``' collector adds them up."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from ils_gateway.observability.multiprocess import ENV, prepare_multiprocess_dir

WORKER = textwrap.dedent(
    """
    import os, sys
    from ils_gateway.observability import metrics
    for _ in range(int(sys.argv[1])):
        metrics.request_done("list_loans", "demo", 200, 0.002)
    metrics.backend_call("sip2", "list_loans", "ok", 0.01)
    metrics.sip2_pool("127.0.0.1:6001", 1, 3)
    # the worker's own /metrics answers for every process
    sys.stdout.write(metrics.render().decode())
    """
)


def _value(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def test_two_processes_add_up(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_stale.db").write_bytes(b"")  # a previous run's file: removed
    env = dict(os.environ)
    env.pop(ENV, None)
    # The parent of a run (`serve --workers N`) prepares the directory before it imports
    # prometheus_client; its workers inherit the variable.
    parent = (
        "import os\n"
        "from ils_gateway.observability.multiprocess import prepare_multiprocess_dir\n"
        f"print(prepare_multiprocess_dir({str(directory)!r}), os.environ[{ENV!r}])\n"
    )
    prepared = subprocess.run(
        [sys.executable, "-c", parent], env=env, capture_output=True, text=True, check=True
    )
    assert prepared.stdout.split() == [str(directory)] * 2
    env[ENV] = str(directory)
    outputs = []
    for count in (3, 4):
        result = subprocess.run(
            [sys.executable, "-c", WORKER, str(count)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        outputs.append(result.stdout)
    assert not (directory / "counter_stale.db").exists()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    text = generate_latest(registry).decode()
    name = "ils_gateway_http_requests_total"
    assert _value(text, name, route="list_loans", tenant="demo", status="200") == 7
    assert _value(text, "ils_gateway_backend_call_duration_seconds_count", backend="sip2") == 2
    # livesum: both workers' pool gauges (the processes have ended but were not marked dead)
    assert _value(text, "ils_gateway_sip2_pool_connections", state="idle") == 6
    # The second worker's own /metrics saw the first's counts too.
    assert _value(outputs[1], name, route="list_loans") == 7


def test_prepare_refuses_after_prometheus_was_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv(ENV.lower(), raising=False)
    import prometheus_client  # noqa: F401  # imported already by the tests' metrics

    with pytest.raises(RuntimeError, match="before the multi-process directory"):
        prepare_multiprocess_dir()


def test_prepare_makes_a_fresh_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "old"))  # a run with the variable set already
    path = prepare_multiprocess_dir()
    try:
        assert path.is_dir() and os.environ[ENV] == str(path)
    finally:
        path.rmdir()
