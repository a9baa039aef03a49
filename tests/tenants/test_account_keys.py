"""``[tenants.password_change]``, ``[tenants.language]`` and English label overrides (issue 16):
strict keys, and a temporary-password gate with no way out refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from ils_gateway.tenants.loader import TenantConfigError, parse_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
SIP2 = """
[[tenants]]
id = "lib"
name = "図書館"
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
"""
GATE = "\n[tenants.policy.account]\ntemporary_password_gate = true\n"


def test_a_gate_a_sip2_library_cannot_open_is_refused_naming_the_key() -> None:
    with pytest.raises(TenantConfigError) as info:
        parse_tenants(SIP2 + GATE, "t.toml")
    text = "\n".join(info.value.problems)
    assert "temporary_password_gate" in text and "password_change" in text


def test_the_librarys_page_is_the_way_out() -> None:
    page = '\n[tenants.password_change]\nurl = "https://library.example.jp/pw"\n'
    tenant = parse_tenants(SIP2 + GATE + page, "t.toml").tenants[0]
    assert tenant.password_change.link == "https://library.example.jp/pw"
    assert tenant.language.default == "ja"


@pytest.mark.parametrize(
    "extra",
    [
        '\n[tenants.password_change]\nurl = "not a url"\n',
        '\n[tenants.password_change]\nlink = "https://x.example/"\n',
        '\n[tenants.language]\ndefault = "fr"\n',
        '\n[tenants.labels.en.hold_status]\nnot_a_status = "x"\n',
    ],
)
def test_bad_account_keys_are_refused(extra: str) -> None:
    with pytest.raises(TenantConfigError):
        parse_tenants(SIP2 + extra, "t.toml")


def test_english_overrides_are_used() -> None:
    extra = '\n[tenants.labels.en.hold_status]\nready = "On the hold shelf"\n'
    labels = parse_tenants(SIP2 + extra, "t.toml").tenants[0].labels.build()
    from ils_gateway.domain.vocab import HoldStatus

    assert labels.label(HoldStatus.READY, "en") == "On the hold shelf"
    assert labels.label(HoldStatus.WAITING, "en") == "Waiting"


def test_the_temporary_password_examples_have_a_way_out() -> None:
    for name in ("ibaraki", "kanagawa"):
        text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
        tenant = parse_tenants(text, name).tenants[0]
        assert tenant.policy.account.temporary_password_gate
        # Ibaraki (SIP2) names its page; Kanagawa's Koha changes passwords itself.
        assert (tenant.password_change.url is not None) == (tenant.backend.kind == "sip2")
