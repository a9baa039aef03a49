"""Tests cannot change how later tests log: the suite puts global logging back after each."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import structlog

from ils_gateway.logging import configure_logging
from logging_state import kept_logging, logging_state


def test_configuring_logging_in_a_test_is_undone_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    before = logging_state()
    handler = logging.StreamHandler(io.StringIO())
    with kept_logging():
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        configure_logging(json=True, level=logging.DEBUG)
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.CRITICAL)
        assert logging_state() != before
    assert logging_state() == before
    assert handler not in logging.getLogger().handlers


def test_a_reset_to_structlogs_defaults_is_undone_too() -> None:
    processors = [structlog.processors.KeyValueRenderer()]
    with kept_logging():
        structlog.configure(processors=processors)
        before = logging_state()
        with kept_logging():
            structlog.reset_defaults()
            assert structlog.get_config()["processors"] is not processors
        assert logging_state() == before
        assert structlog.get_config()["processors"] is processors


def test_capture_logs_editing_the_chain_in_place_is_undone() -> None:
    before = logging_state()
    chain = structlog.get_config()["processors"]
    with kept_logging():
        chain.append(structlog.processors.KeyValueRenderer())
    assert logging_state() == before
