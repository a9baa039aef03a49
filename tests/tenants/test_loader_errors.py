"""A bad tenant file fails with the key path and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from ils_gateway.tenants.loader import TenantConfigError, key_path, load_tenants, parse_tenants

GOOD = """
[[tenants]]
id = "demo"
name = "デモ"
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
"""

TWO = (
    GOOD
    + """
[[tenants]]
id = "second"
name = "Second"
[tenants.backend]
kind = "simulator"
"""
)


def _problems(text: str) -> list[str]:
    with pytest.raises(TenantConfigError) as info:
        parse_tenants(text, "bad.toml")
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            TWO + "[tenants.policy.renewal]\nmax_renewals = 'one'\n",
            "tenants[1].policy.renewal.max_renewals",
            "valid integer",
        ),
        (
            GOOD + "[tenants.policy.renewal]\nmax_renewal = 1\n",
            "tenants[0].policy.renewal.max_renewal",
            "unknown key",
        ),
        (
            GOOD.replace("port = 6001", "port = 70000"),
            "tenants[0].backend.port",
            "less than or equal",
        ),
        (GOOD.replace('kind = "sip2"', 'kind = "z3950"'), "tenants[0].backend", "kind"),
        (GOOD.replace('id = "demo"', 'id = "Demo!"'), "tenants[0].id", "pattern"),
        (
            GOOD + "[tenants.policy.card]\npattern = '(['\n",
            "tenants[0].policy.card.pattern",
            "invalid regular expression",
        ),
        (
            GOOD + "[tenants.policy.holds]\ncancel_allowed_states = ['waiting', 'fulfilled']\n",
            "tenants[0].policy.holds",
            "closed states: fulfilled",
        ),
        (
            GOOD + "[tenants.policy.holds]\ncancel_allowed_states = ['wating']\n",
            "tenants[0].policy.holds.cancel_allowed_states[0]",
            "'waiting'",
        ),
        (
            GOOD
            + "[tenants.policy.maintenance]\nstart = 03:50:00\nend = 04:20:00\n"
            + "timezone = 'Mars/Base'\n",
            "tenants[0].policy.maintenance.timezone",
            "unknown time zone",
        ),
        (
            GOOD + "[tenants.labels.ja.hold_status]\nredy = 'x'\n",
            "tenants[0].labels.ja",
            "unknown label key",
        ),
        (
            GOOD + "[tenants.policy.disabled_features]\nkiosk = ['bookshelfs']\n",
            "tenants[0].policy.disabled_features.kiosk",
            "bookshelves",
        ),
        (
            GOOD.replace(
                'kind = "sip2"\nhost = "127.0.0.1"\nport = 6001',
                'kind = "koha"\nbase_url = "http://x"',
            ),
            "tenants[0].backend",
            "client_id and client_secret",
        ),
        (TWO.replace('id = "second"', 'id = "demo"'), "tenants", "used twice"),
        ("", "tenants", "Field required"),
    ],
    ids=[
        "wrong-type",
        "typo",
        "range",
        "unknown-kind",
        "bad-id",
        "bad-regex",
        "closed-state",
        "bad-enum",
        "bad-zone",
        "bad-label",
        "bad-feature",
        "koha-credentials",
        "duplicate",
        "empty",
    ],
)
def test_problem_names_key_and_problem(text: str, key: str, problem: str) -> None:
    problems = _problems(text)
    assert any(p.startswith(key) and problem in p for p in problems), problems


def test_toml_syntax_error_names_line_and_column() -> None:
    (problem,) = _problems(GOOD + "[tenants.policy\n")
    assert "TOML syntax error" in problem and "line 9" in problem and "column" in problem


def test_secret_values_are_not_echoed() -> None:
    text = GOOD + "login_password = 12345\n"
    problems = _problems(text)
    assert any(p.startswith("tenants[0].backend.login_password") for p in problems)
    assert not any("12345" in p for p in problems)


def test_discriminator_tag_is_not_in_the_key_path() -> None:
    assert key_path(("tenants", 0, "backend", "sip2", "port")) == "tenants[0].backend.port"


def test_directory_with_duplicate_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(TenantConfigError, match="used twice") as info:
        load_tenants(tmp_path)
    assert info.value.source.endswith("b.toml")


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError, match=r"no \*\.toml"):
        load_tenants(tmp_path)
