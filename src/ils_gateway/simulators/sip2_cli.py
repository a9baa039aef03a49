"""``ils-gateway simulate sip2``: serve the simulated library as a SIP2 ACS over TCP."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import click

from ils_gateway.cli import simulate
from ils_gateway.simulators.cli_options import library_from, library_options
from ils_gateway.simulators.latency import parse_latency_spec
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sip2_acs import (
    QUIRK_NAMES,
    ServerLimits,
    Sip2Quirks,
    start_sip2_simulator,
)
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.sip2.messages import MESSAGE_TYPES

DEFAULT_PORT = 6001
_TERMINATORS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}


def parse_latency(spec: str) -> dict[str, float]:
    """``0.05`` (every message) or ``63=0.2,11=0.5`` (per request code) → seconds per code."""

    def unknown(code: str) -> str | None:
        request = code in MESSAGE_TYPES and MESSAGE_TYPES[code].sender == "SC"
        return None if request else f"{code!r} is not a SIP2 request code"

    return parse_latency_spec(spec, unknown)


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


def parse_sightings(pairs: tuple[str, ...]) -> dict[str, str]:
    """``USER=keep_lost`` / ``USER=mark_found`` pairs (``--seen-on-item-information``)."""
    found: dict[str, str] = {}
    for pair in pairs:
        user, _, mode = pair.partition("=")
        if not user or mode not in ("keep_lost", "mark_found"):
            raise click.BadParameter(
                f"{pair!r}: USER=keep_lost or USER=mark_found",
                param_hint="--seen-on-item-information",
            )
        found[user] = mode
    return found


async def _serve(
    library: SimulatedLibrary,
    host: str,
    port: int,
    codec: CodecSettings,
    latency: dict[str, float],
    logins: dict[str, str],
    quirks: Sip2Quirks,
    require_error_detection: bool,
    limits: ServerLimits | None = None,
    sru_port: int | None = None,
    seen_on_item_information: dict[str, str] | None = None,
) -> None:
    server, _acs = await start_sip2_simulator(
        library,
        host=host,
        port=port,
        logins=logins,
        codec=codec,
        latency=latency,
        quirks=quirks,
        require_error_detection=require_error_detection,
        limits=limits,
        seen_on_item_information=seen_on_item_information or {},
    )
    click.echo(f"SIP2 ACS simulator on {server.host}:{server.port} ({library.data.name})")
    click.echo(
        f"encoding={codec.encoding} terminator={server.settings.codec.terminator!r} "
        f"logins={', '.join(sorted(logins)) or '(none required)'}"
    )
    on = [n for n in QUIRK_NAMES if _is_on(quirks, n)]
    detection = "required" if require_error_detection else "per message"
    click.echo(f"error detection={detection} quirks={', '.join(on) or '(none)'}")
    runner = None
    if sru_port is not None:
        # The library's SRU catalogue beside its ACS (SIP2 has no search; issue 19).
        from aiohttp import web

        from ils_gateway.simulators.sru import create_sru_app

        runner = web.AppRunner(create_sru_app(library))
        await runner.setup()
        await web.TCPSite(runner, host, sru_port).start()
        click.echo(f"SRU catalogue on http://{host}:{runner.addresses[0][1]}/sru")
    try:
        await asyncio.Event().wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await server.aclose()


def _is_on(quirks: Sip2Quirks, name: str) -> bool:
    value = getattr(quirks, name.replace("-", "_"))
    if name == "status-before-login":
        return value is False
    return bool(value)


@simulate.command("sip2")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@library_options
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
@click.option(
    "--quirk",
    "quirks",
    multiple=True,
    type=click.Choice([*QUIRK_NAMES, "all"]),
    help="Behave like real ACSs in this respect (repeatable; 'all' for every quirk but "
    "renewals-off). See docs/simulator.md.",
)
@click.option("--all-quirks", is_flag=True, help="Same as --quirk all.")
@click.option(
    "--require-error-detection",
    is_flag=True,
    help="Answer a request without AY/AZ with 96 (default: decided per message).",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=ServerLimits.idle_timeout,
    show_default=True,
    help="Close connections silent this many seconds between frames.",
)
@click.option(
    "--frame-deadline",
    type=click.FloatRange(min=0, min_open=True),
    default=ServerLimits.frame_deadline,
    show_default=True,
    help="Close a connection whose frame is not complete this many seconds after its "
    "first byte (slowloris).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=ServerLimits.max_connections,
    show_default=True,
    help="Open connections at most; one more is closed at once.",
)
@click.option(
    "--max-connections-per-address",
    type=click.IntRange(min=1),
    default=ServerLimits.max_connections_per_address,
    show_default=True,
    help="Open connections from one client address at most.",
)
@click.option(
    "--max-field-chars",
    type=click.IntRange(min=1),
    default=ServerLimits.max_field_chars,
    show_default=True,
    help="Longest variable field of a request; a longer one closes the connection.",
)
@click.option(
    "--sru-port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    help="Also serve the catalogue over SRU 1.2 on this port (0: any free port), at /sru.",
)
@click.option(
    "--seen-on-item-information",
    "seen_on_item_information",
    multiple=True,
    metavar="USER=keep_lost|mark_found",
    help="A 17 on this login's connections records the copy as seen today (Koha's SIP "
    "account setting of that name; mark_found also finds a lost copy); repeatable. "
    "Default: a 17 only reads.",
)
def simulate_sip2(
    host: str,
    port: int,
    seed: int,
    data: Path | None,
    now: datetime | None,
    encoding: str,
    terminator: str,
    latency: str,
    logins: tuple[str, ...],
    quirks: tuple[str, ...],
    all_quirks: bool,
    require_error_detection: bool,
    idle_timeout: float,
    frame_deadline: float,
    max_connections: int,
    max_connections_per_address: int,
    max_field_chars: int,
    sru_port: int | None,
    seen_on_item_information: tuple[str, ...],
) -> None:
    """Serve SIP2 2.00 over TCP from the simulated library's Japanese sample data."""
    library = library_from(data, seed, now)
    codec = CodecSettings(encoding=encoding, terminator=_TERMINATORS[terminator])
    try:
        asyncio.run(
            _serve(
                library,
                host,
                port,
                codec,
                parse_latency(latency),
                parse_logins(logins),
                Sip2Quirks.named([*quirks, *(["all"] if all_quirks else [])]),
                require_error_detection,
                ServerLimits(
                    idle_timeout=idle_timeout,
                    frame_deadline=frame_deadline,
                    max_connections=max_connections,
                    max_connections_per_address=max_connections_per_address,
                    max_field_chars=max_field_chars,
                ),
                sru_port=sru_port,
                seen_on_item_information=parse_sightings(seen_on_item_information),
            )
        )
    except KeyboardInterrupt:
        pass
