"""``simulate … --now``: the simulated library written as of that instant, its clock running on
from it (issue 16); without it, the sample instant, standing still as before."""

from __future__ import annotations

from datetime import datetime, timedelta

from ils_gateway.domain.clock import ManualClock, RunningClock
from ils_gateway.simulators.cli_options import library_from
from ils_gateway.simulators.library import TOKYO
from ils_gateway.simulators.sample_data import DEFAULT_SEED, SAMPLE_NOW


def _overdue_days(library) -> set[int]:
    today = library.today()
    return {(today - loan.due).days for loan in library.loans("1000000005")}


def test_library_from_now_writes_the_sample_data_as_of_it():
    now = datetime(2026, 1, 15, 10, 0, tzinfo=TOKYO)
    library = library_from(None, DEFAULT_SEED, now)
    assert isinstance(library._clock, RunningClock)
    assert library.now() - now < timedelta(minutes=1)
    assert _overdue_days(library) == {5, 20}
    due = {loan.due for loan in library.loans("1000000005")}
    assert due == {now.date() - timedelta(days=5), now.date() - timedelta(days=20)}


def test_library_from_without_now_stands_at_the_sample_instant():
    library = library_from(None, DEFAULT_SEED)
    assert isinstance(library._clock, ManualClock)
    assert library.now() == SAMPLE_NOW
    assert _overdue_days(library) == {5, 20}
