"""Retry-After is the error's own, worked out once where it was raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ils_gateway.api.problems import problem_response
from ils_gateway.domain.errors import MaintenanceWindow
from ils_gateway.services.ebooks.bridge import BridgeRateLimited


def test_a_maintenance_window_counts_its_retry_after_from_the_given_clock() -> None:
    now = datetime(2025, 1, 1, 4, 0, tzinfo=UTC)
    paused = MaintenanceWindow(now + timedelta(minutes=20), now=now)
    assert paused.retry_after == 20 * 60
    # The renderer adds nothing of its own: no second reading of any clock.
    assert problem_response(paused).headers["Retry-After"] == str(20 * 60)


def test_the_bridge_limit_is_a_gateway_error_with_its_retry_after() -> None:
    response = problem_response(BridgeRateLimited(7), instance="/x")
    assert response.status == 429
    assert response.headers["Retry-After"] == "7"
