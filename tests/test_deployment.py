"""The deployment files name real commands, options and settings.

No Docker engine runs on the build machines, so the image itself is not built here; these tests
keep docker-compose.yml and the Dockerfile from drifting away from the CLI they drive.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from ils_gateway.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _serve_options() -> set[str]:
    serve = main.load_all()["serve"]
    return {opt for param in serve.params for opt in getattr(param, "opts", [])}


def _serve_envvars() -> set[str]:
    serve = main.load_all()["serve"]
    return {param.envvar for param in serve.params if getattr(param, "envvar", None)}


def test_compose_runs_serve_with_options_it_has() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    command = compose["services"]["gateway"]["command"]
    assert command[0] == "serve"
    for arg in command[1:]:
        assert arg.split("=", 1)[0] in _serve_options(), arg


def test_compose_sets_only_settings_the_gateway_reads() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    env = compose["services"]["gateway"]["environment"]
    known = _serve_envvars() | {"ILS_GATEWAY_STORE_SECRET"}
    assert set(env) <= known
    assert env["ILS_GATEWAY_STORE_URL"].startswith("postgresql+asyncpg://")
    assert env["ILS_GATEWAY_REDIS_URL"].startswith("redis://")


def test_dockerfile_default_command_is_a_valid_serve_invocation() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    cmd = next(line for line in lines if line.startswith("CMD "))
    args = yaml.safe_load(cmd.removeprefix("CMD "))
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert shlex.join(args).startswith("serve")
