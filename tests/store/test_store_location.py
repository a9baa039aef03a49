"""Default store location and the server secret: given, from the environment, or a dev file."""

import stat
from pathlib import Path

import pytest

from ils_gateway.store import location
from ils_gateway.store.engine import default_url


def test_default_url_is_a_sqlite_file_under_var(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(location.URL_ENV, raising=False)
    assert location.store_url() == default_url(Path("var") / "ils-gateway.sqlite3")
    assert (tmp_path / "var").is_dir()
    monkeypatch.setenv(location.URL_ENV, "sqlite+aiosqlite:///elsewhere.db")
    assert location.store_url() == "sqlite+aiosqlite:///elsewhere.db"
    assert location.store_url("postgresql+asyncpg://gw@db/gw").startswith("postgresql")


def test_dev_secret_is_generated_once_private_and_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(location.SECRET_ENV, raising=False)
    url = default_url(tmp_path / "gw.sqlite3")
    first = location.store_secret(url)
    assert len(first) >= 32
    secret_file = tmp_path / "gw.sqlite3.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert location.store_secret(url) == first
    assert list(tmp_path.glob("*.tmp")) == []


def test_given_secret_wins_and_postgres_needs_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(location.SECRET_ENV, raising=False)
    pg = "postgresql+asyncpg://gw@db/gw"
    with pytest.raises(location.StoreSecretMissing):
        location.store_secret(pg)
    monkeypatch.setenv(location.SECRET_ENV, "s" * 32)
    assert location.store_secret(pg) == b"s" * 32
    with pytest.raises(ValueError, match="at least 16"):
        location.store_secret(pg, "short")
