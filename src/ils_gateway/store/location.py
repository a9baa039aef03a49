"""Where the gateway store lives by default, and the server secret its keys derive from.

- URL: ``--store URL`` or ``ILS_GATEWAY_STORE_URL``; by default the SQLite file
  ``./var/ils-gateway.sqlite3`` (the directory is made when missing, mode 0700; the store
  file itself is created 0600 by ``store.engine``).
- Secret: ``ILS_GATEWAY_STORE_SECRET`` (at least 16 bytes; keep it out of the database and out
  of version control). Without it, and only for a SQLite file, a development secret is
  generated once and kept beside the database as ``<file>.secret`` (mode 0600), so restarts
  keep reading what they wrote. A PostgreSQL store (many processes) must be given the secret:
  a generated one would differ per machine and orphan every row. Losing the secret orphans
  the patron rows, the job roster and every reading-history dedupe tag.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from ils_gateway.store.engine import default_url
from ils_gateway.store.patron_keys import MIN_SECRET_BYTES

DEFAULT_PATH = Path("var") / "ils-gateway.sqlite3"
URL_ENV = "ILS_GATEWAY_STORE_URL"
SECRET_ENV = "ILS_GATEWAY_STORE_SECRET"


class StoreSecretMissing(ValueError):
    """A store that is not a local SQLite file was given no server secret."""


def store_url(given: str | None = None) -> str:
    """``given``, else ``ILS_GATEWAY_STORE_URL``, else the default SQLite file (dir made)."""
    url = given or os.environ.get(URL_ENV)
    if url:
        return url
    DEFAULT_PATH.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return default_url(DEFAULT_PATH)


def store_secret(url: str, given: str | None = None) -> bytes:
    """The server secret for the store at ``url`` (see the module docstring)."""
    value = given or os.environ.get(SECRET_ENV)
    if value:
        secret = value.encode()
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET_BYTES} bytes")
        return secret
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise StoreSecretMissing(
            f"set {SECRET_ENV}: a store that is not a local SQLite file needs a shared secret"
        )
    return _dev_secret(Path(parsed.database + ".secret"))


def _dev_secret(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_urlsafe(32).encode())
        try:
            # A hard link appears whole or not at all: two processes starting at once
            # both end up reading the first one's secret.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes().strip()
