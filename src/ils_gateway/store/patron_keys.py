"""Patron keys: the keyed hash (HMAC-SHA256) every store row is filed under, never the card.

With the database alone nobody can tell whose rows are whose; with the server secret too, a
known card number can be turned into its key (which is what the gateway itself does).
"""

from __future__ import annotations

import hashlib
import hmac

from ils_gateway.store.records import PatronRef

#: 128 bits: below this a server secret could be guessed.
MIN_SECRET_BYTES = 16


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one ``purpose``, derived from the server secret (HMAC as a PRF)."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the store secret must be at least {MIN_SECRET_BYTES} bytes")
    return hmac.new(secret, f"ils-gateway/{purpose}".encode(), hashlib.sha256).digest()


class PatronKeys:
    """Turns (tenant, normalised card number) into the ``PatronRef`` rows are keyed by."""

    def __init__(self, secret: bytes) -> None:
        self._key = derive_key(secret, "patron-key/v1")

    def ref(self, tenant_id: str, card_number: str) -> PatronRef:
        """The patron's reference; ``card_number`` must already be normalised for the tenant."""
        if not tenant_id or not card_number:
            raise ValueError("tenant and card number are required")
        message = f"{tenant_id}\x00{card_number}".encode()
        return PatronRef(tenant_id, hmac.new(self._key, message, hashlib.sha256).hexdigest())
