from pathlib import Path

from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.store.engine import default_url


def test_store_upgrade_and_current_from_the_command_line(tmp_path: Path) -> None:
    url = default_url(tmp_path / "gw.db")
    runner = CliRunner()
    first = runner.invoke(main, ["store", "upgrade", "--url", url])
    assert first.exit_code == 0, first.output
    assert "empty -> 0008" in first.output
    again = runner.invoke(main, ["store", "upgrade", "--url", url])
    assert "0008 -> 0008" in again.output
    current = runner.invoke(main, ["store", "current"], env={"ILS_GATEWAY_STORE_URL": url})
    assert current.output.strip() == "0008"


def test_store_upgrade_defaults_to_the_var_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ILS_GATEWAY_STORE_URL", raising=False)
    result = CliRunner().invoke(main, ["store", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "var" / "ils-gateway.sqlite3").is_file()
