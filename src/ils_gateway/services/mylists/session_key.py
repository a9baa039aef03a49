"""The opened reading-history key as the patron's session carries it.

The key is opened at login (or by ``unlock``) and kept in the session's ``extra`` so listing the
history does not need the password again. Sessions may live in Redis, so the key is not put there
in the clear: it is sealed with a ``SecretBox`` under a key derived from the server secret. Redis
alone then reveals nothing; the store alone reveals nothing either (it never sees the session).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from ils_gateway.store.patron_keys import derive_key
from ils_gateway.store.records import UnlockedHistoryKey

#: The name of the sealed key in ``SessionData.extra``.
SESSION_FIELD = "reading_history_key"


class HistoryKeySeal:
    """Seals an opened history key for the session, and opens it again on later requests."""

    def __init__(self, secret: bytes) -> None:
        self._box = SecretBox(derive_key(secret, "session-history-key/v1"))

    def seal(self, key: UnlockedHistoryKey) -> str:
        """``key`` as an opaque string for the session."""
        plain = json.dumps(
            {"g": key.generation, "k": base64.b64encode(key.private_key).decode()}
        ).encode()
        return base64.urlsafe_b64encode(bytes(self._box.encrypt(plain))).decode()

    def open(self, sealed: str | None) -> UnlockedHistoryKey | None:
        """The key in ``sealed``; None when absent or not sealed by this server's secret."""
        if not sealed:
            return None
        try:
            data = json.loads(self._box.decrypt(base64.urlsafe_b64decode(sealed)))
            return UnlockedHistoryKey(int(data["g"]), base64.b64decode(data["k"]))
        except (CryptoError, ValueError, KeyError, TypeError):
            return None

    def from_extra(self, extra: Mapping[str, Any]) -> UnlockedHistoryKey | None:
        """The key kept in a session's ``extra``, if any."""
        value = extra.get(SESSION_FIELD)
        return self.open(value if isinstance(value, str) else None)

    def extra_for(self, key: UnlockedHistoryKey | None) -> dict[str, str | None]:
        """The ``extra`` entry that keeps ``key`` (None removes it)."""
        return {SESSION_FIELD: None if key is None else self.seal(key)}
