"""Terminal profiles in the tenant file: validation, selection and the codec each gives."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ils_gateway.kiosk.terminals import TerminalDesk
from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.server import SIP2Session
from ils_gateway.tenants.kiosk import KioskSip2Config
from ils_gateway.tenants.kiosk_profiles import TerminalProfile, codec_for, select_profile
from ils_gateway.tenants.loader import TenantConfigError, parse_tenants

BASE = TerminalProfile(
    name="default", terminator="cr", encoding="utf-8", error_detection="on",
    checksum_basis="bytes", idle_timeout=0, login_timeout=0,
)  # fmt: skip
PROFILES = (
    TerminalProfile(name="west-cp", locations=("WEST",), terminator="lf"),
    TerminalProfile(name="lab", addresses=("10.1.2.0/24", "192.0.2.7"), terminator="crlf"),
    TerminalProfile(name="port", ports=(6012,), encoding="cp932"),
    TerminalProfile(name="both", addresses=("10.9.0.0/16",), ports=(6013,), encoding="ascii"),
    TerminalProfile(name="vendor", login_prefixes=("3m-", "bib-"), error_detection="off"),
)


def pick(address: str, port: int | None = 6011, location: str | None = None,
         user: str | None = None) -> str:  # fmt: skip
    return select_profile(
        PROFILES, BASE, address=address, port=port, location=location, user=user
    ).name


def test_first_match_in_file_order_by_address_port_cp_or_login_prefix() -> None:
    assert pick("10.1.2.9") == "lab"
    assert pick("192.0.2.7") == "lab"
    assert pick("::ffff:10.1.2.9") == "lab"  # IPv4-mapped, as dual-stack sockets report it
    assert pick("192.0.2.8") == "default"
    assert pick("127.0.0.1", 6012) == "port"
    assert pick("10.9.3.4", 6013) == "both"
    assert pick("10.9.3.4", 6011) == "default"  # every key set must match
    assert pick("127.0.0.1", 6013) == "default"
    # Login keys count only once the 93 is in; CP WEST comes first in the file.
    assert pick("10.1.2.9", location="WEST", user="sc") == "west-cp"
    assert pick("127.0.0.1", location=None, user="3m-07") == "vendor"
    assert pick("127.0.0.1", location="EAST", user="sc-07") == "default"
    assert pick("?") == "default"


def test_knobs_left_out_are_the_tenant_defaults() -> None:
    chosen = select_profile(PROFILES, BASE, address="10.1.2.9", port=1)
    assert (chosen.terminator, chosen.encoding, chosen.error_detection) == ("crlf", "utf-8", "on")


@pytest.mark.parametrize(
    ("knobs", "encoding", "terminator", "detection", "required", "basis"),
    [
        ({}, "utf-8", "\r", True, True, ChecksumBasis.BYTES),
        ({"terminator": "crlf", "encoding": "shift_jis"}, "cp932", "\r\n", True, True,
         ChecksumBasis.BYTES),
        ({"encoding": "euc-jp", "terminator": "lf"}, "euc_jp", "\n", True, True,
         ChecksumBasis.BYTES),
        ({"encoding": "cp850", "error_detection": "off"}, "cp850", "\r", False, False,
         ChecksumBasis.BYTES),
        ({"encoding": "ascii", "error_detection": "mirror", "checksum_basis": "chars"}, "ascii",
         "\r", True, False, ChecksumBasis.CHARACTERS),
    ],
)  # fmt: skip
def test_each_profile_gives_its_codec(
    knobs: dict[str, str],
    encoding: str,
    terminator: str,
    detection: bool,
    required: bool,
    basis: ChecksumBasis,
) -> None:
    codec = codec_for(TerminalProfile(name="p", ports=(1,), **knobs).over(BASE))  # type: ignore[arg-type]
    assert (codec.encoding, codec.terminator) == (encoding, terminator)
    assert (codec.error_detection, codec.require_checksum) == (detection, required)
    assert codec.checksum_basis is basis
    assert codec.text_errors == "replace"  # an unwritable character never fails an answer


TENANT = """
[[tenants]]
id = "tt"
name = "T"
[tenants.backend]
kind = "simulator"
[tenants.kiosk_sip2]
enabled = true
port = 6011
{kiosk}
"""


def problems(kiosk: str) -> list[str]:
    with pytest.raises(TenantConfigError) as caught:
        parse_tenants(TENANT.format(kiosk=kiosk), "t.toml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("kiosk", "says"),
    [
        ('[[tenants.kiosk_sip2.profiles]]\nname = "a"\naddresses = ["10.1.2.0/33"]',
         "addresses[0]: value is not a valid IPv4 or IPv6 network"),
        ('[[tenants.kiosk_sip2.profiles]]\nname = "a"\naddresses = ["10.1.2.5/24"]',
         "(got '10.1.2.5/24')"),
        ('[[tenants.kiosk_sip2.profiles]]\nname = "a"\nports = [1]\nencoding = "koi8-r"',
         "unknown encoding 'koi8-r'"),
        ('[[tenants.kiosk_sip2.profiles]]\nname = "a"\nports = [1]\n'
         'allowed_messages = ["11", "12"]',
         "'12' is not a SIP2 request code"),
        ('[[tenants.kiosk_sip2.profiles]]\nname = "a"\nports = [1]\nerror_detection = "maybe"',
         "error_detection"),
        ('[[tenants.kiosk_sip2.profiles]]\nname = "a"', "'a' matches no machine"),
        ('[[tenants.kiosk_sip2.profiles]]\nname = "a"\nports=[1]\n'
         '[[tenants.kiosk_sip2.profiles]]\nname = "a"\nports=[2]', "'a' is used twice"),
        ('[[tenants.kiosk_sip2.listeners]]\nport = 6011', "port 6011 on 127.0.0.1 overlaps"),
        ('[[tenants.kiosk_sip2.listeners]]\nport = 6012\nhost = "0.0.0.0"\n'
         '[[tenants.kiosk_sip2.listeners]]\nport = 6012', "port 6012 on 127.0.0.1 overlaps"),
        ('[[tenants.kiosk_sip2.listeners]]\nport = 6020\nhost = "10.0.0.1"\n'
         '[[tenants.kiosk_sip2.listeners]]\nport = 6020\nhost = "10.0.0.2"\n'
         '[[tenants.kiosk_sip2.listeners]]\nport = 6020\nhost = "10.0.0.1"',
         "port 6020 on 10.0.0.1 overlaps another listener on 10.0.0.1"),
        ('[[tenants.kiosk_sip2.listeners]]\nport = 6012\nprofile = "nope"',
         "profile 'nope' is not one of"),
        ('[[tenants.kiosk_sip2.listeners]]\nport = 6012\nproxy_protocol = "v1"',
         "proxy_protocol needs trusted_proxies"),
        ('[[tenants.kiosk_sip2.listeners]]\nport = 6012\nproxy_protocol = "v3"\n'
         'trusted_proxies = ["10.0.0.1"]', "proxy_protocol"),
        ('[[tenants.kiosk_sip2.listeners]]\nport = 6012\nproxy_protocol = "v2"\n'
         'trusted_proxies = ["10.0.0.1"]\ntls = { cert_file = "c", key_file = "k" }',
         "terminate TLS at the load balancer"),
    ],
)  # fmt: skip
def test_bad_profiles_and_listeners_are_one_clear_line_each(kiosk: str, says: str) -> None:
    # (The loader adds "tenants: ... at least 1 item" after any tenant's error.)
    found = [p for p in problems(kiosk) if not p.startswith("tenants:")]
    assert len(found) == 1, found
    assert says in found[0], found
    assert "\n" not in found[0]


def test_a_login_account_with_subnets() -> None:
    config = KioskSip2Config(
        logins=[{"user": "sc", "password": "x", "allowed_subnets": ["10.1.0.0/16", "192.0.2.7"]}]
    )
    account = config.login_named("sc")
    assert account is not None
    assert account.allowed_from("10.1.200.3") and account.allowed_from("192.0.2.7")
    assert not account.allowed_from("127.0.0.1")
    with pytest.raises(ValidationError):
        KioskSip2Config(logins=[{"user": "sc", "password": "x", "allowed_subnets": ["nope"]}])


def test_the_desk_reselects_after_login_and_after_a_reload() -> None:
    config = KioskSip2Config(profiles=[p.model_dump() for p in PROFILES])
    desk = TerminalDesk("t", config)
    session = SIP2Session(1, "10.1.2.9:5000", local_port=6011)
    first = desk.framing(session)
    assert first.codec.terminator == "\r\n"
    assert desk.framing(session) is first  # cached: the server asks before every frame
    desk.logged_in(session, "WEST", "sc")
    assert desk.framing(session).codec.terminator == "\n"
    changed = [p.model_dump() for p in PROFILES]
    changed[0]["terminator"] = "crlf"
    changed[0]["allowed_messages"] = ["23", "63"]
    assert desk.apply(KioskSip2Config(profiles=changed)) == []
    assert desk.framing(session).codec.terminator == "\r\n"
    assert desk.allowed(session, "63") and desk.allowed(session, "99")
    assert not desk.allowed(session, "11")
    notes = desk.apply(KioskSip2Config(profiles=changed, listeners=[{"port": 7000}]))
    assert notes == ["listeners changed: restart the gateway to bind them"]
