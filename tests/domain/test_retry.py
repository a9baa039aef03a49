"""The one retry policy: tries counted from the first, waits doubling up to a ceiling."""

from __future__ import annotations

import pytest

from ils_gateway.domain.retry import ONE_TRY, RetryPolicy


def test_waits_double_from_the_first_and_stop_at_the_ceiling() -> None:
    policy = RetryPolicy(attempts=5, first_wait=0.5, max_wait=1.5)
    assert [policy.wait_after(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]


def test_one_try_never_waits() -> None:
    assert ONE_TRY.attempts == 1
    assert ONE_TRY.wait_after(1) == 0.0


@pytest.mark.parametrize("fields", [{"attempts": 0}, {"first_wait": -0.1}, {"max_wait": -1.0}])
def test_a_policy_that_cannot_be_applied_is_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**fields)  # type: ignore[arg-type]
