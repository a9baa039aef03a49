"""``ils-gateway simulate sip2`` option parsing."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.simulators.sip2_cli import parse_latency, parse_logins


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


def test_command_is_registered() -> None:
    result = CliRunner().invoke(main, ["simulate", "sip2", "--help"])
    assert result.exit_code == 0
    assert "--terminator" in result.output and "--login" in result.output
