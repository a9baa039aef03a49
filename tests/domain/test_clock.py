"""The one clock type's test double, and the epoch seconds read from a clock."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ils_gateway.domain.clock import ManualClock, SystemDays, epoch_seconds, system_clock

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


def test_epoch_seconds_of_the_system_clock_is_time_itself() -> None:
    # the hot path reads it on every request: no datetime made to be turned back into seconds
    assert epoch_seconds(system_clock) is time.time


class _Seconds:
    def __init__(self, instant: datetime) -> None:
        self.now = instant.timestamp()
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def test_system_days_turn_at_the_library_s_midnight() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    seconds = _Seconds(datetime(2025, 4, 1, 23, 59, 58, tzinfo=tokyo))
    days = SystemDays(tokyo, seconds)
    assert days.today() == date(2025, 4, 1)  # 14:59 UTC: already the 1st in Tokyo since 15:00
    seconds.now += 1.5
    assert days.today() == date(2025, 4, 1)
    seconds.now += 0.5  # 00:00:00 in Tokyo
    assert days.today() == date(2025, 4, 2)
    seconds.now = datetime(2025, 4, 2, 15, 0, tzinfo=UTC).timestamp()  # 00:00 on the 3rd
    assert days.today() == date(2025, 4, 3)


def test_system_days_ask_again_within_the_hour_and_follow_a_clock_set_back() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    seconds = _Seconds(datetime(2025, 4, 1, 10, 0, tzinfo=tokyo))
    days = SystemDays(tokyo, seconds)
    assert days.today() == date(2025, 4, 1)
    seconds.now = datetime(2025, 3, 31, 10, 0, tzinfo=tokyo).timestamp()  # set back a day
    assert days.today() == date(2025, 3, 31)


@pytest.mark.parametrize(
    ("zone", "before"),
    [
        # Midnight skipped: clocks went from 00:00 to 01:00 on 2018-11-04 in Sao Paulo.
        ("America/Sao_Paulo", datetime(2018, 11, 3, 23, 30)),
        # Midnight twice: clocks went back from 00:00 to 23:00 on 2019-02-17 in Sao Paulo.
        ("America/Sao_Paulo", datetime(2019, 2, 16, 23, 30)),
    ],
)
def test_system_days_across_a_transition_at_midnight(zone: str, before: datetime) -> None:
    tz = ZoneInfo(zone)
    start = before.replace(tzinfo=tz)
    seconds = _Seconds(start)
    days = SystemDays(tz, seconds)
    for minutes in range(0, 180, 7):
        seconds.now = start.timestamp() + minutes * 60
        expected = datetime.fromtimestamp(seconds.now, tz).date()
        assert days.today() == expected, minutes


def test_system_days_read_the_time_once_per_call() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    seconds = _Seconds(datetime(2025, 4, 1, 10, 0, tzinfo=tokyo))
    days = SystemDays(tokyo, seconds)
    for _ in range(5):
        assert days.today() == date(2025, 4, 1)
    assert seconds.reads == 5
