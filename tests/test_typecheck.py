"""mypy, at the settings in pyproject.toml ([tool.mypy]), over the packages kept strict:
``ils_gateway.domain``, ``ils_gateway.sip2`` and ``ils_gateway.runtime`` (once it exists).

Any error fails the test. A second check proves the checker sees SIP2 field types through
``Cls.build`` (typed construction): misspelt or mistyped fields are errors."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]
STRICT_PACKAGES = ("ils_gateway.domain", "ils_gateway.sip2", "ils_gateway.runtime")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(cache_dir: Path, *targets: str) -> tuple[str, int]:
    config = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache_dir)]
    out, err, status = api.run([*config, "--no-error-summary", "--show-error-codes", *targets])
    return out + err, status


def test_strict_packages_have_no_type_errors(cache_dir: Path) -> None:
    targets = []
    for package in STRICT_PACKAGES:
        if importlib.util.find_spec(package) is not None:
            targets += ["-p", package]
    report, status = _mypy(cache_dir, *targets)
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert status == 0 and not errors, report


def test_the_checker_sees_each_sip2_field_type(cache_dir: Path, tmp_path: Path) -> None:
    snippet = tmp_path / "calls.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from ils_gateway.sip2.fields import SipDate
            from ils_gateway.sip2.messages import CheckoutRequest, LoginResponse

            WHEN = SipDate("20240401    093000")
            CheckoutRequest.build(transaction_date=WHEN, patron_identifier=2100012345678)
            CheckoutRequest.build(transaction_date=WHEN, patron_idnetifier="1")
            CheckoutRequest.build(transaction_date="20240401    093000")
            LoginResponse.build()
            reveal_type(CheckoutRequest.build(transaction_date=WHEN, item_identifier="1"))
            reveal_type(LoginResponse.build(ok=True).ok)
            """
        ),
        encoding="utf-8",
    )
    report, _ = _mypy(cache_dir, str(snippet))
    lines = report.splitlines()

    def at(line: int) -> str:
        return "\n".join(x for x in lines if f"calls.py:{line}:" in x)

    assert '"patron_identifier"' in at(6) and "[arg-type]" in at(6), report
    assert "patron_idnetifier" in at(7) and "[call-arg]" in at(7), report
    assert '"transaction_date"' in at(8) and '"SipDate"' in at(8), report
    assert 'Missing named argument "ok"' in at(9), report
    assert "ils_gateway.sip2.messages.CheckoutRequest" in at(10), report
    assert at(11).endswith(('Revealed type is "bool"', 'Revealed type is "builtins.bool"')), report
