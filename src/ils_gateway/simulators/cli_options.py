"""What the ``simulate`` commands share: ``--seed``, ``--data`` and ``--now``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import click

from ils_gateway.domain.clock import Clock, ManualClock, RunningClock, parse_instant
from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.sample_data import DEFAULT_SEED, SAMPLE_NOW, build_sample_data

F = TypeVar("F", bound=Callable[..., object])

NOW_HELP = (
    "Start the clock at this instant: an ISO date (10:00 Asia/Tokyo that day) or date-time "
    "(Asia/Tokyo unless it names an offset); time runs on from it. The sample data is written "
    "as of it (due dates, pickup deadlines)."
)


def parse_now(
    _ctx: click.Context | None, _param: click.Parameter | None, value: str | None
) -> datetime | None:
    """``--now`` as an aware instant (a click callback); None when not given."""
    if value is None:
        return None
    try:
        return parse_instant(value, TOKYO)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def now_option(command: F) -> F:
    """``--now``: the instant the simulator's clock starts at (``parse_now``)."""
    return click.option("--now", callback=parse_now, metavar="DATE[THH:MM]", help=NOW_HELP)(command)


def library_options(command: F) -> F:
    """``--seed``, ``--data`` and ``--now``: which library the simulator serves and from when
    (see ``library_from``)."""
    command = now_option(command)
    command = click.option(
        "--data",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="JSON dataset of the simulated library (default: the seeded sample library).",
    )(command)
    return click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)(command)


def library_from(data: Path | None, seed: int, now: datetime | None = None) -> SimulatedLibrary:
    """The library the JSON dataset ``data`` describes, else the sample library of ``seed``.

    Without ``now`` the clock stands at the sample instant (``SAMPLE_NOW``); with it, the
    sample library is written as of ``now`` and the clock runs on from there.
    """
    clock: Clock = ManualClock(SAMPLE_NOW) if now is None else RunningClock(now)
    if data is not None:
        return SimulatedLibrary.from_json(data, clock)
    return SimulatedLibrary(build_sample_data(seed, now or SAMPLE_NOW), clock)
