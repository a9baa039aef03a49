"""What goes into shared state (Redis) goes through here: keyed names and sealed values.

Redis is shared by every gateway process of a deployment and is often run, backed up and
inspected by other people than the gateway's. So nothing personal is written to it in a form
they could read or guess:

- **names** (``SealedState.name(*parts)``): a key or hash field that would name a patron, a
  card or an item is an HMAC-SHA256 of its parts under a key derived from the server secret,
  never the parts or a plain hash of them (a 10-digit card number's plain hash is found by
  trying every card);
- **values** (``SealedState.seal`` / ``open``, ``seal_json`` / ``open_json``): AES-256-GCM
  under a key derived from the server secret with HKDF-SHA256, a random 96-bit nonce per
  value, and the value's own name as associated data (a sealed value copied under another key
  does not open). A sealed value is ``key id (1 byte) | nonce (12) | ciphertext and tag``: the
  key id says which key sealed it, so a new secret can be rolled in while values sealed under
  the previous one still open (``older``) until they expire.

Only the gateway processes hold the server secret (``ILS_GATEWAY_STORE_SECRET``, or the
development secret beside the SQLite store; ``ils_gateway.store.location``): every process of
one deployment derives the same keys from it, so any of them reads what another wrote.

This module is the one codec of the shared stores (sessions, Idempotency-Keys, read caches,
rate limits, login counts): a process-local cache in front of Redis keeps what ``open``
returned, and only what goes to Redis is sealed. Below every layer: it imports nothing of ours.
``cryptography`` is imported by the first ``SealedState`` (issue 17: a process whose shared
state is in memory never seals anything, and the library holds ~6 MB once imported).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ils_gateway.lru import SmallLru

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: Below this a server secret could be guessed (the store asks the same).
MIN_SECRET_BYTES = 16
NONCE_BYTES = 12
#: The key id of values sealed by a ``SealedState`` made without ``key_id``.
FIRST_KEY_ID = 1
_SALT = b"ils-gateway/shared-state"
_NAME_CHARS = 40  # hex characters of a name: 160 bits
#: Names a ``SealedState`` remembers (each about 0.3 kB with its parts).
NAMES_REMEMBERED = 4096


class SealBroken(ValueError):
    """A sealed value that does not open: another secret, another name, or tampered with."""


def _derive(secret: bytes, info: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the server secret must be at least {MIN_SECRET_BYTES} bytes")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info)
    return hkdf.derive(secret)


class SealedState:
    """Keyed names and sealed values for shared state, from the server secret.

    ``secret`` seals under ``key_id``; ``older`` maps earlier key ids to their secrets, whose
    values still open (rotation). Names come from the current secret alone.
    """

    def __init__(
        self,
        secret: bytes,
        *,
        key_id: int = FIRST_KEY_ID,
        older: Mapping[int, bytes] | None = None,
    ) -> None:
        if not 0 < key_id < 256:
            raise ValueError("a key id is one byte, 1-255")
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._invalid_tag = InvalidTag
        self._key_id = key_id
        self._prefix = bytes([key_id])
        self._names = _derive(secret, b"names/v1")
        # Names asked for again and again (a patron's cache scope on each of their requests:
        # an HMAC is about 3 us): the most recent ones remembered, a bounded number.
        self._named: SmallLru[tuple[str, ...], str] = SmallLru(NAMES_REMEMBERED)
        self._aeads: dict[int, AESGCM] = {
            kid: AESGCM(_derive(old, b"values/v1")) for kid, old in (older or {}).items()
        }
        self._aeads[key_id] = AESGCM(_derive(secret, b"values/v1"))
        self._current = self._aeads[key_id]

    @property
    def key_id(self) -> int:
        """The id of the key new values are sealed under."""
        return self._key_id

    def name(self, *parts: str) -> str:
        """An opaque, stable name for ``parts`` (HMAC-SHA256, hex): the same in every process
        of the deployment, unguessable without the server secret."""
        named = self._named.get(parts)
        if named is None:
            message = "\x00".join(parts).encode()
            named = hmac.new(self._names, message, hashlib.sha256).hexdigest()[:_NAME_CHARS]
            self._named[parts] = named
        return named

    def seal(self, plain: bytes, *, context: str) -> bytes:
        """``plain`` encrypted and authenticated, bound to ``context`` (the value's name)."""
        nonce = os.urandom(NONCE_BYTES)
        return self._prefix + nonce + self._current.encrypt(nonce, plain, context.encode())

    def open(self, sealed: bytes, *, context: str) -> bytes:
        """What ``seal`` sealed under the same ``context``; ``SealBroken`` otherwise."""
        if len(sealed) < 1 + NONCE_BYTES + 16:
            raise SealBroken("too short to be a sealed value")
        aead = self._aeads.get(sealed[0])
        if aead is None:
            raise SealBroken(f"sealed under an unknown key id {sealed[0]}")
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], context.encode())
        except self._invalid_tag:
            raise SealBroken("the value does not open under this name and secret") from None

    def seal_json(self, value: Any, *, context: str) -> bytes:
        """``value`` as compact JSON, sealed."""
        return self.seal(json.dumps(value, separators=(",", ":")).encode(), context=context)

    def open_json(self, sealed: bytes, *, context: str) -> Any:
        """The JSON value ``seal_json`` sealed."""
        return json.loads(self.open(sealed, context=context))
