"""Settings from the command line, ``ILS_GATEWAY_*`` variables and the settings file (issue 17).

Command line > environment > the settings file's ``[server]`` table > default; ``config show``
prints the effective values with secrets masked; a bad value is one line naming the setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.runtime.server_settings import (
    ServerSettings,
    SettingsError,
    env_name,
    load_server_settings,
    masked_url,
)
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.state.ratelimit import RateLimit
from ils_gateway.tenants.loader import TenantRegistry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"


@pytest.fixture(autouse=True)
def _no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*ServerSettings.model_fields, "settings"]:
        monkeypatch.delenv(env_name(name), raising=False)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_command_line_beats_environment_beats_file_beats_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(
        tmp_path,
        '[server]\nport = 9001\nhost = "0.0.0.0"\nredis_prefix = "file:"\nlookup_limit = 7\n',
    )
    monkeypatch.setenv("ILS_GATEWAY_PORT", "9002")
    monkeypatch.setenv("ILS_GATEWAY_HOST", "10.0.0.1")
    settings, sources = load_server_settings(path, port=9003, host=None)
    assert settings.port == 9003 and sources["port"] == "command line"
    assert settings.host == "10.0.0.1" and sources["host"] == "ILS_GATEWAY_HOST"
    assert settings.redis_prefix == "file:" and sources["redis_prefix"] == f"{path} [server]"
    assert settings.personal_data_minutes == 5.0 and sources["personal_data_minutes"] == "default"
    assert settings.lookup_limit == 7


def test_a_list_of_proxies_and_a_tenant_path_relative_to_the_file(tmp_path: Path) -> None:
    text = '[server]\nconfig = "tenants"\ntrusted_proxies = ["10.0.0.0/8", "::1"]\n'
    settings = load_server_settings(_file(tmp_path, text))[0]
    assert settings.config == tmp_path / "tenants"
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")


def test_the_settings_file_can_be_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILS_GATEWAY_SETTINGS", str(_file(tmp_path, "[server]\nport = 9010\n")))
    assert load_server_settings()[0].port == 9010


def test_every_setting_reaches_the_gateway_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ILS_GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    monkeypatch.setenv("ILS_GATEWAY_FORWARDED_HEADER", "forwarded")
    monkeypatch.setenv("ILS_GATEWAY_PERSONAL_DATA_MINUTES", "2.5")
    monkeypatch.setenv("ILS_GATEWAY_LOOKUP_LIMIT", "10")
    monkeypatch.setenv("ILS_GATEWAY_LOOKUP_WINDOW", "30")
    monkeypatch.setenv("ILS_GATEWAY_SECRET", "s" * 32)
    monkeypatch.setenv("ILS_GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("ILS_GATEWAY_REDIS_PREFIX", "gw2:")
    monkeypatch.setenv("ILS_GATEWAY_JSON_LOGS", "true")
    monkeypatch.setenv("ILS_GATEWAY_READ_CACHE_ENTRIES", "2000")
    monkeypatch.setenv("ILS_GATEWAY_READ_CACHE_BYTES", "1048576")
    monkeypatch.setenv("ILS_GATEWAY_READ_CACHE_DECODED", "100")
    monkeypatch.setenv("ILS_GATEWAY_NEAR_CACHE_ENTRIES", "5000")
    settings = load_server_settings()[0]
    gateway = GatewaySettings(tenants=TenantRegistry([]), **settings.gateway_fields())
    assert [str(n) for n in gateway.trusted_proxies] == ["10.0.0.0/8", "192.0.2.1/32"]
    assert gateway.forwarded_header == "Forwarded"
    assert gateway.personal_data_minutes == 2.5
    assert gateway.anonymous_lookup_limit == RateLimit(10, 30.0)
    assert gateway.server_secret == b"s" * 32
    assert (gateway.redis_url, gateway.redis_prefix) == ("redis://127.0.0.1:6379/3", "gw2:")
    assert gateway.json_logs is True
    assert (gateway.read_cache_entries, gateway.read_cache_bytes) == (2000, 1048576)
    assert (gateway.read_cache_decoded, gateway.near_cache_entries) == (100, 5000)
    fields = {f.name for f in dataclasses.fields(GatewaySettings)}
    assert set(settings.gateway_fields()) <= fields


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ILS_GATEWAY_PORT": "80000"}, "setting port (ILS_GATEWAY_PORT): "),
        ({"ILS_GATEWAY_PORT": "eighty"}, "(got 'eighty')"),
        ({"ILS_GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8 nope"}, "not an address or CIDR: 'nope'"),
        ({"ILS_GATEWAY_PERSONAL_DATA_MINUTES": "0"}, "setting personal_data_minutes"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_server_settings()
    assert len(caught.value.problems) == 1
    assert says in caught.value.problems[0]


def test_a_misspelt_or_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"'prot'.*unknown setting"):
        load_server_settings(_file(tmp_path, "[server]\nprot = 1\n"))
    with pytest.raises(SettingsError, match="TOML syntax error"):
        load_server_settings(_file(tmp_path, "[server\n"))
    with pytest.raises(SettingsError, match="cannot read"):
        load_server_settings(tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match=r"only a \[server\] table"):
        load_server_settings(_file(tmp_path, "[tenants]\n"))


def test_serve_reports_a_bad_setting_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ILS_GATEWAY_PERSONAL_DATA_MINUTES", "soon")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ils-gateway serve: setting personal_data")


def test_serve_listens_where_the_settings_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ils_gateway.serve as serve_module

    seen: dict[str, Any] = {}

    def fake_serve_app(app: Coroutine[Any, Any, Any], host: str, port: int, **_: Any) -> None:
        app.close()
        seen.update(host=host, port=port)

    monkeypatch.setattr(serve_module, "serve_app", fake_serve_app)
    monkeypatch.setattr(serve_module, "_run", lambda serving: None)
    monkeypatch.setenv("ILS_GATEWAY_STORE_URL", f"sqlite+aiosqlite:///{tmp_path}/s.sqlite3")
    monkeypatch.setenv("ILS_GATEWAY_STORE_SECRET", "x" * 32)
    monkeypatch.setenv("ILS_GATEWAY_HOST", "127.0.0.2")
    path = _file(tmp_path, "[server]\nport = 9021\nhost = '0.0.0.0'\n")
    result = CliRunner().invoke(main, ["serve", "--settings", str(path)])
    assert result.exit_code == 0, result.output
    assert seen == {"host": "127.0.0.2", "port": 9021}


def test_config_show_masks_every_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    text = (EXAMPLES / "kanagawa.toml").read_text(encoding="utf-8")
    text = text.replace('id = "kanagawa"\n', 'id = "kanagawa"\nkiosk_keys = ["kiosk-key-5"]\n', 1)
    tenants.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ILS_GATEWAY_REDIS_URL", "redis://gw:redis-pass-1@127.0.0.1:6379/0")
    monkeypatch.setenv("ILS_GATEWAY_STORE_URL", "postgresql+asyncpg://gw:pg-pass-2@db/gw")
    monkeypatch.setenv("ILS_GATEWAY_STORE_SECRET", "store-secret-3")
    monkeypatch.setenv("ILS_GATEWAY_SECRET", "seal-secret-4")
    result = CliRunner().invoke(main, ["config", "show", "--config", str(tenants)])
    assert result.exit_code == 0, result.output
    secrets = ("redis-pass-1", "pg-pass-2", "store-secret-3", "seal-secret-4", "kiosk-key-5")
    for secret in (*secrets, "koha-demo-secret", "elibrary-demo-secret"):
        assert secret not in result.output
    assert "redis://gw:********@127.0.0.1:6379/0  # ILS_GATEWAY_REDIS_URL" in result.output
    assert "kanagawa: " in result.output and '"client_secret": "********"' in result.output
    assert '"kiosk_keys": ["********"]' in result.output


def test_config_show_masks_tenant_passwords_and_kiosk_keys(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    text = (EXAMPLES / "akiruno.toml").read_text(encoding="utf-8")
    assert "sip-demo-password" in text
    tenants.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "show", "--config", str(tenants)])
    assert result.exit_code == 0, result.output
    assert "sip-demo-password" not in result.output


def test_masked_url_keeps_everything_but_the_password() -> None:
    assert masked_url("redis://:pw@h:6379/1") == "redis://:********@h:6379/1"
    assert masked_url("redis://h:6379/1") == "redis://h:6379/1"
