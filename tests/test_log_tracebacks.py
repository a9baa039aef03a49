"""Tracebacks in logs are plain: no local variables (issue 15, Secrets). structlog's own
default console renderer prints rich tracebacks with every frame's locals — a password
among them — so every command configures logging before it runs."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import structlog

from ils_gateway.cli import main
from ils_gateway.logging import configure_logging

SECRET = "Locals-Secret-77"


def _fail_with_a_password_in_the_frame() -> None:
    log = structlog.get_logger("test")
    password = SECRET  # noqa: F841  (a local the traceback must not show)
    try:
        raise RuntimeError("the ILS fell over")
    except RuntimeError:
        log.exception("handler_failed")


@pytest.mark.parametrize("json", [True, False])
def test_configured_tracebacks_show_no_locals(monkeypatch, json: bool) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(json=json, level=logging.INFO)
    _fail_with_a_password_in_the_frame()
    text = stream.getvalue()
    assert "RuntimeError" in text and "the ILS fell over" in text
    assert SECRET not in text


@pytest.mark.parametrize("command", [["simulate", "sip2"], ["simulate", "koha"], ["config"]])
def test_every_command_logs_plain_tracebacks(capsys, command: list[str]) -> None:
    structlog.reset_defaults()  # a fresh process: structlog's defaults, rich tracebacks
    with pytest.raises(SystemExit):
        main.main([*command, "--help"])
    capsys.readouterr()
    _fail_with_a_password_in_the_frame()
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "RuntimeError" in text
    assert SECRET not in text
