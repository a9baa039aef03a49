"""The SQLite store holds personal data: its file (and SQLite's WAL and shared-memory files
beside it) is readable by the gateway's user only, whatever the umask (issue 15, Secrets)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ils_gateway.store import location
from ils_gateway.store.engine import default_url, upgrade


def _modes(directory: Path, prefix: str) -> dict[str, int]:
    return {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in directory.iterdir()
        if p.name.startswith(prefix)
    }


async def test_store_file_and_its_wal_are_created_0600(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(location.SECRET_ENV, raising=False)
    old = os.umask(0o022)
    try:
        path = tmp_path / "gw.sqlite3"
        url = default_url(path)
        await upgrade(url)
        location.store_secret(url)
    finally:
        os.umask(old)
    modes = _modes(tmp_path, "gw.sqlite3")
    assert {"gw.sqlite3", "gw.sqlite3.secret"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


async def test_an_existing_store_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    await upgrade(default_url(path))
    os.chmod(path, 0o644)
    await upgrade(default_url(path))
    assert _modes(tmp_path, "old.sqlite3")["old.sqlite3"] == 0o600


def test_default_store_directory_is_private(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(location.URL_ENV, raising=False)
    old = os.umask(0o022)
    try:
        location.store_url()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700
