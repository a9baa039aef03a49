"""``ils-gateway config check``: exit 0 with a summary, or non-zero naming key and problem."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ils_gateway.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"


def test_check_valid_directory() -> None:
    result = CliRunner().invoke(main, ["config", "check", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    files = len(list(EXAMPLES.glob("*.toml")))
    assert f"{files} tenant(s) OK" in result.output
    assert "saitama" in result.output and "koha" in result.output


def test_check_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = (EXAMPLES / "ibaraki.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("basket_size = 100", "basket_size = 0"), encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 1
    assert "tenants[0].policy.lists.basket_size: Input should be greater than or equal to 1" in (
        result.output
    )
