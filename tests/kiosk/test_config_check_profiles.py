"""``ils-gateway config check`` on terminal profiles and listeners: one clear line a problem."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ils_gateway.cli import main

TENANT = """
[[tenants]]
id = "midori"
name = "みどり市立図書館"
[tenants.backend]
kind = "koha"
base_url = "http://127.0.0.1:9"
client_id = "gateway"
client_secret = "secret"
[tenants.kiosk_sip2]
enabled = true
port = 6011
logins = [{ user = "sc01", password = "x", allowed_subnets = ["10.20.0.0/16"] }]
"""


def check(tmp_path: Path, kiosk: str) -> tuple[int, list[str]]:
    path = tmp_path / "tenant.toml"
    path.write_text(TENANT + kiosk, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    return result.exit_code, result.output.splitlines()


def test_good_profiles_and_listeners_pass(tmp_path: Path) -> None:
    code, lines = check(
        tmp_path,
        """
[[tenants.kiosk_sip2.listeners]]
name = "lb"
port = 6012
host = "0.0.0.0"
proxy_protocol = "any"
trusted_proxies = ["10.0.0.10"]
[[tenants.kiosk_sip2.profiles]]
name = "3m"
login_prefixes = ["3m"]
error_detection = "off"
[[tenants.kiosk_sip2.profiles]]
name = "jp"
addresses = ["10.20.30.0/24"]
encoding = "cp932"
terminator = "crlf"
allowed_messages = ["23", "63", "11", "09", "17"]
""",
    )
    assert code == 0, lines
    assert "1 tenant(s) OK" in lines[0]


def test_each_bad_key_is_one_line(tmp_path: Path) -> None:
    code, lines = check(
        tmp_path,
        """
[[tenants.kiosk_sip2.profiles]]
name = "bad"
addresses = ["10.20.300.0/24"]
encoding = "klingon"
allowed_messages = ["11", "24"]
""",
    )
    assert code == 1
    ours = [line for line in lines if "kiosk_sip2" in line]
    assert len(ours) == 3, lines
    assert "profiles[0].addresses[0]: value is not a valid IPv4 or IPv6 network" in ours[0]
    assert "profiles[0].encoding: unknown encoding 'klingon'" in ours[1]
    assert "profiles[0].allowed_messages: '24' is not a SIP2 request code" in ours[2]


def test_overlapping_listeners_are_refused(tmp_path: Path) -> None:
    code, lines = check(
        tmp_path,
        """
[[tenants.kiosk_sip2.listeners]]
port = 6011
host = "0.0.0.0"
""",
    )
    assert code == 1
    assert [line for line in lines if "overlaps" in line] == [
        f"{tmp_path / 'tenant.toml'}: tenants[0].kiosk_sip2: listeners: port 6011 on 0.0.0.0 "
        "overlaps another listener on 127.0.0.1"
    ]


def test_missing_certificates_and_shadowed_profiles(tmp_path: Path) -> None:
    code, lines = check(
        tmp_path,
        f"""
[[tenants.kiosk_sip2.listeners]]
port = 6013
tls = {{ cert_file = "{tmp_path / "none.crt"}", key_file = "{tmp_path / "none.key"}" }}
[[tenants.kiosk_sip2.profiles]]
name = "first"
ports = [6013]
[[tenants.kiosk_sip2.profiles]]
name = "second"
ports = [6013]
terminator = "crlf"
""",
    )
    assert code == 1
    problems = [line.split(": ", 2)[2] for line in lines if ": midori: " in line]
    assert problems == [
        f"kiosk_sip2.listeners[0].tls.cert_file: error: no such file: {tmp_path / 'none.crt'}",
        f"kiosk_sip2.listeners[0].tls.key_file: error: no such file: {tmp_path / 'none.key'}",
        "kiosk_sip2.profiles[1]: warning: 'second' is never chosen: 'first' before it matches "
        "the same machines",
    ]
