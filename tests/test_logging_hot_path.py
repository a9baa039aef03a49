"""The per-request logger kept bound between requests still follows structlog's configuration,
and the redaction verdicts remembered per key still hide and mask."""

from __future__ import annotations

import structlog

from ils_gateway.logging import ConfiguredLogger, redact


def test_the_kept_logger_follows_a_new_configuration() -> None:
    logger = ConfiguredLogger("ils_gateway.test")
    with structlog.testing.capture_logs() as first:
        logger.get().info("one", n=1)
        assert logger.get() is logger.get()  # bound once while nothing changes
    with structlog.testing.capture_logs() as second:
        logger.get().info("two", n=2)
    assert [e["event"] for e in first] == ["one"]
    assert [e["event"] for e in second] == ["two"]


def test_remembered_verdicts_still_redact_on_every_line() -> None:
    for _ in range(3):
        out = redact(None, "info", {"Password": "x", "card_number": "1000000001", "n": 1})
        assert out == {"Password": "***", "card_number": "******0001", "n": 1}
