"""``serve --log-level`` / ``ILS_GATEWAY_LOG_LEVEL``, ``--metrics-allow`` and
``--otel-endpoint`` reach the process's set-up (issue 17); nothing is served here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ils_gateway.serve as serve_module
from ils_gateway.cli import main


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def logging_set_up(**kwargs: Any) -> None:
        seen["level"] = kwargs.get("level")

    async def not_served(app: Any, host: str, port: int, **_: Any) -> None:
        app.close()  # the embedded app's coroutine, never started

    def tracing_set_up(endpoint: str) -> None:
        seen["otel"] = endpoint

    monkeypatch.setattr(serve_module, "configure_logging", logging_set_up)
    monkeypatch.setattr(serve_module, "serve_app", not_served)
    monkeypatch.setattr("ils_gateway.observability.tracing.configure_tracing", tracing_set_up)
    return seen


def _store(tmp_path: Path) -> list[str]:
    return ["--store", f"sqlite+aiosqlite:///{tmp_path}/g.sqlite3"]


def test_log_level_option_and_variable(seen: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["serve", "--log-level", "warning", *_store(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen["level"] == logging.WARNING
    result = runner.invoke(
        main, ["serve", *_store(tmp_path)], env={"ILS_GATEWAY_LOG_LEVEL": "debug"}
    )
    assert result.exit_code == 0, result.output
    assert seen["level"] == logging.DEBUG
    assert "otel" not in seen  # tracing stays off unless configured


def test_otel_endpoint_and_bad_metrics_network(seen: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["serve", "--otel-endpoint", "http://collector:4318", *_store(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert seen["otel"] == "http://collector:4318"
    result = runner.invoke(main, ["serve", "--metrics-allow", "not-a-net", *_store(tmp_path)])
    assert result.exit_code == 1
    assert "--metrics-allow: not an address or CIDR: 'not-a-net'" in result.output
