"""mypy, at the settings in pyproject.toml ([tool.mypy]), over the whole ``ils_gateway`` tree:
``--strict`` everywhere, with the strict flags repeated for ``domain``, ``sip2`` and ``runtime``
so those stay strict whatever the global bar.

Any error fails the test. One mypy run covers the tree (the strict packages included); its
cache lives in a per-session temporary directory, which the second check reuses. That check
proves the checker sees SIP2 field types through ``Cls.build`` (typed construction): misspelt
or mistyped fields are errors. A third holds every ``# type: ignore`` to the documented rule:
an error code, and the reason on the same line."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "ils_gateway"
STRICT_PACKAGES = ("ils_gateway.domain", "ils_gateway.sip2", "ils_gateway.runtime")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(cache_dir: Path, *targets: str) -> tuple[str, int]:
    config = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache_dir)]
    out, err, status = api.run([*config, "--no-error-summary", "--show-error-codes", *targets])
    return out + err, status


def test_the_whole_tree_has_no_type_errors(cache_dir: Path) -> None:
    report, status = _mypy(cache_dir, "-p", "ils_gateway")
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert status == 0 and not errors, report


def test_the_strict_packages_keep_their_own_strict_settings() -> None:
    # The override that keeps domain, sip2 and runtime strict even if the global bar drops.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config.get("strict") is True
    strict = [
        o for o in config["overrides"] if set(o["module"]) >= {f"{p}.*" for p in STRICT_PACKAGES}
    ]
    assert strict, "no override lists the strict packages"
    flags = {k for k, v in strict[0].items() if v is True}
    assert flags >= {
        "disallow_untyped_defs",
        "disallow_incomplete_defs",
        "disallow_any_generics",
        "check_untyped_defs",
        "warn_return_any",
        "no_implicit_reexport",
        "strict_equality",
    }, flags
    for package in STRICT_PACKAGES:
        assert (SOURCE / package.rsplit(".", 1)[1]).is_dir(), package


_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<rest>.*)$")
_EXPLAINED = re.compile(r"^\[[a-z-]+(, *[a-z-]+)*\]\s+#\s*\S.{2,}")


def test_every_type_ignore_names_its_code_and_reason() -> None:
    unexplained = []
    for path in sorted(SOURCE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = _IGNORE.search(line)
            if found and not _EXPLAINED.match(found["rest"]):
                unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)


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
