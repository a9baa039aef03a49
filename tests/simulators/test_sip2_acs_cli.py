"""``ils-gateway simulate sip2`` option parsing."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.simulators import sip2_cli
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import ServerLimits, SimulatedACS, server_settings
from ils_gateway.simulators.sip2_cli import parse_latency, parse_logins, parse_sightings


def test_latency_for_all_or_per_request_code() -> None:
    assert parse_latency("") == {}
    assert parse_latency("0.05") == {"*": 0.05}
    assert parse_latency("63=0.2, 11=0.5") == {"63": 0.2, "11": 0.5}
    for bad in ("64=1", "zz=1", "63=fast", "-1"):
        with pytest.raises(click.BadParameter):
            parse_latency(bad)


def test_logins_are_user_colon_password_and_bad_ones_do_not_echo_the_password() -> None:
    assert parse_logins(("sc1:p:w", "sc2:")) == {"sc1": "p:w", "sc2": ""}
    with pytest.raises(click.BadParameter) as caught:
        parse_logins(("no-colon-secret",))
    assert "secret" not in str(caught.value)


def test_sightings_are_per_login_keep_lost_or_mark_found() -> None:
    """--seen-on-item-information USER=MODE: Koha's per-account seen_on_item_information."""
    assert parse_sightings(()) == {}
    assert parse_sightings(("seer=keep_lost", "gate=mark_found")) == {
        "seer": "keep_lost",
        "gate": "mark_found",
    }
    for bad in ("seer", "=keep_lost", "seer=found"):
        with pytest.raises(click.BadParameter):
            parse_sightings((bad,))


def test_command_is_registered() -> None:
    result = CliRunner().invoke(main, ["simulate", "sip2", "--help"])
    assert result.exit_code == 0
    assert "--terminator" in result.output and "--login" in result.output


def test_hostile_client_limits_are_options_handed_to_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[ServerLimits] = []

    async def serve(*args: object, **kwargs: object) -> None:
        limits = args[-1]
        assert isinstance(limits, ServerLimits)
        seen.append(limits)

    monkeypatch.setattr(sip2_cli, "_serve", serve)
    options = ["--idle-timeout", "60", "--frame-deadline", "5", "--max-connections", "7"]
    options += ["--max-connections-per-address", "2", "--max-field-chars", "40"]
    result = CliRunner().invoke(main, ["simulate", "sip2", *options])
    assert result.exit_code == 0, result.output
    assert seen == [ServerLimits(60.0, 5.0, 7, 2, 40)]
    settings = server_settings(SimulatedACS(sample_library()), limits=seen[0])
    assert (settings.idle_timeout, settings.frame_deadline) == (60.0, 5.0)
    assert (settings.max_connections, settings.max_connections_per_address) == (7, 2)
    assert settings.max_field_chars == 40
    result = CliRunner().invoke(main, ["simulate", "sip2", "--max-connections", "0"])
    assert result.exit_code != 0
    defaults = server_settings(SimulatedACS(sample_library()))
    assert defaults.max_connections == 200 and defaults.frame_deadline == 30.0
