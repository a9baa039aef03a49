"""The one clock type's test double, and the epoch seconds read from a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ils_gateway.domain.clock import ManualClock, epoch_seconds, system_clock

JST = timezone(timedelta(hours=9))
START = datetime(2025, 4, 1, 10, 0, tzinfo=JST)


def test_manual_clock_stands_still_until_moved() -> None:
    clock = ManualClock(START)
    assert clock() == clock() == clock.now == START
    assert clock.advance(timedelta(days=1)) == START + timedelta(days=1)
    assert clock.advance(hours=2, minutes=30) == START + timedelta(days=1, hours=2, minutes=30)
    assert clock.advance(days=-1) == START + timedelta(hours=2, minutes=30)
    clock.now = START
    assert clock() == START


def test_manual_clock_shows_only_aware_times() -> None:
    with pytest.raises(ValueError):
        ManualClock(datetime(2025, 4, 1))
    clock = ManualClock(START)
    with pytest.raises(ValueError):
        clock.now = datetime(2025, 4, 1)
    assert clock() == START


def test_advance_takes_a_timedelta_or_its_parts_not_both() -> None:
    with pytest.raises(TypeError):
        ManualClock(START).advance(timedelta(days=1), days=1)


def test_epoch_seconds_follow_the_clock() -> None:
    clock = ManualClock(START)
    seconds = epoch_seconds(clock)
    assert seconds() == START.timestamp()
    clock.advance(seconds=90)
    assert seconds() == START.timestamp() + 90


def test_the_system_clock_is_aware_utc() -> None:
    assert system_clock().tzinfo is UTC
