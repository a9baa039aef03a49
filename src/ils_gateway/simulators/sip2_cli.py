"""``ils-gateway simulate sip2``: serve the simulated library as a SIP2 ACS over TCP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ils_gateway.cli import simulate
from ils_gateway.simulators.library import ManualClock, SimulatedLibrary
from ils_gateway.simulators.sample_data import DEFAULT_SEED, SAMPLE_NOW, sample_library
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.sip2.messages import MESSAGE_TYPES

DEFAULT_PORT = 6001
_TERMINATORS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}


def parse_latency(spec: str) -> dict[str, float]:
    """``0.05`` (every message) or ``63=0.2,11=0.5`` (per request code) → seconds per code."""
    latency: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        code, sep, seconds = part.rpartition("=")
        if not sep:
            code, seconds = "*", part
        if code != "*" and (code not in MESSAGE_TYPES or MESSAGE_TYPES[code].sender != "SC"):
            raise click.BadParameter(f"{code!r} is not a SIP2 request code")
        try:
            value = float(seconds)
        except ValueError:
            raise click.BadParameter(f"{seconds!r} is not a number of seconds") from None
        if value < 0:
            raise click.BadParameter("latency cannot be negative")
        latency[code] = value
    return latency


def parse_logins(pairs: tuple[str, ...]) -> dict[str, str]:
    """``USER:PASS`` options → login users and passwords."""
    logins: dict[str, str] = {}
    for number, pair in enumerate(pairs, 1):
        user, sep, password = pair.partition(":")
        if not sep or not user:
            # Never echo the value: it may be a mistyped password.
            raise click.BadParameter(f"--login number {number} is not USER:PASS")
        logins[user] = password
    return logins


async def _serve(
    library: SimulatedLibrary,
    host: str,
    port: int,
    codec: CodecSettings,
    latency: dict[str, float],
    logins: dict[str, str],
) -> None:
    server, _acs = await start_sip2_simulator(
        library, host=host, port=port, logins=logins, codec=codec, latency=latency
    )
    click.echo(f"SIP2 ACS simulator on {server.host}:{server.port} ({library.data.name})")
    click.echo(
        f"encoding={codec.encoding} terminator={codec.terminator!r} "
        f"logins={', '.join(sorted(logins)) or '(none required)'}"
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.aclose()


@simulate.command("sip2")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON dataset of the simulated library (default: the seeded sample library).",
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp932"]),
    default="utf-8",
    show_default=True,
)
@click.option(
    "--terminator", type=click.Choice(sorted(_TERMINATORS)), default="cr", show_default=True
)
@click.option(
    "--latency",
    default="",
    help="Seconds before each answer: '0.05' for all, or per code, e.g. '63=0.2,11=0.5'.",
)
@click.option(
    "--login",
    "logins",
    multiple=True,
    metavar="USER:PASS",
    help="Accept this 93 login (repeatable); when given, login is required first.",
)
def simulate_sip2(
    host: str,
    port: int,
    seed: int,
    data: Path | None,
    encoding: str,
    terminator: str,
    latency: str,
    logins: tuple[str, ...],
) -> None:
    """Serve SIP2 2.00 over TCP from the simulated library's Japanese sample data."""
    if data is not None:
        library = SimulatedLibrary.from_json(data, ManualClock(SAMPLE_NOW))
    else:
        library = sample_library(seed)
    codec = CodecSettings(encoding=encoding, terminator=_TERMINATORS[terminator])
    try:
        asyncio.run(
            _serve(library, host, port, codec, parse_latency(latency), parse_logins(logins))
        )
    except KeyboardInterrupt:
        pass
