"""What the ``simulate`` commands over the simulated library share: ``--seed`` and ``--data``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import DEFAULT_SEED, SAMPLE_NOW, sample_library

F = TypeVar("F", bound=Callable[..., object])


def library_options(command: F) -> F:
    """``--seed`` and ``--data``: which library the simulator serves (see ``library_from``)."""
    command = click.option(
        "--data",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="JSON dataset of the simulated library (default: the seeded sample library).",
    )(command)
    return click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)(command)


def library_from(data: Path | None, seed: int) -> SimulatedLibrary:
    """The library the JSON dataset ``data`` describes, else the sample library of ``seed``."""
    if data is not None:
        return SimulatedLibrary.from_json(data, ManualClock(SAMPLE_NOW))
    return sample_library(seed)
