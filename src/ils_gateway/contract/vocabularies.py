"""The backend's own hold statuses each adapter maps by table, per backend kind.

An adapter may fall back to a guess for a status it has never seen (the Koha adapter takes
an unknown letter as ``in_transit``); the patron then sees a canonical status that may be
wrong. The contract check compares each hold's ``backend_status`` with these tables, so a
status outside them is reported instead of silently guessed.
"""

from __future__ import annotations

from ils_gateway.adapters.folio.mapping import REQUEST_STATUSES
from ils_gateway.adapters.koha.mapping import HOLD_STATUS_BY_LETTER

# Koha's backend_status is the found letter, or "queued"/"suspended" for an unfound hold,
# with this suffix when a cancellation was requested.
_KOHA_SUFFIX = " (cancellation requested)"
_KOHA = frozenset({k for k in HOLD_STATUS_BY_LETTER if k} | {"queued", "suspended"})


def unmapped_hold_status(kind: str, backend_status: str | None) -> bool | None:
    """True when ``backend_status`` is outside ``kind``'s table; None when there is no table."""
    if backend_status is None:
        return None
    if kind == "koha":
        return backend_status.removesuffix(_KOHA_SUFFIX) not in _KOHA
    if kind == "folio":
        return backend_status not in REQUEST_STATUSES
    return None
