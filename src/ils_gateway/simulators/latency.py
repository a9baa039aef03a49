"""The ``--latency`` option the simulators share: ``0.05`` (every call) or ``a=0.2,b=0.5``."""

from __future__ import annotations

from collections.abc import Callable

import click


def parse_latency_spec(spec: str, unknown: Callable[[str], str | None]) -> dict[str, float]:
    """Seconds per name (``*``: every call); ``unknown(name)`` is the complaint about a name
    the simulator does not know, or None."""
    latency: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, seconds = part.rpartition("=")
        if not sep:
            name, seconds = "*", part
        complaint = unknown(name) if name != "*" else None
        if complaint is not None:
            raise click.BadParameter(complaint)
        try:
            value = float(seconds)
        except ValueError:
            raise click.BadParameter(f"{seconds!r} is not a number of seconds") from None
        if value < 0:
            raise click.BadParameter("latency cannot be negative")
        latency[name] = value
    return latency
