"""Global logging as a test found it: structlog's configuration and the stdlib root logger.

``kept_logging()`` saves both and puts them back afterwards; the suite's autouse fixture wraps
every test in it, so a test that configures logging (``configure_logging``, ``serve``, a
``structlog.configure`` of its own) cannot change how later tests log. Resetting structlog to
its defaults instead (what tests did before) left later tests with the console renderer and
its tracebacks, whatever the suite had been running with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

import ils_gateway.logging as gateway_logging


def _own_handlers() -> tuple[logging.Handler, ...]:
    # pytest's logging plugin adds and removes its capturing handlers around each test phase
    # (set-up, call, tear-down): those are pytest's to manage, not part of the state kept.
    return tuple(
        h for h in logging.getLogger().handlers if not type(h).__module__.startswith("_pytest")
    )


def logging_state() -> dict[str, Any]:
    """What a test may change: compared by identity (the configured objects) and contents."""
    config = structlog.get_config()
    root = logging.getLogger()
    return {
        **config,
        "processor_chain": tuple(config["processors"]),
        "direct_json": gateway_logging._direct,
        "root_handlers": _own_handlers(),
        "root_level": root.level,
        "disabled": logging.root.manager.disable,
    }


@contextmanager
def kept_logging() -> Iterator[None]:
    """Put structlog's configuration and the root logger back as they were on entry."""
    saved = logging_state()
    try:
        yield
    finally:
        processors = saved["processors"]
        processors[:] = saved["processor_chain"]  # capture_logs() edits the list in place
        structlog.configure(
            processors=processors,
            wrapper_class=saved["wrapper_class"],
            context_class=saved["context_class"],
            logger_factory=saved["logger_factory"],
            cache_logger_on_first_use=saved["cache_logger_on_first_use"],
        )
        gateway_logging._direct = saved["direct_json"]
        root = logging.getLogger()
        for handler in _own_handlers():
            if handler not in saved["root_handlers"]:
                root.removeHandler(handler)
        for handler in saved["root_handlers"]:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(saved["root_level"])
        logging.disable(saved["disabled"])
