"""The SIP2 backend keys of a tenant file, as ``config check`` validates them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.tenants.backends import Sip2Backend

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"


def test_no_block_due_date_defaults_to_the_transaction_date() -> None:
    config = Sip2Backend.model_validate({"kind": "sip2", "host": "acs", "port": 6001})
    assert config.no_block_due_date == "transaction_date"


def test_config_check_names_a_bad_no_block_due_date(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = (EXAMPLES / "saitama.toml").read_text(encoding="utf-8")
    bad.write_text(
        text.replace('no_block_due_date = "transaction_date"', 'no_block_due_date = "spaces"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 1, result.output
    assert (
        "tenants[0].backend.no_block_due_date: Input should be 'transaction_date' or 'blank'"
        in result.output
    ), result.output


def test_config_check_accepts_blank(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    text = (EXAMPLES / "saitama.toml").read_text(encoding="utf-8")
    good.write_text(
        text.replace('no_block_due_date = "transaction_date"', 'no_block_due_date = "blank"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["config", "check", str(good)])
    assert result.exit_code == 0, result.output
